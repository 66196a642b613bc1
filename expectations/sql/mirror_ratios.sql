-- Frame for warning mirror_ratio_extreme: A's exports to B (FOB) against B's imports from A (CIF)
-- brought to FOB with the IMF's flat factor $cif_fob (warehouse/rules.py), per source, vintage and
-- year; both positive and the larger at least $floor_usd. ratio = exports / (mirror imports / $cif_fob).
WITH x AS (
    SELECT source, vintage, reporter_iso3, partner_iso3, period, value_usd AS exports_usd, source_file, source_cell
    FROM canonical.observations
    WHERE flow = 'X' AND reporter_type = 'country' AND partner_type = 'country' AND value_usd > 0 AND cmd_code = 'TOTAL'
), m AS (
    SELECT source, vintage, reporter_iso3, partner_iso3, period, value_usd AS mirror_imports_usd
    FROM canonical.observations
    WHERE flow = 'M' AND reporter_type = 'country' AND partner_type = 'country' AND value_usd > 0 AND cmd_code = 'TOTAL'
)
SELECT x.source, x.vintage, x.reporter_iso3, x.partner_iso3, x.period, x.exports_usd, m.mirror_imports_usd,
       x.exports_usd / (m.mirror_imports_usd / $cif_fob) AS ratio, x.source_file, x.source_cell
FROM x JOIN m ON m.source = x.source AND m.vintage = x.vintage AND m.reporter_iso3 = x.partner_iso3
    AND m.partner_iso3 = x.reporter_iso3 AND m.period = x.period
WHERE greatest(x.exports_usd, m.mirror_imports_usd) >= $floor_usd
