-- Police posts and mobile points of a territory (the register the post planning reads).
CREATE TABLE police_posts (
    id            INTEGER PRIMARY KEY,
    territory_id  INTEGER NOT NULL REFERENCES territories(id),
    external_id   TEXT NOT NULL,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    lat           REAL NOT NULL,
    lon           REAL NOT NULL,
    schedule      TEXT NOT NULL,
    vehicle       TEXT,
    officers      INTEGER NOT NULL,
    status        TEXT NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (territory_id, external_id)
);

-- District inspectors' beats: a territory's current beat map (replaced whole by an import).
CREATE TABLE beats (
    id            INTEGER PRIMARY KEY,
    territory_id  INTEGER NOT NULL REFERENCES territories(id),
    name          TEXT NOT NULL,
    inspector     TEXT,
    boundary      TEXT NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (territory_id, name)
);

-- Saved plans (scenarios): what was asked and what the optimiser answered, kept as JSON.
CREATE TABLE plan_scenarios (
    id            INTEGER PRIMARY KEY,
    territory_id  INTEGER NOT NULL REFERENCES territories(id),
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL,
    params        TEXT NOT NULL,
    result        TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX plan_scenarios_territory ON plan_scenarios (territory_id, id);
