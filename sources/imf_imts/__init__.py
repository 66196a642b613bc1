"""IMF IMTS data-portal CSV exports: the reader (reader.py), the source contract (source.py), the
derivation rules (derivations.csv) and the code crosswalk (crosswalk.csv, built by crosswalk_build.py)."""
