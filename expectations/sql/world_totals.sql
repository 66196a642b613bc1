-- Frame for check world_totals_plausible: each country's (or former country's) total with the World,
-- per flow and period, in US dollars (commodity totals: cmd_code TOTAL).
SELECT raw_id, source, source_file, source_sheet, source_cell, reporter_iso3, flow, period, value_usd
FROM canonical.observations
WHERE partner_type = 'world' AND reporter_type IN ('country', 'historical') AND cmd_code = 'TOTAL'
