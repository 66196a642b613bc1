"""IMF IMTS data-portal CSV exports: the reader (reader.py), the source contract (source.py), the
derivation rules (derivations.csv) and the code crosswalk (crosswalk.csv, built by crosswalk_build.py);
the live service (api.imf.org SDMX 3.0): its answers' reader (sdmx.py, also the legacy DOTS
CompactData JSON) and fetcher (live.py), not yet wired into the warehouse."""
