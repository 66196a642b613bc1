-- marts.pair_annual: one row per source x reporter x partner x year (countries only): the
-- reporter's exports, imports, total trade (X + M) and balance (X - M), and the same from the
-- partner's side (mirror). Totals and balances only where both flows are present.
SELECT
    source, reporter_iso3, partner_iso3, year,
    max(value_usd) FILTER (WHERE flow = 'X') AS exports_usd,
    max(value_usd) FILTER (WHERE flow = 'M') AS imports_usd,
    CASE WHEN count(value_usd) FILTER (WHERE flow IN ('X', 'M')) = 2
         THEN sum(value_usd) FILTER (WHERE flow IN ('X', 'M')) END AS total_trade_usd,
    max(value_usd) FILTER (WHERE flow = 'X') - max(value_usd) FILTER (WHERE flow = 'M') AS balance_usd,
    concat_ws('+', max(CASE WHEN flow = 'X' AND value_usd IS NOT NULL THEN 'X' END),
                   max(CASE WHEN flow = 'M' AND value_usd IS NOT NULL THEN 'M' END)) AS flows_present,
    max(mirror_value_usd) FILTER (WHERE flow = 'X') AS mirror_exports_usd,
    max(mirror_value_usd) FILTER (WHERE flow = 'M') AS mirror_imports_usd,
    CASE WHEN count(mirror_value_usd) = 2 THEN sum(mirror_value_usd) END AS mirror_total_trade_usd,
    bool_or(coalesce(is_estimated, false)) AS any_estimated,
    bool_or(coalesce(mirror_is_estimated, false)) AS mirror_any_estimated
FROM marts.bilateral_annual
GROUP BY source, reporter_iso3, partner_iso3, year
