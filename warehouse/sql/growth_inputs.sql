-- Inputs of `tradewh growth`: the members' trade with one partner per flow and year, on one basis.
-- 'reporter' = the members' own figures; 'mirror' = the partner's figures for the same flows.
-- Parameters (bound): $source, $partner, $members (list), $first_year, $last_year, $basis.
SELECT
    reporter_iso3 AS member, year, flow, source,
    CASE $basis WHEN 'reporter' THEN value_usd ELSE mirror_value_usd END AS value_usd,
    coalesce(CASE $basis WHEN 'reporter' THEN is_estimated ELSE mirror_is_estimated END, false) AS is_estimated,
    CASE $basis WHEN 'reporter' THEN vintage ELSE mirror_vintage END AS vintage
FROM marts.bilateral_annual
WHERE source = $source
  AND partner_iso3 = $partner
  AND list_contains($members, reporter_iso3)
  AND year BETWEEN $first_year AND $last_year
ORDER BY member, year, flow
