-- The raw cells behind the failing rows of raw_lineage.sql (relation failing).
SELECT r.raw_id, r.source_file, r.sheet, r.cell, r.excel_row, r.excel_col
FROM raw_cells r
JOIN failing f
  ON r.source_file IS NOT DISTINCT FROM f.source_file
 AND r.file_sha256 IS NOT DISTINCT FROM f.file_sha256
 AND r.sheet IS NOT DISTINCT FROM f.sheet
 AND (r.cell IS NOT NULL) = f.cell_present
 AND (r.excel_row IS NOT NULL) = f.excel_row_present
 AND coalesce(r.cell = r.excel_col || CAST(r.excel_row AS VARCHAR), false) = f.cell_consistent
ORDER BY r.raw_id
