-- Which release replaced each observation, and which one it replaced: canonical.observations'
-- superseded_by and previous_vintage, filled once every release is loaded (they are NULL on
-- insert). The views of canonical_views.sql are filters on them.
--
-- A release covers, for each file's rows, what its file's release scope says
-- (meta.source_files.release_scope):
--   reporter     every partner of each reporter, flow, frequency and period it publishes: a DOTS
--                workbook is one reporter, every partner and year, so a partner the newer release
--                no longer lists is replaced by nothing (not filled in from the older release), and
--                one reporter's figures for a period never mix two releases;
--   observation  only the observations it contains: an answer to a query for some partners (a
--                Comtrade extract, an IMF API answer for two counterparts) says nothing about the
--                partners it was not asked for.
-- An observation is superseded by the first later release of its source that covers it (the same
-- key in any later release, or its reporter, flow, frequency and period in a later release of scope
-- 'reporter'), and its previous_vintage is the last earlier release that covered it. Only
-- reporters with more than one release of a source can have either.
--
-- Computed for the reporters of the temporary table release_chain_scope (source, reporter_iso3):
-- every reporter of a whole build, those of the changed files of a patched one (warehouse/patch.py),
-- whose chain columns are cleared first.
UPDATE canonical.observations AS o
SET superseded_by = NULL, previous_vintage = NULL
FROM release_chain_scope s
WHERE o.source = s.source AND o.reporter_iso3 = s.reporter_iso3
  AND (o.superseded_by IS NOT NULL OR o.previous_vintage IS NOT NULL);

UPDATE canonical.observations AS o
SET superseded_by = c.superseded_by, previous_vintage = c.previous_vintage
FROM (
    WITH multi AS (
        SELECT source, reporter_iso3
        FROM canonical.observations
        SEMI JOIN release_chain_scope USING (source, reporter_iso3)
        GROUP BY ALL
        HAVING count(DISTINCT vintage) > 1
    ), rows AS (
        SELECT o.source, o.reporter_iso3, o.partner_iso3, o.flow, o.freq, o.period, o.cmd_code, o.classification, o.vintage,
               f.release_scope
        FROM canonical.observations o
        SEMI JOIN multi USING (source, reporter_iso3)
        JOIN meta.source_files f USING (source, source_file, vintage)
    ), whole AS (  -- the releases of scope 'reporter' of each reporter, flow, frequency and period
        SELECT DISTINCT source, reporter_iso3, flow, freq, period, vintage
        FROM rows
        WHERE release_scope = 'reporter'
    ), keyed AS (  -- the releases of the same observation
        SELECT *,
               lead(vintage) OVER k AS next_of_key,
               lag(vintage) OVER k AS previous_of_key
        FROM rows
        WINDOW k AS (PARTITION BY source, reporter_iso3, partner_iso3, flow, freq, period, cmd_code, classification ORDER BY vintage)
    )
    SELECT k.source, k.reporter_iso3, k.partner_iso3, k.flow, k.freq, k.period, k.cmd_code, k.classification, k.vintage,
           least(k.next_of_key, (SELECT min(w.vintage) FROM whole w
                                 WHERE w.source = k.source AND w.reporter_iso3 = k.reporter_iso3 AND w.flow = k.flow
                                   AND w.freq = k.freq AND w.period = k.period AND w.vintage > k.vintage)) AS superseded_by,
           greatest(k.previous_of_key, (SELECT max(w.vintage) FROM whole w
                                        WHERE w.source = k.source AND w.reporter_iso3 = k.reporter_iso3 AND w.flow = k.flow
                                          AND w.freq = k.freq AND w.period = k.period AND w.vintage < k.vintage)) AS previous_vintage
    FROM keyed k
) c
WHERE o.source = c.source AND o.reporter_iso3 = c.reporter_iso3 AND o.partner_iso3 = c.partner_iso3 AND o.flow = c.flow
  AND o.freq = c.freq AND o.period = c.period AND o.cmd_code = c.cmd_code AND o.classification = c.classification
  AND o.vintage = c.vintage
  AND (c.superseded_by IS NOT NULL OR c.previous_vintage IS NOT NULL);
