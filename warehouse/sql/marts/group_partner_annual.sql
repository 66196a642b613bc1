-- marts.group_partner_annual: a group's trade with each partner per flow and year, summed over the
-- members at that year's end (composition 'yearly'), on the reporter basis; members_with_data
-- says how many of them reported. For a partner that is itself a member: the other members (members
-- excludes it).
WITH members AS (
    SELECT g.group_code, g.member_iso3, y.year
    FROM ref.group_membership g
    JOIN (SELECT DISTINCT year FROM marts.bilateral_annual) y
      ON g.joined_on <= make_date(y.year, 12, 31) AND (g.left_on IS NULL OR g.left_on > make_date(y.year, 12, 31))
), n AS (
    SELECT group_code, year, count(*) AS members FROM members GROUP BY ALL
)
SELECT b.source, m.group_code, b.partner_iso3, b.flow, b.year,
       n.members - CASE WHEN b.partner_iso3 IN (SELECT member_iso3 FROM members x WHERE x.group_code = m.group_code AND x.year = b.year)
                        THEN 1 ELSE 0 END AS members,
       count(DISTINCT b.reporter_iso3) FILTER (WHERE b.value_usd IS NOT NULL) AS members_with_data,
       sum(b.value_usd) AS value_usd,
       coalesce(sum(b.value_usd) FILTER (WHERE b.is_estimated), 0) AS estimated_usd
FROM marts.bilateral_annual b
JOIN members m ON m.member_iso3 = b.reporter_iso3 AND m.year = b.year
JOIN n ON n.group_code = m.group_code AND n.year = b.year
WHERE b.value_usd IS NOT NULL
GROUP BY ALL
