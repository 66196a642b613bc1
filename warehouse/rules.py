"""Trade rules that the marts' SQL, the checks' SQL and their descriptions share, declared once.
No imports: the checks' helper process (expectations/worker.py) reads them without loading the
warehouse."""

# The IMF DOTS flat factor between CIF imports and FOB exports: a mirror is brought to the
# reporter's valuation with it (SQL parameter $cif_fob in the marts and in mirror_ratios.sql).
CIF_FOB_FACTOR = 1.06
