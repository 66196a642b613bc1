-- marts.release_diff: what each release of a source changed against the release it replaced
-- (canonical.release_pairs(): each value beside the value of its previous_vintage; what a release
-- replaces follows its file's release scope, warehouse/sql/release_chain.sql). One row per
-- observation that changed value ('changed': both values, the change in %), appeared ('added': in
-- the release, not in the one before) or disappeared ('removed': in the release before, not in this
-- one; a reporter-scope release replaces every partner of its reporter, flow and period, so a
-- partner it no longer lists is removed from the latest view). Unchanged observations have no row.
SELECT source, reporter_iso3, partner_iso3, flow, freq, period, year, cmd_code, classification, vintage, previous_vintage,
       CASE WHEN previous_source_file IS NULL THEN 'added' WHEN source_file IS NULL THEN 'removed' ELSE 'changed' END AS change,
       value_usd, previous_value_usd,
       (value_usd / nullif(previous_value_usd, 0) - 1) * 100 AS change_pct,
       is_estimated, previous_is_estimated, source_file, previous_source_file
FROM canonical.release_pairs()
WHERE value_usd IS DISTINCT FROM previous_value_usd OR is_estimated IS DISTINCT FROM previous_is_estimated
