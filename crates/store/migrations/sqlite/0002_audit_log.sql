-- The tamper-evident audit trail (see qalqan_domain::audit): append-only, hash-chained.

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,   -- 1, 2, 3, … assigned by the writer, no gaps
    at_us      INTEGER NOT NULL,      -- microseconds since 1970 (UTC)
    actor      TEXT NOT NULL,
    origin     TEXT NOT NULL,
    action     TEXT NOT NULL,
    object     TEXT NOT NULL,
    detail     TEXT NOT NULL,         -- JSON
    purpose    TEXT,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
