-- Several Qalqan instances over one database (issue #9).
-- Optimistic concurrency: every change of an assignment bumps its version; a change made on a
-- stale version is refused, so no update is lost between instances or users.
ALTER TABLE assignments ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
-- At most one pending extension request per assignment, whichever instance writes it.
CREATE UNIQUE INDEX extension_requests_one_pending ON extension_requests (assignment_id) WHERE decision IS NULL;
-- Leases of periodic jobs (reminders, e-mail, retention): one instance at a time runs each.
CREATE TABLE job_leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
