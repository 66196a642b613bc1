-- Release-aware views over canonical.observations. Loaded after the tables are filled and
-- release_chain.sql has said which release replaced which value (superseded_by, previous_vintage:
-- what a newer release replaces depends on its file's release scope, explained there).
-- Their descriptions (stored as COMMENTs) are in warehouse/schema.py: VIEWS.

-- The values of the releases published on or before `as_of` that no release published by then
-- replaced; with `oldest`, the values no earlier release covered (the figures as first published).
-- The views and the as-of macro below are this filter.
CREATE MACRO canonical.observations_pick(oldest, as_of) AS TABLE
SELECT *
FROM canonical.observations
WHERE vintage <= as_of
  AND CASE WHEN oldest THEN previous_vintage IS NULL ELSE superseded_by IS NULL OR superseded_by > as_of END;

CREATE VIEW canonical.observations_latest AS
SELECT * FROM canonical.observations_pick(false, DATE '9999-12-31');

-- The values no earlier release covered: the figures as first published.
CREATE VIEW canonical.observations_first AS
SELECT * FROM canonical.observations_pick(true, DATE '9999-12-31');

-- As of a date: what the warehouse would have answered with the releases published on or before
-- that date. SELECT * FROM canonical.observations_asof(DATE '2022-03-01');
CREATE MACRO canonical.observations_asof(as_of) AS TABLE
SELECT * FROM canonical.observations_pick(false, as_of);

-- Every observation of a release beside the same observation in the release it replaced (its
-- previous_vintage; a full outer join: NULLs on the side that lacks it), for the reporters with
-- more than one release of a source. marts.release_diff keeps the pairs that differ; the blocking
-- check release_constant_factor reads the ratios of all of them.
CREATE MACRO canonical.release_pairs() AS TABLE
WITH new AS (
    SELECT * FROM canonical.observations WHERE previous_vintage IS NOT NULL
), old AS (
    SELECT * FROM canonical.observations WHERE superseded_by IS NOT NULL
)
SELECT coalesce(n.source, p.source) AS source, coalesce(n.reporter_iso3, p.reporter_iso3) AS reporter_iso3,
       coalesce(n.partner_iso3, p.partner_iso3) AS partner_iso3, coalesce(n.flow, p.flow) AS flow,
       coalesce(n.freq, p.freq) AS freq, coalesce(n.period, p.period) AS period, coalesce(n.year, p.year) AS year,
       coalesce(n.cmd_code, p.cmd_code) AS cmd_code, coalesce(n.classification, p.classification) AS classification,
       coalesce(n.vintage, p.superseded_by) AS vintage, coalesce(n.previous_vintage, p.vintage) AS previous_vintage,
       n.value_usd, p.value_usd AS previous_value_usd, n.is_estimated, p.is_estimated AS previous_is_estimated,
       n.source_file, p.source_file AS previous_source_file
FROM new n
FULL OUTER JOIN old p ON p.source = n.source AND p.reporter_iso3 = n.reporter_iso3 AND p.partner_iso3 = n.partner_iso3
    AND p.flow = n.flow AND p.freq = n.freq AND p.period = n.period AND p.cmd_code = n.cmd_code
    AND p.classification = n.classification
    AND p.vintage = n.previous_vintage AND p.superseded_by = n.vintage;

-- The latest values of one product level (HS2 chapters, HS4 headings or HS6 subheadings), for
-- product questions: a chapter's value contains its headings' and subheadings', so a sum over two
-- levels counts goods twice (warehouse/products.py). Any other level is an error that says so.
-- SELECT * FROM canonical.products('HS6') WHERE reporter_iso3 = 'THA';
CREATE MACRO canonical.products(level) AS TABLE
SELECT *
FROM canonical.observations_latest
WHERE product_level = CASE
    WHEN level IN ('HS2', 'HS4', 'HS6') THEN level
    ELSE error('canonical.products(level): level is one of HS2, HS4, HS6 (a sum over two levels counts goods twice), not '
               || coalesce(CAST(level AS VARCHAR), 'NULL'))
END;
