-- marts.release_diff: what each release of a source changed against the release before it, in the
-- same release slice (canonical_views.sql: per source, reporter, flow, frequency and period for a
-- release scope 'reporter'; per observation for 'observation'). One row per observation that
-- changed value ('changed': both values, the change in %), appeared ('added': in the release, not
-- in the one before) or disappeared ('removed': in the release before, not in this one; a
-- reporter-scope release replaces every partner of its slice, so a partner it no longer lists is
-- removed from the latest view). Unchanged observations have no row. Only reporters with more than
-- one release of a source are compared.
WITH multi AS (
    SELECT source, reporter_iso3
    FROM canonical.observations
    GROUP BY ALL
    HAVING count(DISTINCT vintage) > 1
), o AS (
    SELECT o.source, o.reporter_iso3, o.partner_iso3, o.flow, o.freq, o.period, o.year, o.cmd_code, o.vintage,
           o.value_usd, o.is_estimated, o.source_file,
           canonical.release_slice_partner(s.release_scope, o.partner_iso3) AS slice_partner,
           canonical.release_slice_product(s.release_scope, o.cmd_code) AS slice_product
    FROM canonical.observations o SEMI JOIN multi USING (source, reporter_iso3)
    JOIN ref.sources s USING (source)
), pairs AS (
    SELECT *, lag(vintage) OVER (PARTITION BY source, reporter_iso3, flow, freq, period, slice_partner, slice_product
                                 ORDER BY vintage) AS previous_vintage
    FROM (SELECT DISTINCT source, reporter_iso3, flow, freq, period, slice_partner, slice_product, vintage FROM o)
), new AS (
    SELECT o.*, p.previous_vintage
    FROM o JOIN pairs p ON p.source = o.source AND p.reporter_iso3 = o.reporter_iso3 AND p.flow = o.flow
        AND p.freq = o.freq AND p.period = o.period AND p.vintage = o.vintage
        AND p.slice_partner IS NOT DISTINCT FROM o.slice_partner AND p.slice_product IS NOT DISTINCT FROM o.slice_product
    WHERE p.previous_vintage IS NOT NULL
), old AS (
    SELECT o.*, p.vintage AS next_vintage
    FROM o JOIN pairs p ON p.source = o.source AND p.reporter_iso3 = o.reporter_iso3 AND p.flow = o.flow
        AND p.freq = o.freq AND p.period = o.period AND p.previous_vintage = o.vintage
        AND p.slice_partner IS NOT DISTINCT FROM o.slice_partner AND p.slice_product IS NOT DISTINCT FROM o.slice_product
)
SELECT coalesce(n.source, p.source) AS source, coalesce(n.reporter_iso3, p.reporter_iso3) AS reporter_iso3,
       coalesce(n.partner_iso3, p.partner_iso3) AS partner_iso3, coalesce(n.flow, p.flow) AS flow,
       coalesce(n.freq, p.freq) AS freq, coalesce(n.period, p.period) AS period, coalesce(n.year, p.year) AS year,
       coalesce(n.cmd_code, p.cmd_code) AS cmd_code,
       coalesce(n.vintage, p.next_vintage) AS vintage, coalesce(n.previous_vintage, p.vintage) AS previous_vintage,
       CASE WHEN p.source IS NULL THEN 'added' WHEN n.source IS NULL THEN 'removed' ELSE 'changed' END AS change,
       n.value_usd, p.value_usd AS previous_value_usd,
       (n.value_usd / nullif(p.value_usd, 0) - 1) * 100 AS change_pct,
       n.is_estimated, p.is_estimated AS previous_is_estimated,
       n.source_file, p.source_file AS previous_source_file
FROM new n
FULL OUTER JOIN old p ON p.source = n.source AND p.reporter_iso3 = n.reporter_iso3 AND p.partner_iso3 = n.partner_iso3
    AND p.flow = n.flow AND p.freq = n.freq AND p.period = n.period AND p.cmd_code = n.cmd_code
    AND p.next_vintage = n.vintage
WHERE n.value_usd IS DISTINCT FROM p.value_usd OR n.is_estimated IS DISTINCT FROM p.is_estimated
