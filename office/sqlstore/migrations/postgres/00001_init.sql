-- The first schema of head office's store (docs/office.md, "Data model").
-- Times are Unix milliseconds (visits: seconds), days local YYYY-MM-DD text.

-- +goose Up
-- One row per visit event, however often it was delivered.
CREATE TABLE visits (
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    at BIGINT NOT NULL,
    day TEXT NOT NULL,
    hour SMALLINT NOT NULL,
    zone TEXT NOT NULL,
    device_day TEXT NOT NULL,
    device_offset INTEGER,
    period TEXT NOT NULL,
    visitor TEXT NOT NULL,
    is_new BOOLEAN NOT NULL,
    visits INTEGER NOT NULL,
    days INTEGER NOT NULL,
    regular BOOLEAN NOT NULL,
    became_regular BOOLEAN NOT NULL,
    confidence DOUBLE PRECISION NOT NULL,
    schema_version INTEGER NOT NULL,
    received BIGINT NOT NULL
);
CREATE INDEX visits_day ON visits (day, site, device);

-- The sums of the visits per shop, box and local day, with visits per
-- local hour: always exactly what the visits table holds. Kept in day
-- order: the dashboard reads ranges of days of every shop.
CREATE TABLE daily (
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    day TEXT NOT NULL,
    visits INTEGER NOT NULL,
    new_visitors INTEGER NOT NULL,
    returning_visits INTEGER NOT NULL,
    regular_visits INTEGER NOT NULL,
    became_regular INTEGER NOT NULL,
    h00 INTEGER NOT NULL DEFAULT 0,
    h01 INTEGER NOT NULL DEFAULT 0,
    h02 INTEGER NOT NULL DEFAULT 0,
    h03 INTEGER NOT NULL DEFAULT 0,
    h04 INTEGER NOT NULL DEFAULT 0,
    h05 INTEGER NOT NULL DEFAULT 0,
    h06 INTEGER NOT NULL DEFAULT 0,
    h07 INTEGER NOT NULL DEFAULT 0,
    h08 INTEGER NOT NULL DEFAULT 0,
    h09 INTEGER NOT NULL DEFAULT 0,
    h10 INTEGER NOT NULL DEFAULT 0,
    h11 INTEGER NOT NULL DEFAULT 0,
    h12 INTEGER NOT NULL DEFAULT 0,
    h13 INTEGER NOT NULL DEFAULT 0,
    h14 INTEGER NOT NULL DEFAULT 0,
    h15 INTEGER NOT NULL DEFAULT 0,
    h16 INTEGER NOT NULL DEFAULT 0,
    h17 INTEGER NOT NULL DEFAULT 0,
    h18 INTEGER NOT NULL DEFAULT 0,
    h19 INTEGER NOT NULL DEFAULT 0,
    h20 INTEGER NOT NULL DEFAULT 0,
    h21 INTEGER NOT NULL DEFAULT 0,
    h22 INTEGER NOT NULL DEFAULT 0,
    h23 INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, site, device)
);
CREATE INDEX daily_site ON daily (site, device, day);

-- The daily rollups summed per shop, box and month, and per day over the
-- whole chain, in the same transactions: a year of 1,000 shops is then
-- 12,000 and 365 rows.
CREATE TABLE monthly (
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    month TEXT NOT NULL,
    visits BIGINT NOT NULL,
    new_visitors BIGINT NOT NULL,
    returning_visits BIGINT NOT NULL,
    regular_visits BIGINT NOT NULL,
    became_regular BIGINT NOT NULL,
    PRIMARY KEY (month, site, device)
);

CREATE TABLE chain_daily (
    day TEXT PRIMARY KEY,
    visits BIGINT NOT NULL,
    new_visitors BIGINT NOT NULL,
    returning_visits BIGINT NOT NULL,
    regular_visits BIGINT NOT NULL,
    became_regular BIGINT NOT NULL,
    h00 BIGINT NOT NULL DEFAULT 0,
    h01 BIGINT NOT NULL DEFAULT 0,
    h02 BIGINT NOT NULL DEFAULT 0,
    h03 BIGINT NOT NULL DEFAULT 0,
    h04 BIGINT NOT NULL DEFAULT 0,
    h05 BIGINT NOT NULL DEFAULT 0,
    h06 BIGINT NOT NULL DEFAULT 0,
    h07 BIGINT NOT NULL DEFAULT 0,
    h08 BIGINT NOT NULL DEFAULT 0,
    h09 BIGINT NOT NULL DEFAULT 0,
    h10 BIGINT NOT NULL DEFAULT 0,
    h11 BIGINT NOT NULL DEFAULT 0,
    h12 BIGINT NOT NULL DEFAULT 0,
    h13 BIGINT NOT NULL DEFAULT 0,
    h14 BIGINT NOT NULL DEFAULT 0,
    h15 BIGINT NOT NULL DEFAULT 0,
    h16 BIGINT NOT NULL DEFAULT 0,
    h17 BIGINT NOT NULL DEFAULT 0,
    h18 BIGINT NOT NULL DEFAULT 0,
    h19 BIGINT NOT NULL DEFAULT 0,
    h20 BIGINT NOT NULL DEFAULT 0,
    h21 BIGINT NOT NULL DEFAULT 0,
    h22 BIGINT NOT NULL DEFAULT 0,
    h23 BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE devices (
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    status_at BIGINT NOT NULL DEFAULT 0,
    version TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT '',
    last_seen BIGINT NOT NULL DEFAULT 0,
    last_visit BIGINT NOT NULL DEFAULT 0,
    stats TEXT NOT NULL DEFAULT '',
    stats_at BIGINT NOT NULL DEFAULT 0,
    stats_day TEXT NOT NULL DEFAULT '',
    stats_visits BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (site, device)
);

CREATE TABLE quarantine (
    hash TEXT PRIMARY KEY,
    topic TEXT NOT NULL,
    payload BYTEA NOT NULL,
    reason TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    times BIGINT NOT NULL
);
CREATE INDEX quarantine_last ON quarantine (last_seen);

-- Shops' IANA zones; site '*' is the default.
CREATE TABLE sites (
    site TEXT PRIMARY KEY,
    zone TEXT NOT NULL
);

-- +goose Down
DROP TABLE sites;
DROP TABLE quarantine;
DROP TABLE devices;
DROP TABLE chain_daily;
DROP TABLE monthly;
DROP TABLE daily;
DROP TABLE visits;
