-- Frame for check flow_valuation_freq_period_valid: observations summarised per distinct
-- (source, vintage, flow, valuation, freq, period, year, month); `rows` observations share each
-- row's values, so a row passes or fails for all of them. period_ok says whether period matches
-- freq and year (A: YYYY; Q: YYYYQn; M: YYYYMM with month 1-12) and the year is within
-- [first_year, this year]. Parameters: $first_year. The observations behind a failing row:
-- period_valid_rows.sql.
SELECT row_number() OVER (ORDER BY summary) AS group_id, *  -- the same ids for the same rows
FROM (
    SELECT
        source, vintage, flow, valuation, freq, period, year, month,
        coalesce(
            CASE freq
                WHEN 'A' THEN period = CAST(year AS VARCHAR) AND month IS NULL
                WHEN 'Q' THEN regexp_full_match(period, CAST(year AS VARCHAR) || 'Q[1-4]') AND month IS NULL
                WHEN 'M' THEN period = printf('%04d%02d', year, month) AND month BETWEEN 1 AND 12
            END
            AND year BETWEEN $first_year AND year(current_date),
            false
        ) AS period_ok,
        rows
    FROM (  -- grouped first, so period_ok is worked out once per group, not for every observation
        SELECT source, vintage, flow, valuation, freq, period, year, month, count(*) AS rows
        FROM canonical.observations
        GROUP BY ALL
    )
) summary
