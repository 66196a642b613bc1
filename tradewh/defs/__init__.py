"""The dg project's defs folder (pyproject.toml [tool.dg.project]), where `dg scaffold` would put
Dagster components. It holds none: the code location is `tradewh.definitions`, which loads the
assets, checks, jobs, schedules and sensors of tradewh.assets (the repository's assets/ folder)."""
