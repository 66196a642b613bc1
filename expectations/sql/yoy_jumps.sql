-- Frame for warning yoy_jump_extreme: each country-country flow against the same flow a year
-- earlier (same source and vintage; commodity totals), where both are positive and the larger is at least $floor_usd.
-- factor = max(v, prev) / min(v, prev) >= 1.
WITH b AS (
    SELECT source, vintage, reporter_iso3, partner_iso3, flow, freq, year, value_usd, source_file, source_sheet, source_cell
    FROM canonical.observations
    WHERE reporter_type = 'country' AND partner_type = 'country' AND freq = 'A' AND value_usd > 0 AND cmd_code = 'TOTAL'
)
SELECT cur.source, cur.vintage, cur.reporter_iso3, cur.partner_iso3, cur.flow, cur.year,
       prev.value_usd AS prev_usd, cur.value_usd AS value_usd,
       greatest(cur.value_usd, prev.value_usd) / least(cur.value_usd, prev.value_usd) AS factor,
       cur.source_file, cur.source_sheet, cur.source_cell
FROM b cur
JOIN b prev ON prev.source = cur.source AND prev.vintage = cur.vintage AND prev.reporter_iso3 = cur.reporter_iso3
    AND prev.partner_iso3 = cur.partner_iso3 AND prev.flow = cur.flow AND prev.year = cur.year - 1
WHERE greatest(cur.value_usd, prev.value_usd) >= $floor_usd
