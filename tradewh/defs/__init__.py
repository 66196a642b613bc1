"""The dg project's defs folder (pyproject.toml [tool.dg.project]), where `dg scaffold` would put
Dagster components. It holds none: the code location is `definitions` (beside pyproject.toml), which
loads the assets, checks, jobs, schedules and sensors of assets/."""
