-- The observations behind the failing rows of period_valid.sql (relation failing).
SELECT o.raw_id, o.source_file, o.source_sheet, o.source_cell, o.flow, o.valuation, o.freq, o.period
FROM canonical.observations o
JOIN failing f
  ON o.source = f.source AND o.vintage = f.vintage
 AND o.flow IS NOT DISTINCT FROM f.flow AND o.valuation IS NOT DISTINCT FROM f.valuation
 AND o.freq IS NOT DISTINCT FROM f.freq AND o.period IS NOT DISTINCT FROM f.period
 AND o.year IS NOT DISTINCT FROM f.year AND o.month IS NOT DISTINCT FROM f.month
ORDER BY o.raw_id
