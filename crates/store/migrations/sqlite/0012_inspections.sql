-- Inspections of protected facilities; each finding becomes an assignment.
CREATE TABLE inspections (
    id           INTEGER PRIMARY KEY,
    facility_id  INTEGER NOT NULL REFERENCES facilities(id),
    held_on      TEXT NOT NULL,
    inspector    TEXT NOT NULL,
    summary      TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE inspection_findings (
    id             INTEGER PRIMARY KEY,
    inspection_id  INTEGER NOT NULL REFERENCES inspections(id),
    text           TEXT NOT NULL,
    assignment_id  INTEGER NOT NULL REFERENCES assignments(id)
);
