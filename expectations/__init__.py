"""Validation: Great Expectations (GX 1.x) suites as code, run as Dagster asset checks.

checks.py    every check: stable name, blocking or warning, threshold and why, its frame's SQL
runner.py    runs one check's suite on a pandas frame; GX errors become error outcomes, never passes
worker.py    runs the suites in a helper process, started early so GX's slow import overlaps other work
validate.py  builds the frames (raw cells, SQL on the candidate warehouse) and times each check
sql/         the frames' SQL

No Dagster here (assets/checks.py turns outcomes into asset-check results); GX is imported lazily.
"""
