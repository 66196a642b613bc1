-- Frame for blocking check release_constant_factor: every release of a reporter against the
-- previous release of the same source, per flow, period and product: the ratio new / previous for
-- each partner both releases have (both positive), summarised per reporter-period. A reporter-period
-- whose partners all moved by nearly the same factor (median outside [$low, $high], p90/p10 below
-- $max_spread, at least $min_partners partners) is a unit, scale or currency error (x1000, /1000, an
-- exchange rate), not a revision: real revisions move partners by different amounts. Estimates count:
-- a release is compared with its own predecessor, not with another reporter's figures.
WITH multi AS (  -- reporters with more than one release of a source: the only ones with pairs
    SELECT source, reporter_iso3
    FROM canonical.observations
    GROUP BY ALL
    HAVING count(DISTINCT vintage) > 1
), obs AS (
    SELECT o.source, o.reporter_iso3, o.partner_iso3, o.flow, o.freq, o.period, o.cmd_code, o.vintage,
           o.value_usd, o.source_file
    FROM canonical.observations o SEMI JOIN multi USING (source, reporter_iso3)
    WHERE o.value_usd > 0
), pairs AS (
    SELECT *, lag(vintage) OVER (PARTITION BY source, reporter_iso3, flow, freq, period, cmd_code ORDER BY vintage) AS previous_vintage
    FROM (SELECT DISTINCT source, reporter_iso3, flow, freq, period, cmd_code, vintage FROM obs)
), ratios AS (
    SELECT p.*, n.partner_iso3, n.source_file, o.source_file AS previous_file, n.value_usd / o.value_usd AS ratio
    FROM pairs p
    JOIN obs n ON n.source = p.source AND n.reporter_iso3 = p.reporter_iso3 AND n.flow = p.flow AND n.freq = p.freq
        AND n.period = p.period AND n.cmd_code = p.cmd_code AND n.vintage = p.vintage
    JOIN obs o ON o.source = p.source AND o.reporter_iso3 = p.reporter_iso3 AND o.flow = p.flow AND o.freq = p.freq
        AND o.period = p.period AND o.cmd_code = p.cmd_code AND o.vintage = p.previous_vintage
        AND o.partner_iso3 = n.partner_iso3
    WHERE p.previous_vintage IS NOT NULL
), groups AS (
    SELECT source::VARCHAR AS source, reporter_iso3::VARCHAR AS reporter_iso3, flow::VARCHAR AS flow,
           period::VARCHAR AS period, cmd_code::VARCHAR AS cmd_code, vintage, previous_vintage,
           string_agg(DISTINCT source_file::VARCHAR, ', ' ORDER BY source_file::VARCHAR) AS source_file,
           string_agg(DISTINCT previous_file::VARCHAR, ', ' ORDER BY previous_file::VARCHAR) AS previous_file,
           count(*) AS partners,
           quantile_cont(ratio, [0.1, 0.5, 0.9]) AS q
    FROM ratios
    GROUP BY ALL
    HAVING count(*) >= $min_partners
)
SELECT * EXCLUDE (q), q[2] AS median_ratio, q[1] AS p10, q[3] AS p90, q[3] / q[1] AS spread,
       (q[2] < $low OR q[2] > $high) AND q[3] / q[1] < $max_spread AS constant_factor
FROM groups
