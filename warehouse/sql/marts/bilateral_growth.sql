-- marts.bilateral_growth: year-on-year growth per source x reporter x partner x flow x year, on a
-- named basis: 'reporter' (the reporter's own figures) or 'mirror' (the partner's figures for the
-- same flow, unadjusted). growth_pct = (value / previous year's value - 1) x 100, only when both
-- years have a value and the previous one is positive; otherwise NULL and note says why.
WITH b AS (
    SELECT source, reporter_iso3, partner_iso3, flow, year, 'reporter' AS basis, value_usd, is_estimated, vintage
    FROM marts.bilateral_annual
    UNION ALL
    SELECT source, reporter_iso3, partner_iso3, flow, year, 'mirror', mirror_value_usd, mirror_is_estimated, mirror_vintage
    FROM marts.bilateral_annual
)
SELECT cur.source, cur.reporter_iso3, cur.partner_iso3, cur.flow, cur.year, cur.basis,
       cur.value_usd, prev.value_usd AS prev_value_usd, cur.vintage,
       CASE WHEN cur.value_usd IS NOT NULL AND prev.value_usd > 0 THEN (cur.value_usd / prev.value_usd - 1) * 100 END
           AS growth_pct,
       CASE
           WHEN cur.value_usd IS NULL THEN 'no value this year'
           WHEN prev.value_usd IS NULL THEN 'no value the year before'
           WHEN prev.value_usd <= 0 THEN 'previous value is not positive: growth undefined'
       END AS note,
       coalesce(cur.is_estimated, false) OR coalesce(prev.is_estimated, false) AS uses_estimate
FROM b cur
LEFT JOIN b prev ON prev.source = cur.source AND prev.reporter_iso3 = cur.reporter_iso3
    AND prev.partner_iso3 = cur.partner_iso3 AND prev.flow = cur.flow AND prev.basis = cur.basis
    AND prev.year = cur.year - 1
