-- The raw cells behind the failing rows of raw_lineage.sql (relation failing).
SELECT r.raw_id, r.source_file, r.sheet, r.cell, r.excel_row, r.excel_col, r.series_no, r.obs_no
FROM raw_cells r
JOIN failing f
  ON r.source_file IS NOT DISTINCT FROM f.source_file
 AND (r.file_sha256 IS NOT NULL) = f.sha256_present
 AND r.sheet IS NOT DISTINCT FROM f.sheet
 AND (CASE WHEN r.sheet IS NOT NULL THEN 'workbook' WHEN r.series_no IS NOT NULL THEN 'answer' END) IS NOT DISTINCT FROM f.lineage_kind
 AND (r.cell IS NOT NULL) = f.cell_present
 AND (CASE WHEN r.sheet IS NOT NULL THEN r.excel_row IS NOT NULL ELSE r.obs_no IS NOT NULL END) = f.position_present
 AND coalesce(CASE WHEN r.sheet IS NOT NULL THEN r.cell = r.excel_col || CAST(r.excel_row AS VARCHAR)
                   ELSE r.cell = 'series ' || r.series_no || ' ' || r.series_code || ', observation ' || r.time_period END,
              false) = f.cell_consistent
ORDER BY r.raw_id
