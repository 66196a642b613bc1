-- Frame for check raw_lineage_present: the run's raw cells summarised per file name, sheet and
-- lineage state (from the per-file summaries of raw_lineage_files.sql, relation raw_lineage_files);
-- `rows` raw cells share each row's values, so a row passes or fails for all of them. The versions
-- of one file name share their rows here, so a corrected file whose cells are placed alike leaves
-- the frame as it was (and the check's last outcome stands: expectations/validate.py). The cells
-- behind a failing row: raw_lineage_rows.sql.
SELECT row_number() OVER (ORDER BY summary) AS group_id, *  -- the same ids for the same rows
FROM (
    SELECT source_file, sha256_present, sheet, lineage_kind, cell_present, position_present, cell_consistent,
           CAST(sum(rows) AS BIGINT) AS rows
    FROM raw_lineage_files
    GROUP BY ALL
) summary
