-- Prevention measures to evaluate: a place (centre and radius), a start date, a kind, and the
-- assignment that ordered it.
CREATE TABLE interventions (
    id             INTEGER PRIMARY KEY,
    territory_id   INTEGER NOT NULL REFERENCES territories(id),
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    starts_on      TEXT NOT NULL,
    lat            REAL NOT NULL,
    lon            REAL NOT NULL,
    radius_m       REAL NOT NULL,
    assignment_id  INTEGER REFERENCES assignments(id),
    note           TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    UNIQUE (territory_id, name)
);
