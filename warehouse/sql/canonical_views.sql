-- Release-aware views over canonical.observations. Loaded after the tables are filled.
-- Their descriptions (stored as COMMENTs) are in warehouse/schema.py: VIEWS.

-- The newest release of every observation: for each key (without vintage), the row of the
-- latest vintage. Use this unless you need to reproduce a figure from an older release.
CREATE VIEW canonical.observations_latest AS
SELECT * EXCLUDE (rn) FROM (
    SELECT o.*, row_number() OVER (
        PARTITION BY source, reporter_iso3, partner_iso3, flow, freq, period, cmd_code
        ORDER BY vintage DESC) AS rn
    FROM canonical.observations o
) WHERE rn = 1;

-- As of a date: what the warehouse would have answered with the releases published on or before
-- that date. SELECT * FROM canonical.observations_asof(DATE '2022-03-01');
CREATE MACRO canonical.observations_asof(as_of) AS TABLE
SELECT * EXCLUDE (rn) FROM (
    SELECT o.*, row_number() OVER (
        PARTITION BY source, reporter_iso3, partner_iso3, flow, freq, period, cmd_code
        ORDER BY vintage DESC) AS rn
    FROM canonical.observations o
    WHERE vintage <= as_of
) WHERE rn = 1;
