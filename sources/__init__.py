"""Sources of trade data, one folder each behind one contract (contract.py), registered in
registry.py. No Dagster and no DuckDB here: a source turns its files into Polars frames."""
