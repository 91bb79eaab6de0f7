-- Inspections of protected facilities; each finding becomes an assignment.
CREATE TABLE inspections (
    id           BIGSERIAL PRIMARY KEY,
    facility_id  BIGINT NOT NULL REFERENCES facilities(id),
    held_on      TEXT NOT NULL,
    inspector    TEXT NOT NULL,
    summary      TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE inspection_findings (
    id             BIGSERIAL PRIMARY KEY,
    inspection_id  BIGINT NOT NULL REFERENCES inspections(id),
    text           TEXT NOT NULL,
    assignment_id  BIGINT NOT NULL REFERENCES assignments(id)
);
