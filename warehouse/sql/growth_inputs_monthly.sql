-- Inputs of `tradewh growth --freq M`: the members' monthly trade with one partner per flow, from
-- the monthly figures of every source (or the one asked for), the values no newer release replaced
-- (canonical.observations_latest).
-- 'reporter' = the members' own figures; 'mirror' = the partner's figures for the same flows (its
-- imports for a member's exports and vice versa). value = in the currency asked: US dollars, or
-- the currency the source published in (original_value in its unit: "... millions" x 1e6).
-- Parameters (bound): $sources (list), $partner, $members (list), $first_year, $last_year, $basis,
-- $original (true for the source's own currency). Amounts leave the warehouse's exact DECIMAL as DOUBLE.
WITH o AS (
    SELECT source, vintage, reporter_iso3, partner_iso3, flow, year, month, value_usd, is_estimated, derivation,
           original_currency,
           original_value * CASE WHEN original_unit::VARCHAR LIKE '% millions' THEN 1e6
                                 WHEN original_unit::VARCHAR LIKE '% thousands' THEN 1e3 ELSE 1 END AS original
    FROM observations  -- canonical.observations_latest, or canonical.observations_asof(date) (queries.growth_relations)
    WHERE freq = 'M' AND cmd_code = 'TOTAL' AND flow IN ('X', 'M') AND list_contains($sources, source::VARCHAR)
      AND year BETWEEN $first_year AND $last_year
)
SELECT
    CASE $basis WHEN 'reporter' THEN reporter_iso3 ELSE partner_iso3 END::VARCHAR AS member,
    year, month,
    (CASE WHEN $basis = 'reporter' THEN flow ELSE CASE flow WHEN 'X' THEN 'M' ELSE 'X' END END)::VARCHAR AS flow,
    source::VARCHAR AS source,
    CASE WHEN $original THEN original ELSE value_usd::DOUBLE END AS value,
    value_usd::DOUBLE AS value_usd, is_estimated, vintage::VARCHAR AS vintage, derivation,
    original_currency::VARCHAR AS currency
FROM o
WHERE CASE $basis WHEN 'reporter' THEN partner_iso3 = $partner AND list_contains($members, reporter_iso3::VARCHAR)
                  ELSE reporter_iso3 = $partner AND list_contains($members, partner_iso3::VARCHAR) END
ORDER BY member, year, month, flow, source
