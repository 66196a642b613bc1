-- marts.source_comparison: where two sources cover the same reporter, partner, flow and year, their
-- figures side by side with the ratio. Two kinds:
--   same_side  source A's and source B's figure for the reporter's flow (A before B by name), e.g.
--              DOTS against IMTS for Russia's exports to Indonesia in 2019;
--   mirror     source A's figure for the reporter's flow against the partner's own figure for the
--              same trade in source B (its imports for the reporter's exports and vice versa),
--              brought to the reporter's valuation with the CIF/FOB factor ($cif_fob), e.g.
--              Indonesia's exports to Russia in Comtrade against Russia's imports from Indonesia
--              in IMTS. Within one source the mirror is marts.bilateral_annual.asymmetry_ratio.
-- From marts.bilateral_annual: newest releases, countries and former countries, annual totals.
WITH b AS (
    SELECT source, reporter_iso3, partner_iso3, flow, year, vintage, value_usd, is_estimated, derivation,
           mirror_vintage, mirror_value_usd, mirror_is_estimated, mirror_derivation
    FROM marts.bilateral_annual
)
SELECT 'same_side' AS comparison, a.reporter_iso3, a.partner_iso3, a.flow, a.year,
       a.source AS source_a, a.vintage AS vintage_a, a.value_usd AS value_a_usd,
       coalesce(a.is_estimated, false) AS estimated_a, a.derivation AS derivation_a,
       o.source AS source_b, o.vintage AS vintage_b, o.value_usd AS value_b_usd,
       coalesce(o.is_estimated, false) AS estimated_b, o.derivation AS derivation_b,
       o.value_usd AS value_b_adjusted_usd,
       a.value_usd / nullif(o.value_usd, 0) AS ratio
FROM b a
JOIN b o ON o.reporter_iso3 = a.reporter_iso3 AND o.partner_iso3 = a.partner_iso3 AND o.flow = a.flow
    AND o.year = a.year AND a.source::VARCHAR < o.source::VARCHAR
WHERE a.value_usd IS NOT NULL AND o.value_usd IS NOT NULL
UNION ALL
SELECT 'mirror', a.reporter_iso3, a.partner_iso3, a.flow, a.year,
       a.source, a.vintage, a.value_usd, coalesce(a.is_estimated, false), a.derivation,
       o.source, o.mirror_vintage, o.mirror_value_usd, coalesce(o.mirror_is_estimated, false), o.mirror_derivation,
       CASE a.flow WHEN 'X' THEN o.mirror_value_usd / $cif_fob ELSE o.mirror_value_usd * $cif_fob END,
       a.value_usd / nullif(CASE a.flow WHEN 'X' THEN o.mirror_value_usd / $cif_fob ELSE o.mirror_value_usd * $cif_fob END, 0)
FROM b a
JOIN b o ON o.reporter_iso3 = a.reporter_iso3 AND o.partner_iso3 = a.partner_iso3 AND o.flow = a.flow
    AND o.year = a.year AND a.source <> o.source
WHERE a.value_usd IS NOT NULL AND o.mirror_value_usd IS NOT NULL
