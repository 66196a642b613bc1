-- Frame for blocking check release_constant_factor: every release of a reporter against the
-- release it replaced (canonical.release_pairs(): the values' previous_vintage): the
-- ratio new / previous for each partner both releases have (both positive), summarised per
-- reporter-period. A reporter-period whose partners all moved by nearly the same factor (median
-- outside [$low, $high], p90/p10 below $max_spread, at least $min_partners partners) is a unit,
-- scale or currency error (x1000, /1000, an exchange rate), not a revision: real revisions move
-- partners by different amounts. Estimates count: a release is compared with its own predecessor,
-- not with another reporter's figures.
WITH ratios AS (  -- the pairs of releases, canonical.release_pairs(): both values there and positive
    SELECT *, value_usd / previous_value_usd AS ratio
    FROM canonical.release_pairs()
    WHERE value_usd > 0 AND previous_value_usd > 0
), groups AS (
    SELECT source::VARCHAR AS source, reporter_iso3::VARCHAR AS reporter_iso3, flow::VARCHAR AS flow,
           period::VARCHAR AS period, cmd_code::VARCHAR AS cmd_code, classification::VARCHAR AS classification,
           vintage, previous_vintage,
           string_agg(DISTINCT source_file::VARCHAR, ', ' ORDER BY source_file::VARCHAR) AS source_file,
           string_agg(DISTINCT previous_source_file::VARCHAR, ', ' ORDER BY previous_source_file::VARCHAR) AS previous_file,
           count(*) AS partners,
           quantile_cont(ratio, [0.1, 0.5, 0.9]) AS q
    FROM ratios
    GROUP BY ALL
    HAVING count(*) >= $min_partners
)
SELECT * EXCLUDE (q), q[2] AS median_ratio, q[1] AS p10, q[3] AS p90, q[3] / q[1] AS spread,
       (q[2] < $low OR q[2] > $high) AND q[3] / q[1] < $max_spread AS constant_factor
FROM groups
