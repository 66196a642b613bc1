"""SingStat merchandise trade by market (Table Builder export, monthly, S$ millions): the reader
(reader.py), the source contract (source.py) and the market-name crosswalk (crosswalk.csv, built by
crosswalk_build.py from crosswalk_overrides.csv)."""
