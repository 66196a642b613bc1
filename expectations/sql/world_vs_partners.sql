-- Frame for warning world_vs_partner_sum: a reporter's World row against the sum of its partners
-- that are not aggregates (countries, former countries, areas not specified), per source, vintage,
-- flow and period. ratio = partner sum / World. A World row of a partial answer (a file of release
-- scope 'observation', meta.source_files) whose release holds none of those partners is not
-- compared: the answer was not asked for them (the archived DOTS answer for W00 and B0 only), so
-- there is no partner sum of its release to compare with.
WITH world AS (
    SELECT o.source, o.vintage, o.reporter_iso3, o.flow, o.period, o.value_usd AS world_usd, o.source_file,
           o.source_sheet, o.source_cell, f.release_scope
    FROM canonical.observations o
    JOIN meta.source_files f USING (source, source_file, vintage)
    WHERE o.partner_type = 'world' AND o.reporter_type IN ('country', 'historical') AND o.value_usd > 0
      AND o.cmd_code = 'TOTAL'
), partners AS (
    SELECT source, vintage, reporter_iso3, flow, period, sum(value_usd) AS partner_sum_usd, count(*) AS partners
    FROM canonical.observations
    WHERE partner_type IN ('country', 'historical', 'not_specified') AND cmd_code = 'TOTAL'
    GROUP BY ALL
)
SELECT w.* EXCLUDE (release_scope), coalesce(p.partner_sum_usd, 0) AS partner_sum_usd, coalesce(p.partners, 0) AS partners,
       coalesce(p.partner_sum_usd, 0) / w.world_usd AS ratio
FROM world w LEFT JOIN partners p USING (source, vintage, reporter_iso3, flow, period)
WHERE p.partners IS NOT NULL OR w.release_scope = 'reporter'
