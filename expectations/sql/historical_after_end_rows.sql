-- The observations after their former country's end behind the failing rows of
-- historical_after_end.sql (relation failing).
SELECT o.raw_id, o.source_file, o.source_sheet, o.source_cell, o.reporter_iso3, o.partner_iso3, o.flow, o.period
FROM canonical.observations o
-- (failing's text compared as the columns' ENUM types: half the time of comparing every observation as text)
JOIN failing f ON o.source = f.source::source_code AND o.vintage = f.vintage AND o.reporter_iso3 = f.reporter_iso3::entity_code
    AND o.partner_iso3 = f.partner_iso3::entity_code AND o.flow = f.flow::flow_code
LEFT JOIN (SELECT DISTINCT code, valid_to FROM ref.crosswalk WHERE entity_type = 'historical') r ON r.code = o.reporter_iso3
LEFT JOIN (SELECT DISTINCT code, valid_to FROM ref.crosswalk WHERE entity_type = 'historical') p ON p.code = o.partner_iso3
WHERE greatest(coalesce(o.year - year(r.valid_to), -9999), coalesce(o.year - year(p.valid_to), -9999)) > 0
ORDER BY o.raw_id
