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
-- The two kinds come from one join of the sources' rows on reporter, partner, flow and year (half
-- the time of a join per kind).
WITH b AS (
    SELECT source, reporter_iso3, partner_iso3, flow, year, vintage, value_usd, is_estimated, derivation,
           mirror_vintage, mirror_value_usd, mirror_is_estimated, mirror_derivation
    FROM marts.bilateral_annual
), j AS MATERIALIZED (
    SELECT a.reporter_iso3, a.partner_iso3, a.flow, a.year,
           a.source AS a_source, a.vintage AS a_vintage, a.value_usd AS a_value, a.is_estimated AS a_est, a.derivation AS a_der,
           o.source AS o_source, o.vintage AS o_vintage, o.value_usd AS o_value, o.is_estimated AS o_est, o.derivation AS o_der,
           o.mirror_vintage AS o_mvintage, o.mirror_value_usd AS o_mvalue, o.mirror_is_estimated AS o_mest, o.mirror_derivation AS o_mder
    FROM b a
    JOIN b o ON o.reporter_iso3 = a.reporter_iso3 AND o.partner_iso3 = a.partner_iso3 AND o.flow = a.flow
        AND o.year = a.year AND a.source <> o.source
    WHERE a.value_usd IS NOT NULL
)
SELECT 'same_side' AS comparison, reporter_iso3, partner_iso3, flow, year,
       a_source AS source_a, a_vintage AS vintage_a, a_value AS value_a_usd, coalesce(a_est, false) AS estimated_a, a_der AS derivation_a,
       o_source AS source_b, o_vintage AS vintage_b, o_value AS value_b_usd, coalesce(o_est, false) AS estimated_b, o_der AS derivation_b,
       o_value AS value_b_adjusted_usd, a_value / nullif(o_value, 0) AS ratio
FROM j WHERE a_source::VARCHAR < o_source::VARCHAR AND o_value IS NOT NULL
UNION ALL
SELECT 'mirror', reporter_iso3, partner_iso3, flow, year,
       a_source, a_vintage, a_value, coalesce(a_est, false), a_der,
       o_source, o_mvintage, o_mvalue, coalesce(o_mest, false), o_mder,
       CASE flow WHEN 'X' THEN o_mvalue / $cif_fob ELSE o_mvalue * $cif_fob END,
       a_value / nullif(CASE flow WHEN 'X' THEN o_mvalue / $cif_fob ELSE o_mvalue * $cif_fob END, 0)
FROM j WHERE o_mvalue IS NOT NULL
