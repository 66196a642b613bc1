-- Release-aware views over canonical.observations. Loaded after the tables are filled.
-- Their descriptions (stored as COMMENTs) are in warehouse/schema.py: VIEWS.
--
-- A release replaces a reporter's whole series from that source: a DOTS workbook is one reporter,
-- every partner and year. So "latest" picks, per source and reporter, the newest vintage, and takes
-- all of its rows; an observation the newer release no longer has is not filled in from an older
-- one, and one reporter's figures never mix two releases.

CREATE VIEW canonical.observations_latest AS
SELECT o.*
FROM canonical.observations o
JOIN (
    SELECT source, reporter_iso3, max(vintage) AS vintage
    FROM canonical.observations
    GROUP BY source, reporter_iso3
) r USING (source, reporter_iso3, vintage);

-- As of a date: what the warehouse would have answered with the releases published on or before
-- that date. SELECT * FROM canonical.observations_asof(DATE '2022-03-01');
CREATE MACRO canonical.observations_asof(as_of) AS TABLE
SELECT o.*
FROM canonical.observations o
JOIN (
    SELECT source, reporter_iso3, max(vintage) AS vintage
    FROM canonical.observations
    WHERE vintage <= as_of
    GROUP BY source, reporter_iso3
) r USING (source, reporter_iso3, vintage);
