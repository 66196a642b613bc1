-- The product-level growth question (warehouse.queries.product_group_growth, tradewh product-growth):
-- how each member of a group (ref.group_membership, dated: a member in year Y joined on or before
-- 31 December Y and had not left by then) traded products of one HS chapter with one partner, year
-- by year, from the bulk product store's latest releases (canonical.product_observations_latest), in
-- ONE HS revision: a bulk source publishes the same year in several revisions, which are the same
-- trade in other nomenclatures and must never be added together.
-- A member's exports are its rows as reporter; its imports are the partner's exports to it (BACI gives
-- one reconciled value per exporter, importer and product). Rows: member_iso3 (the group code for the
-- group's total), year, exports_usd, imports_usd, trade_usd, growth_pct (trade on the year before;
-- NULL when that year has no trade), members (in the group that year).
-- Parameters: $classification, $group, $members (every member in any of the years, as a list: a
-- constant list lets DuckDB skip the Parquet row groups of other reporters, a subquery would not),
-- $partner, $chapter, $first_year, $last_year.
WITH members AS (
    SELECT DISTINCT m.member_iso3, CAST(y.year AS SMALLINT) AS year
    FROM ref.group_membership m, range($first_year - 1, $last_year + 1) y(year)
    WHERE m.group_code = $group
      AND m.joined_on <= make_date(CAST(y.year AS INTEGER), 12, 31)
      AND (m.left_on IS NULL OR m.left_on > make_date(CAST(y.year AS INTEGER), 12, 31))
),
flows AS (
    SELECT o.year, o.reporter_iso3 AS member_iso3, o.value_usd AS exports_usd, CAST(0 AS DECIMAL(18, 2)) AS imports_usd
    FROM canonical.product_observations_latest o
    WHERE o.classification = $classification AND o.partner_iso3 = $partner
      AND o.year BETWEEN $first_year - 1 AND $last_year AND starts_with(o.cmd_code, $chapter)
      AND list_contains($members, o.reporter_iso3)
    UNION ALL
    SELECT o.year, o.partner_iso3, 0, o.value_usd
    FROM canonical.product_observations_latest o
    WHERE o.classification = $classification AND o.reporter_iso3 = $partner
      AND o.year BETWEEN $first_year - 1 AND $last_year AND starts_with(o.cmd_code, $chapter)
      AND list_contains($members, o.partner_iso3)
),
by_member AS (
    SELECT f.member_iso3, f.year, sum(f.exports_usd) AS exports_usd, sum(f.imports_usd) AS imports_usd
    FROM flows f JOIN members m ON m.member_iso3 = f.member_iso3 AND m.year = f.year
    GROUP BY ALL
),
with_group AS (
    SELECT member_iso3, year, exports_usd, imports_usd, 1 AS members FROM by_member
    UNION ALL
    SELECT $group, m.year, coalesce(sum(b.exports_usd), 0), coalesce(sum(b.imports_usd), 0), count(DISTINCT m.member_iso3)
    FROM members m LEFT JOIN by_member b USING (member_iso3, year)
    GROUP BY m.year
)
SELECT w.member_iso3, w.year, w.exports_usd, w.imports_usd, w.exports_usd + w.imports_usd AS trade_usd,
       round(100 * ((w.exports_usd + w.imports_usd) / nullif(p.exports_usd + p.imports_usd, 0) - 1), 2) AS growth_pct,
       w.members
FROM with_group w
LEFT JOIN with_group p ON p.member_iso3 = w.member_iso3 AND p.year = w.year - 1
WHERE w.year >= $first_year
ORDER BY (w.member_iso3 = $group) DESC, w.member_iso3, w.year
