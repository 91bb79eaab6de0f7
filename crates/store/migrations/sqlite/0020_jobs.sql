-- Long analyses as jobs in a queue any instance works off (issue #9): a job is a GET of an
-- analysis endpoint made on behalf of the user who asked, run by whichever instance claims it,
-- reclaimed when its worker stops sending heartbeats (a restart, a crash).
CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,
    territory_id  BIGINT NOT NULL REFERENCES territories(id),
    request       TEXT NOT NULL,
    requested_by  TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    progress      DOUBLE PRECISION NOT NULL DEFAULT 0,
    message       TEXT NOT NULL DEFAULT '',
    attempts      BIGINT NOT NULL DEFAULT 0,
    worker        TEXT,
    heartbeat_at  BIGINT,
    created_at    BIGINT NOT NULL,
    started_at    BIGINT,
    finished_at   BIGINT,
    result        BLOB,
    result_type   TEXT
);
CREATE INDEX jobs_queue ON jobs (status, id);
CREATE INDEX jobs_requested_by ON jobs (requested_by, id);
