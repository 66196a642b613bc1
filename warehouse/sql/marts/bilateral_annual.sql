-- marts.bilateral_annual: one row per source x reporter x partner x flow (X/M) x year, countries
-- and former countries only, the values no newer release replaced (canonical.observations_latest),
-- commodity totals only (cmd_code TOTAL: products are never summed into them). A monthly source's
-- year is the sum of its twelve months, and only when all twelve are there (a partial year is never
-- an annual figure); a source's own annual figure for the same key wins.
-- The mirror is the same flow as the partner reported it: the partner's imports for the
-- reporter's exports and vice versa. Rows exist where either side reported (a full outer join of the
-- two sides).
WITH annual AS (
    SELECT source, vintage, reporter_iso3, partner_iso3, flow, year, value_usd, is_estimated, derivation
    FROM canonical.observations_latest
    WHERE freq = 'A' AND cmd_code = 'TOTAL' AND flow IN ('X', 'M')
      AND reporter_type IN ('country', 'historical') AND partner_type IN ('country', 'historical')
), months AS (
    SELECT source, max(vintage) AS vintage, reporter_iso3, partner_iso3, flow, year, sum(value_usd) AS value_usd,
           bool_or(is_estimated) AS is_estimated, max(derivation) AS derivation
    FROM canonical.observations_latest
    WHERE freq = 'M' AND cmd_code = 'TOTAL' AND flow IN ('X', 'M')
      AND reporter_type IN ('country', 'historical') AND partner_type IN ('country', 'historical')
    GROUP BY source, reporter_iso3, partner_iso3, flow, year
    HAVING count(DISTINCT month) = 12
), obs AS (
    SELECT * FROM annual
    UNION ALL
    SELECT * FROM months ANTI JOIN annual USING (source, reporter_iso3, partner_iso3, flow, year)
), mirror AS (
    SELECT source, partner_iso3 AS reporter_iso3, reporter_iso3 AS partner_iso3,
           CAST(CASE flow WHEN 'M' THEN 'X' ELSE 'M' END AS flow_code) AS flow, year,  -- ENUM, as obs.flow: joined as is
           vintage AS mirror_vintage, value_usd AS mirror_value_usd, is_estimated AS mirror_is_estimated,
           derivation AS mirror_derivation
    FROM obs
)
SELECT
    source, reporter_iso3, partner_iso3, flow, year,
    CASE flow WHEN 'X' THEN 'FOB' ELSE 'CIF' END AS valuation,
    o.vintage, o.value_usd, o.is_estimated,
    m.mirror_vintage, m.mirror_value_usd, m.mirror_is_estimated,
    CASE flow WHEN 'X' THEN m.mirror_value_usd / $cif_fob ELSE m.mirror_value_usd * $cif_fob END AS mirror_adjusted_usd,
    o.value_usd / nullif(CASE flow WHEN 'X' THEN m.mirror_value_usd / $cif_fob ELSE m.mirror_value_usd * $cif_fob END, 0)
        AS asymmetry_ratio,
    o.derivation, m.mirror_derivation
FROM obs o
FULL OUTER JOIN mirror m USING (source, reporter_iso3, partner_iso3, flow, year)
