-- One BACI-shaped file -> its rows as published, typed, in file order (the product store's Parquet
-- partition): t year, i exporter, j importer (UN Comtrade numeric codes), k HS6 product (text: leading
-- zeros as written), v value in thousands of US$ (exact DECIMAL), q quantity in metric tonnes (empty
-- or NA: unknown). The file's source, revision, year and release are its partition's keys, not columns.
-- A line that does not parse stops the load, naming the file and line (DuckDB's CSV reader, strict).
SELECT t, i, j, k, v, q
FROM read_csv({csv}, header = true, columns = {columns}, nullstr = ['', 'NA'], strict_mode = true, auto_detect = false)
