"""The trade warehouse's own logic: crosswalks, canonical policies, storage and publishing.

Imports `sources` (file and API readers) and nothing from `assets` or Dagster: data flows
source -> raw -> canonical -> marts, and this package can be used without the orchestrator.
"""
