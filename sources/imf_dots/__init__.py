"""IMF DOTS Excel workbooks: the reader (workbook.py), the source contract (source.py) and the name
crosswalk (crosswalk.csv, built by crosswalk_build.py)."""
