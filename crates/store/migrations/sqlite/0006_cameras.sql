-- Video-surveillance cameras of a territory (the register the planning tools read).
CREATE TABLE cameras (
    id            INTEGER PRIMARY KEY,
    territory_id  INTEGER NOT NULL REFERENCES territories(id),
    external_id   TEXT NOT NULL,
    lat           REAL NOT NULL,
    lon           REAL NOT NULL,
    bearing_deg   REAL NOT NULL,
    fov_deg       REAL NOT NULL,
    range_m       REAL NOT NULL,
    owner         TEXT NOT NULL,
    link          TEXT NOT NULL,
    archive_days  INTEGER NOT NULL,
    status        TEXT NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (territory_id, external_id)
);
