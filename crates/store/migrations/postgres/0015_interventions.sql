-- Prevention measures to evaluate: a place (centre and radius), a start date, a kind, and the
-- assignment that ordered it.
CREATE TABLE interventions (
    id             BIGSERIAL PRIMARY KEY,
    territory_id   BIGINT NOT NULL REFERENCES territories(id),
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    starts_on      TEXT NOT NULL,
    lat            DOUBLE PRECISION NOT NULL,
    lon            DOUBLE PRECISION NOT NULL,
    radius_m       DOUBLE PRECISION NOT NULL,
    assignment_id  BIGINT REFERENCES assignments(id),
    note           TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    UNIQUE (territory_id, name)
);
