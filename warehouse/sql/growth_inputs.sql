-- Inputs of `tradewh growth`: the members' trade with one partner per flow and year, on one basis,
-- from every source (or the one asked for): the rules choose a source per year (warehouse/growth.py).
-- 'reporter' = the members' own figures; 'mirror' = the partner's figures for the same flows.
-- Parameters (bound): $sources (list), $partner, $members (list), $first_year, $last_year, $basis.
-- Amounts leave the warehouse's exact DECIMAL as DOUBLE: growth works in floats (warehouse/growth.py).
SELECT
    reporter_iso3 AS member, year, flow, source,
    (CASE $basis WHEN 'reporter' THEN value_usd ELSE mirror_value_usd END)::DOUBLE AS value_usd,
    coalesce(CASE $basis WHEN 'reporter' THEN is_estimated ELSE mirror_is_estimated END, false) AS is_estimated,
    CASE $basis WHEN 'reporter' THEN vintage ELSE mirror_vintage END AS vintage,
    CASE $basis WHEN 'reporter' THEN derivation ELSE mirror_derivation END AS derivation
FROM bilateral_annual  -- marts.bilateral_annual, or the same computed as of a date (queries.growth_relations)
WHERE list_contains($sources, source)
  AND partner_iso3 = $partner
  AND list_contains($members, reporter_iso3)
  AND year BETWEEN $first_year AND $last_year
ORDER BY member, year, flow, source
