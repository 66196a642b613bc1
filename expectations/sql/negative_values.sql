-- Frame for warning negative_values: per source, vintage, reporter and flow, the smallest value and
-- how many observations are negative (negatives are loaded as published and flagged is_negative).
-- The observations behind a failing row: negative_values_rows.sql.
SELECT row_number() OVER (ORDER BY summary) AS group_id, *  -- the same ids for the same rows
FROM (
    SELECT source, vintage, reporter_iso3, flow, min(value_usd) AS min_value_usd,
           count(*) AS rows, count(*) FILTER (WHERE value_usd < 0) AS negative_rows
    FROM canonical.observations
    GROUP BY ALL
) summary
