-- Facilities vulnerable to terrorism, the measures each threat level requires (editable data),
-- threat levels declared for a territory, and the checklists a declaration generates.
-- Times are Unix seconds; dates YYYY-MM-DD text.
CREATE TABLE facilities (
    id                    INTEGER PRIMARY KEY,
    territory_id          INTEGER NOT NULL REFERENCES territories(id),
    external_id           TEXT NOT NULL,
    name                  TEXT NOT NULL,
    category              TEXT NOT NULL,
    owner                 TEXT NOT NULL,
    lat                   REAL NOT NULL,
    lon                   REAL NOT NULL,
    passport_number       TEXT,
    passport_valid_until  TEXT,
    equipment             TEXT NOT NULL,
    updated_at            BIGINT NOT NULL,
    UNIQUE (territory_id, external_id)
);

-- category '' = the territory's police units.
CREATE TABLE required_measures (
    id        INTEGER PRIMARY KEY,
    category  TEXT NOT NULL,
    level     TEXT NOT NULL,
    code      TEXT NOT NULL,
    text      TEXT NOT NULL,
    UNIQUE (category, code)
);

CREATE TABLE threat_levels (
    id            INTEGER PRIMARY KEY,
    territory_id  INTEGER NOT NULL REFERENCES territories(id),
    level         TEXT NOT NULL,
    starts_on     TEXT NOT NULL,
    ends_on       TEXT,
    reason        TEXT NOT NULL,
    declared_by   TEXT NOT NULL,
    declared_at   BIGINT NOT NULL,
    lifted_by     TEXT,
    lifted_at     BIGINT
);

-- facility_id NULL: an item for the police units.
CREATE TABLE checklist_items (
    id              INTEGER PRIMARY KEY,
    declaration_id  INTEGER NOT NULL REFERENCES threat_levels(id),
    facility_id     INTEGER REFERENCES facilities(id),
    measure_code    TEXT NOT NULL,
    text            TEXT NOT NULL,
    done_by         TEXT,
    done_at         BIGINT,
    note            TEXT NOT NULL DEFAULT ''
);
CREATE INDEX checklist_items_declaration ON checklist_items (declaration_id, id);
