"""IMF IMTS data-portal CSV exports: the reader (reader.py), the source contract (source.py), the
derivation rules (derivations.csv) and the code crosswalk (crosswalk.csv, built by crosswalk_build.py);
the live service (api.imf.org SDMX 3.0): its fetcher (live.py), whose saved answers reader.read_answer
reads with sources/imf_sdmx.py into the same raw rows as the exports."""
