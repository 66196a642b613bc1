-- The negative observations behind the failing rows of negative_values.sql (relation failing).
SELECT o.raw_id, o.source_file, o.source_sheet, o.source_cell, o.reporter_iso3, o.partner_iso3, o.flow, o.period, o.value_usd
FROM canonical.observations o
JOIN failing f ON o.source = f.source AND o.vintage = f.vintage AND o.reporter_iso3 = f.reporter_iso3 AND o.flow = f.flow
WHERE o.value_usd < 0
ORDER BY o.raw_id
