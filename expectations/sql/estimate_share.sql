-- Frame for warning estimate_share_high: per source, vintage and country reporter, the share of its
-- observations that the source published as estimates.
SELECT source, vintage, reporter_iso3, count(*) AS observations, avg(CAST(is_estimated AS DOUBLE)) AS estimated_share
FROM canonical.observations
WHERE reporter_type = 'country' AND cmd_code = 'TOTAL'
GROUP BY ALL
