-- Territories, districts, import batches and incidents (PostgreSQL).
-- occurred_end is exclusive.

CREATE TABLE territories (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    time_zone     TEXT NOT NULL,
    boundary      TEXT,            -- GeoJSON MultiPolygon, WGS84
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE districts (
    id            BIGSERIAL PRIMARY KEY,
    territory_id  BIGINT NOT NULL REFERENCES territories(id),
    name          TEXT NOT NULL,
    parent_id     BIGINT REFERENCES districts(id),
    boundary      TEXT,            -- GeoJSON MultiPolygon, WGS84
    UNIQUE (territory_id, name)
);

CREATE TABLE import_batches (
    id                      BIGSERIAL PRIMARY KEY,
    territory_id            BIGINT NOT NULL REFERENCES territories(id),
    file_name               TEXT NOT NULL,
    checksum                TEXT NOT NULL,
    format                  TEXT NOT NULL,
    rows_read               BIGINT NOT NULL,
    rows_imported           BIGINT NOT NULL,
    rows_identical_in_file  BIGINT NOT NULL,
    rows_already_present    BIGINT NOT NULL,
    rows_rejected           BIGINT NOT NULL,
    imported_by             TEXT NOT NULL,
    imported_at             TIMESTAMPTZ NOT NULL,
    UNIQUE (territory_id, checksum)
);

-- incidents carries no FOREIGN KEY constraints, on purpose: per-row
-- referential checks tripled PostgreSQL's bulk-import time. Its parents are
-- written in the same transaction as the rows that point at them and are
-- never deleted; Store::check_integrity() verifies there are no orphans.
CREATE TABLE incidents (
    id              BIGSERIAL PRIMARY KEY,
    territory_id    BIGINT NOT NULL,   -- territories(id), see below
    batch_id        BIGINT NOT NULL,   -- import_batches(id)
    row_key         BYTEA NOT NULL,
    source_line     BIGINT NOT NULL,
    external_id     TEXT,
    category        TEXT NOT NULL,
    subcategory     TEXT,
    occurred_start  TIMESTAMPTZ NOT NULL,
    occurred_end    TIMESTAMPTZ NOT NULL,
    time_precision  TEXT NOT NULL CHECK (time_precision IN ('minute', 'hour', 'day', 'month', 'window')),
    local_month     INTEGER NOT NULL,  -- yyyymm of occurred_start in the territory's zone
    lat             DOUBLE PRECISION NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon             DOUBLE PRECISION NOT NULL CHECK (lon BETWEEN -180 AND 180),
    district_id     BIGINT,            -- districts(id)
    premises        TEXT,
    CHECK (occurred_end > occurred_start)
);

CREATE UNIQUE INDEX incidents_row_identity ON incidents (territory_id, row_key);
CREATE INDEX incidents_by_time ON incidents (territory_id, occurred_start);
