-- Frame for check flow_valuation_freq_period_valid: one row per observation, with period_ok saying
-- whether period matches freq and year (A: YYYY; Q: YYYYQn; M: YYYYMM with month 1-12) and the
-- year is within [first_year, this year]. Parameters: $first_year.
SELECT
    raw_id, source_file, source_sheet, source_cell, reporter_iso3, partner_iso3, flow, valuation, freq, period,
    coalesce(
        CASE freq
            WHEN 'A' THEN period = CAST(year AS VARCHAR) AND month IS NULL
            WHEN 'Q' THEN regexp_full_match(period, CAST(year AS VARCHAR) || 'Q[1-4]') AND month IS NULL
            WHEN 'M' THEN period = printf('%04d%02d', year, month) AND month BETWEEN 1 AND 12
        END
        AND year BETWEEN $first_year AND year(current_date),
        false
    ) AS period_ok
FROM canonical.observations
