-- Frame for check raw_lineage_present: the run's raw cells (relation raw_cells) summarised per file
-- version and sheet and per lineage state; `rows` raw cells share each row's values, so a row passes
-- or fails for all of them. The cells behind a failing row: raw_lineage_rows.sql.
SELECT row_number() OVER () AS group_id, *
FROM (
    SELECT source_file, file_sha256, sheet,
           cell IS NOT NULL AS cell_present,
           excel_row IS NOT NULL AS excel_row_present,
           coalesce(cell = excel_col || CAST(excel_row AS VARCHAR), false) AS cell_consistent,
           count(*) AS rows
    FROM raw_cells
    GROUP BY ALL
)
