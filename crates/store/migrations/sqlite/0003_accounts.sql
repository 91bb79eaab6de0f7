-- Agencies, user accounts, their territory scope, and server-side sessions.

CREATE TABLE agencies (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE
);

CREATE TABLE users (
    id                    INTEGER PRIMARY KEY,
    login                 TEXT NOT NULL UNIQUE,
    display_name          TEXT NOT NULL,
    role                  TEXT NOT NULL CHECK (role IN ('administrator', 'analyst', 'commander', 'district_inspector', 'agency_executor', 'viewer')),
    agency_id             INTEGER REFERENCES agencies(id),
    password_hash         TEXT NOT NULL,          -- Argon2id PHC string
    must_change_password  INTEGER NOT NULL DEFAULT 0,
    disabled              INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    failed_logins         INTEGER NOT NULL DEFAULT 0,
    locked_until          INTEGER,
    created_at            INTEGER NOT NULL
);

-- Where a user may see incidents: whole territories, or districts of them.
CREATE TABLE user_scopes (
    user_id       INTEGER NOT NULL REFERENCES users(id),
    territory_id  INTEGER NOT NULL REFERENCES territories(id),
    district_id   INTEGER REFERENCES districts(id),
    UNIQUE (user_id, territory_id, district_id)
);

CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY,
    token_hash    TEXT NOT NULL UNIQUE,    -- SHA-256 of the cookie value; the value itself is never stored
    user_id       INTEGER NOT NULL REFERENCES users(id),
    csrf_token    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    origin        TEXT NOT NULL
);
