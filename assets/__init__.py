"""Dagster assets, one module per layer: raw (ingest), canonical, publish. The only package that
imports Dagster; the logic it orchestrates lives in `sources` and `warehouse`."""
