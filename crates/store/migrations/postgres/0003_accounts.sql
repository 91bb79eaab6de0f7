-- Agencies, user accounts, their territory scope, and server-side sessions.

CREATE TABLE agencies (
    id    BIGSERIAL PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE
);

CREATE TABLE users (
    id                    BIGSERIAL PRIMARY KEY,
    login                 TEXT NOT NULL UNIQUE,
    display_name          TEXT NOT NULL,
    role                  TEXT NOT NULL CHECK (role IN ('administrator', 'analyst', 'commander', 'district_inspector', 'agency_executor', 'viewer')),
    agency_id             BIGINT REFERENCES agencies(id),
    password_hash         TEXT NOT NULL,          -- Argon2id PHC string
    must_change_password  BOOLEAN NOT NULL DEFAULT FALSE,
    disabled              BOOLEAN NOT NULL DEFAULT FALSE,
    failed_logins         INTEGER NOT NULL DEFAULT 0,
    locked_until          TIMESTAMPTZ,
    created_at            TIMESTAMPTZ NOT NULL
);

-- Where a user may see incidents: whole territories, or districts of them.
CREATE TABLE user_scopes (
    user_id       BIGINT NOT NULL REFERENCES users(id),
    territory_id  BIGINT NOT NULL REFERENCES territories(id),
    district_id   BIGINT REFERENCES districts(id),
    UNIQUE (user_id, territory_id, district_id)
);

CREATE TABLE sessions (
    id            BIGSERIAL PRIMARY KEY,
    token_hash    TEXT NOT NULL UNIQUE,    -- SHA-256 of the cookie value; the value itself is never stored
    user_id       BIGINT NOT NULL REFERENCES users(id),
    csrf_token    TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    revoked_at    TIMESTAMPTZ,
    origin        TEXT NOT NULL
);
