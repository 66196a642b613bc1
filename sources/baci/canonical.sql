-- A BACI-shaped partition's raw rows ({raw}: t, i, j, k, v, q plus the partition keys source,
-- classification, year, vintage and the input file's name source_file) -> product observations
-- (warehouse.schema.PRODUCT_OBSERVATIONS) with `reason` set on the rows that cannot load. {codes} maps
-- UN Comtrade numeric codes (source_code) to entity codes (code, entity_type).
-- BACI's row is exporter i's exports to importer j of product k in year t, FOB, as CEPII reconciles
-- both sides' declarations: reporter i, flow X. value_usd = v x 1000, exact.
-- Read by the product views (every query) and by the load's audit (its counts), so both apply one rule.
SELECT
    r.source,
    r.vintage,
    r.classification,
    r.year,
    e.code AS reporter_iso3,
    e.entity_type AS reporter_type,
    m.code AS partner_iso3,
    m.entity_type AS partner_type,
    'X' AS flow,
    'FOB' AS valuation,
    'A' AS freq,
    CAST(r.t AS VARCHAR) AS period,
    -- BACI writes k as a number in some versions (10121 is HS 010121): padded back to six digits
    lpad(trim(r.k), 6, '0') AS cmd_code,
    'HS6' AS product_level,
    CAST(r.v * 1000 AS DECIMAL(18, 2)) AS value_usd,
    r.v AS original_value,
    r.q AS quantity_t,
    'baci_reconciled' AS derivation,
    r.source_file,
    r.i AS exporter_code,
    r.j AS importer_code,
    r.k AS product_as_published,
    CASE
        WHEN e.code IS NULL OR m.code IS NULL THEN 'unmapped_code'
        WHEN r.t IS DISTINCT FROM r.year THEN 'year_mismatch'
        WHEN length(trim(r.k)) NOT IN (5, 6) OR TRY_CAST(trim(r.k) AS INTEGER) IS NULL THEN 'invalid_cmd_code'
        WHEN r.v IS NULL THEN 'missing_value'
        WHEN r.v < 0 THEN 'negative_value'
    END AS reason
FROM {raw} r
LEFT JOIN {codes} e ON e.source_code = r.i
LEFT JOIN {codes} m ON m.source_code = r.j
