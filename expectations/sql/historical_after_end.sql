-- Frame for warning historical_after_end: observations whose reporter or partner is a former
-- country, with the years elapsed since it ceased to exist (<= 0 while it existed).
SELECT o.raw_id, o.source_file, o.source_sheet, o.source_cell, o.reporter_iso3, o.partner_iso3, o.flow, o.period,
       greatest(
           coalesce(o.year - year(r.valid_to), -9999),
           coalesce(o.year - year(p.valid_to), -9999)
       ) AS years_after_end
FROM canonical.observations o
LEFT JOIN (SELECT DISTINCT code, valid_to FROM ref.crosswalk WHERE entity_type = 'historical') r ON r.code = o.reporter_iso3
LEFT JOIN (SELECT DISTINCT code, valid_to FROM ref.crosswalk WHERE entity_type = 'historical') p ON p.code = o.partner_iso3
WHERE r.code IS NOT NULL OR p.code IS NOT NULL
