-- The first schema of head office's store (docs/office.md, "Data model").
-- Times are Unix milliseconds (visits: seconds), days local YYYY-MM-DD text.

-- +goose Up
-- One row per visit event, however often it was delivered.
CREATE TABLE visits (
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    at INTEGER NOT NULL,
    day TEXT NOT NULL,
    hour INTEGER NOT NULL,
    zone TEXT NOT NULL,
    device_day TEXT NOT NULL,
    device_offset INTEGER,
    period TEXT NOT NULL,
    visitor TEXT NOT NULL,
    is_new INTEGER NOT NULL,
    visits INTEGER NOT NULL,
    days INTEGER NOT NULL,
    regular INTEGER NOT NULL,
    became_regular INTEGER NOT NULL,
    confidence REAL NOT NULL,
    schema_version INTEGER NOT NULL,
    received INTEGER NOT NULL
) WITHOUT ROWID;
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
) WITHOUT ROWID;
CREATE INDEX daily_site ON daily (site, device, day);

-- The daily rollups summed per shop, box and month, and per day over the
-- whole chain, in the same transactions: a year of 1,000 shops is then
-- 12,000 and 365 rows.
CREATE TABLE monthly (
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    month TEXT NOT NULL,
    visits INTEGER NOT NULL,
    new_visitors INTEGER NOT NULL,
    returning_visits INTEGER NOT NULL,
    regular_visits INTEGER NOT NULL,
    became_regular INTEGER NOT NULL,
    PRIMARY KEY (month, site, device)
) WITHOUT ROWID;

CREATE TABLE chain_daily (
    day TEXT PRIMARY KEY,
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
    h23 INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE devices (
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    status_at INTEGER NOT NULL DEFAULT 0,
    version TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT '',
    last_seen INTEGER NOT NULL DEFAULT 0,
    last_visit INTEGER NOT NULL DEFAULT 0,
    stats TEXT NOT NULL DEFAULT '',
    stats_at INTEGER NOT NULL DEFAULT 0,
    stats_day TEXT NOT NULL DEFAULT '',
    stats_visits INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site, device)
) WITHOUT ROWID;

CREATE TABLE quarantine (
    hash TEXT PRIMARY KEY,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    reason TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    times INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX quarantine_last ON quarantine (last_seen);

-- Shops' IANA zones; site '*' is the default.
CREATE TABLE sites (
    site TEXT PRIMARY KEY,
    zone TEXT NOT NULL
) WITHOUT ROWID;

-- +goose Down
DROP TABLE sites;
DROP TABLE quarantine;
DROP TABLE devices;
DROP TABLE chain_daily;
DROP TABLE monthly;
DROP TABLE daily;
DROP TABLE visits;
