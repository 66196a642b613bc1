-- Release-aware views over canonical.observations. Loaded after the tables are filled.
-- Their descriptions (stored as COMMENTs) are in warehouse/schema.py: VIEWS.
--
-- What a newer release replaces is the source's release scope (ref.sources.release_scope):
--   reporter     a release replaces, for each reporter, flow and period it publishes, every partner:
--                a DOTS workbook is one reporter, every partner and year, so a partner the newer
--                release no longer lists is not filled in from an older one, and one reporter's
--                figures for a period never mix two releases;
--   observation  a release replaces only the observations it contains (an answer to a query for some
--                partners, such as a Comtrade extract, says nothing about the partners not asked).
-- So "latest" keeps, per source and release slice, the rows of the newest vintage. (A join to the
-- slices' newest vintages, not a window over 2.6 M rows: 1.1 s instead of 1.8-2.4 s for
-- marts.bilateral_annual, which reads this view.)

CREATE MACRO canonical.release_slice_partner(scope, partner) AS CASE WHEN scope = 'observation' THEN partner END;
CREATE MACRO canonical.release_slice_product(scope, product) AS CASE WHEN scope = 'observation' THEN product END;

-- One release per slice, picked by `oldest` (the oldest release, else the newest) among the releases
-- published on or before `as_of`; the views and the as-of macro below are this one join.
CREATE MACRO canonical.observations_pick(oldest, as_of) AS TABLE
SELECT o.*
FROM canonical.observations o
JOIN ref.sources s USING (source)
JOIN (
    SELECT o.source, o.reporter_iso3, o.flow, o.freq, o.period,
           canonical.release_slice_partner(s.release_scope, o.partner_iso3) AS slice_partner,
           canonical.release_slice_product(s.release_scope, o.cmd_code) AS slice_product,
           CASE WHEN any_value(oldest) THEN min(o.vintage) ELSE max(o.vintage) END AS vintage  -- (a parameter counts as a column here)
    FROM canonical.observations o JOIN ref.sources s USING (source)
    WHERE o.vintage <= as_of
    GROUP BY ALL
) r ON r.source = o.source AND r.reporter_iso3 = o.reporter_iso3 AND r.flow = o.flow AND r.freq = o.freq
   AND r.period = o.period AND r.vintage = o.vintage
   AND r.slice_partner IS NOT DISTINCT FROM canonical.release_slice_partner(s.release_scope, o.partner_iso3)
   AND r.slice_product IS NOT DISTINCT FROM canonical.release_slice_product(s.release_scope, o.cmd_code);

CREATE VIEW canonical.observations_latest AS
SELECT * FROM canonical.observations_pick(false, DATE '9999-12-31');

-- The first release of each slice: the figures as first published.
CREATE VIEW canonical.observations_first AS
SELECT * FROM canonical.observations_pick(true, DATE '9999-12-31');

-- As of a date: what the warehouse would have answered with the releases published on or before
-- that date. SELECT * FROM canonical.observations_asof(DATE '2022-03-01');
CREATE MACRO canonical.observations_asof(as_of) AS TABLE
SELECT * FROM canonical.observations_pick(false, as_of);

-- Every observation of a release beside the same observation in the release before it in the same
-- slice (a full outer join: NULLs on the side that lacks it), for the reporters with more than one
-- release of a source. marts.release_diff keeps the pairs that differ; the blocking check
-- release_constant_factor reads the ratios of all of them.
CREATE MACRO canonical.release_pairs() AS TABLE
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
       n.value_usd, p.value_usd AS previous_value_usd, n.is_estimated, p.is_estimated AS previous_is_estimated,
       n.source_file, p.source_file AS previous_source_file
FROM new n
FULL OUTER JOIN old p ON p.source = n.source AND p.reporter_iso3 = n.reporter_iso3 AND p.partner_iso3 = n.partner_iso3
    AND p.flow = n.flow AND p.freq = n.freq AND p.period = n.period AND p.cmd_code = n.cmd_code
    AND p.next_vintage = n.vintage;
