-- Frame for warning historical_after_end: observations whose reporter or partner is a former
-- country, summarised per source, vintage, reporter, partner and flow: the most years any of them
-- lies after the country ceased to exist (<= 0 while it existed), and how many do.
-- The observations behind a failing row: historical_after_end_rows.sql.
WITH late AS (
    SELECT o.source, o.vintage, o.reporter_iso3, o.partner_iso3, o.flow,
           greatest(
               coalesce(o.year - year(r.valid_to), -9999),
               coalesce(o.year - year(p.valid_to), -9999)
           ) AS years_after_end
    FROM canonical.observations o
    LEFT JOIN (SELECT DISTINCT code, valid_to FROM ref.crosswalk WHERE entity_type = 'historical') r ON r.code = o.reporter_iso3
    LEFT JOIN (SELECT DISTINCT code, valid_to FROM ref.crosswalk WHERE entity_type = 'historical') p ON p.code = o.partner_iso3
    WHERE r.code IS NOT NULL OR p.code IS NOT NULL
)
SELECT row_number() OVER (ORDER BY summary) AS group_id, *  -- the same ids for the same rows
FROM (
    SELECT source, vintage, reporter_iso3, partner_iso3, flow, max(years_after_end) AS max_years_after_end,
           count(*) AS rows, count(*) FILTER (WHERE years_after_end > 0) AS late_rows
    FROM late
    GROUP BY ALL
) summary
