-- The tamper-evident audit trail (see qalqan_domain::audit): append-only, hash-chained.

CREATE TABLE audit_log (
    id         BIGINT PRIMARY KEY,    -- 1, 2, 3, … assigned by the writer, no gaps
    at_us      BIGINT NOT NULL,       -- microseconds since 1970 (UTC)
    actor      TEXT NOT NULL,
    origin     TEXT NOT NULL,
    action     TEXT NOT NULL,
    object     TEXT NOT NULL,
    detail     TEXT NOT NULL,         -- JSON
    purpose    TEXT,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
