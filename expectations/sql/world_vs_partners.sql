-- Frame for warning world_vs_partner_sum: a reporter's World row against the sum of its partners
-- that are not aggregates (countries, former countries, areas not specified), per source, vintage,
-- flow and period. ratio = partner sum / World.
WITH world AS (
    SELECT source, vintage, reporter_iso3, flow, period, value_usd AS world_usd, source_file, source_sheet, source_cell
    FROM canonical.observations
    WHERE partner_type = 'world' AND reporter_type IN ('country', 'historical') AND value_usd > 0
), partners AS (
    SELECT source, vintage, reporter_iso3, flow, period, sum(value_usd) AS partner_sum_usd, count(*) AS partners
    FROM canonical.observations
    WHERE partner_type IN ('country', 'historical', 'not_specified')
    GROUP BY ALL
)
SELECT w.*, coalesce(p.partner_sum_usd, 0) AS partner_sum_usd, coalesce(p.partners, 0) AS partners,
       coalesce(p.partner_sum_usd, 0) / w.world_usd AS ratio
FROM world w LEFT JOIN partners p USING (source, vintage, reporter_iso3, flow, period)
