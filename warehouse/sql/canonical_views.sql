-- Release-aware views over canonical.observations. Loaded after the tables are filled.
-- Their descriptions (stored as COMMENTs) are in warehouse/schema.py: VIEWS.
--
-- What a newer release replaces is the source's release scope (ref.sources.release_scope):
--   reporter     a release replaces, for each reporter, flow and period it publishes, every partner:
--                a DOTS workbook is one reporter, every partner and year, so a partner the newer
--                release no longer lists is not filled in from an older one, and one reporter's
--                figures for a period never mix two releases;
--   observation  a release replaces only the observations it contains (an answer to a query for some
--                partners, such as a Comtrade extract, says nothing about the partners not asked).
-- So "latest" keeps, per source and release slice, the rows of the newest vintage.

CREATE VIEW canonical.observations_latest AS
SELECT o.*
FROM canonical.observations o
JOIN ref.sources s USING (source)
QUALIFY o.vintage = max(o.vintage) OVER (
    PARTITION BY o.source, o.reporter_iso3, o.flow, o.freq, o.period,
        CASE WHEN s.release_scope = 'observation' THEN o.partner_iso3 END,
        CASE WHEN s.release_scope = 'observation' THEN o.cmd_code END
);

-- As of a date: what the warehouse would have answered with the releases published on or before
-- that date. SELECT * FROM canonical.observations_asof(DATE '2022-03-01');
CREATE MACRO canonical.observations_asof(as_of) AS TABLE
SELECT o.*
FROM canonical.observations o
JOIN ref.sources s USING (source)
WHERE o.vintage <= as_of
QUALIFY o.vintage = max(o.vintage) OVER (
    PARTITION BY o.source, o.reporter_iso3, o.flow, o.freq, o.period,
        CASE WHEN s.release_scope = 'observation' THEN o.partner_iso3 END,
        CASE WHEN s.release_scope = 'observation' THEN o.cmd_code END
);
