-- The negative observations behind the failing rows of negative_values.sql (relation failing).
SELECT o.raw_id, o.source_file, o.source_sheet, o.source_cell, o.reporter_iso3, o.partner_iso3, o.flow, o.period, o.value_usd
FROM canonical.observations o
-- (failing's text compared as the columns' ENUM types: half the time of comparing every observation as text)
JOIN failing f ON o.source = f.source::source_code AND o.vintage = f.vintage
    AND o.reporter_iso3 = f.reporter_iso3::entity_code AND o.flow = f.flow::flow_code
WHERE o.value_usd < 0
ORDER BY o.raw_id
