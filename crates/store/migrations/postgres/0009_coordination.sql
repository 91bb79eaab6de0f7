-- Inter-agency coordination: bodies, their meetings, and assignments tracked to execution.
-- Times are Unix seconds (UTC); dates are YYYY-MM-DD text (they compare as text).
CREATE TABLE bodies (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE body_members (
    body_id     BIGINT NOT NULL REFERENCES bodies(id),
    agency      TEXT NOT NULL,
    person      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (body_id, agency, person)
);

CREATE TABLE meetings (
    id          BIGSERIAL PRIMARY KEY,
    body_id     BIGINT NOT NULL REFERENCES bodies(id),
    held_on     TEXT NOT NULL,
    number      TEXT NOT NULL,
    agenda      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (body_id, number)
);

CREATE TABLE assignments (
    id              BIGSERIAL PRIMARY KEY,
    body_id         BIGINT NOT NULL REFERENCES bodies(id),
    meeting_id      BIGINT REFERENCES meetings(id),
    parent_id       BIGINT REFERENCES assignments(id),
    item            TEXT NOT NULL,
    text            TEXT NOT NULL,
    author          TEXT NOT NULL,
    executor        TEXT NOT NULL,
    executor_person TEXT,
    co_executors    TEXT NOT NULL,
    controller      TEXT NOT NULL,
    deadline        TEXT NOT NULL,
    due_on          TEXT NOT NULL,
    priority        TEXT NOT NULL,
    place           TEXT,
    status          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX assignments_executor ON assignments (executor, status);
CREATE INDEX assignments_due ON assignments (status, due_on);

-- Every change of an assignment, in order (the audit trail has them too).
CREATE TABLE assignment_events (
    id              BIGSERIAL PRIMARY KEY,
    assignment_id   BIGINT NOT NULL REFERENCES assignments(id),
    at              BIGINT NOT NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    from_status     TEXT,
    to_status       TEXT NOT NULL,
    due_on          TEXT NOT NULL,
    note            TEXT NOT NULL
);
CREATE INDEX assignment_events_assignment ON assignment_events (assignment_id, id);

CREATE TABLE extension_requests (
    id              BIGSERIAL PRIMARY KEY,
    assignment_id   BIGINT NOT NULL REFERENCES assignments(id),
    requested_by    TEXT NOT NULL,
    requested_at    BIGINT NOT NULL,
    new_due_on      TEXT NOT NULL,
    reason          TEXT NOT NULL,
    decision        TEXT,
    decided_by      TEXT,
    decided_at      BIGINT,
    decision_note   TEXT
);

CREATE TABLE assignment_reports (
    id              BIGSERIAL PRIMARY KEY,
    assignment_id   BIGINT NOT NULL REFERENCES assignments(id),
    submitted_by    TEXT NOT NULL,
    submitted_at    BIGINT NOT NULL,
    due_on          TEXT NOT NULL,
    text            TEXT NOT NULL
);

CREATE TABLE report_attachments (
    id              BIGSERIAL PRIMARY KEY,
    report_id       BIGINT NOT NULL REFERENCES assignment_reports(id),
    file_name       TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    size            BIGINT NOT NULL,
    sha256          TEXT NOT NULL,
    bytes           BYTEA NOT NULL
);
