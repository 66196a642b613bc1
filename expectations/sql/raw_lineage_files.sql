-- Per-file summary for check raw_lineage_present (aggregated by raw_lineage.sql): the raw cells
-- (relation raw_cells) of each raw-store file (raw_file) grouped by lineage state. A workbook cell
-- (sheet given) is placed by its Excel row and column, and its cell reference must agree with them;
-- an archived answer's observation (no sheet) by its series and observation number, and its `cell`
-- must name them. Every cell names its file version (sha256_present).
SELECT raw_file, source_file, file_sha256 IS NOT NULL AS sha256_present, sheet,
       CASE WHEN sheet IS NOT NULL THEN 'workbook' WHEN series_no IS NOT NULL THEN 'answer' END AS lineage_kind,
       cell IS NOT NULL AS cell_present,
       CASE WHEN sheet IS NOT NULL THEN excel_row IS NOT NULL ELSE obs_no IS NOT NULL END AS position_present,
       coalesce(CASE WHEN sheet IS NOT NULL THEN cell = excel_col || CAST(excel_row AS VARCHAR)
                     ELSE cell = 'series ' || series_no || ' ' || series_code || ', observation ' || time_period END,
                false) AS cell_consistent,
       count(*) AS rows
FROM raw_cells
GROUP BY ALL
