"""Great Expectations suites (GX 1.x) run as Dagster asset checks: arrives with the validation issue.

Until then the load's own policies (warehouse.canonical) stop bad input: unmapped names, conflicting
duplicates, workbooks not in the expected layout, and a reconciliation that does not add up.
"""
