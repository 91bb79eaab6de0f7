-- Video-surveillance cameras of a territory (the register the planning tools read).
CREATE TABLE cameras (
    id            BIGSERIAL PRIMARY KEY,
    territory_id  BIGINT NOT NULL REFERENCES territories(id),
    external_id   TEXT NOT NULL,
    lat           DOUBLE PRECISION NOT NULL,
    lon           DOUBLE PRECISION NOT NULL,
    bearing_deg   DOUBLE PRECISION NOT NULL,
    fov_deg       DOUBLE PRECISION NOT NULL,
    range_m       DOUBLE PRECISION NOT NULL,
    owner         TEXT NOT NULL,
    link          TEXT NOT NULL,
    archive_days  INTEGER NOT NULL,
    status        TEXT NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (territory_id, external_id)
);
