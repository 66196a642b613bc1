-- Frame for warning negative_values: every observation's value (negatives are loaded as published).
SELECT raw_id, source_file, source_sheet, source_cell, reporter_iso3, partner_iso3, flow, period, value_usd
FROM canonical.observations
