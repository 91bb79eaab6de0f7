-- The OpenStreetMap extract a territory's street network and places come from, kept whole:
-- the planning tools rebuild the routable graph from it (a city's extract parses in well under a second).
CREATE TABLE street_sources (
    territory_id  INTEGER PRIMARY KEY REFERENCES territories(id),
    file_name     TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    bytes         BLOB NOT NULL,
    summary       TEXT NOT NULL,
    imported_at   INTEGER NOT NULL
);
