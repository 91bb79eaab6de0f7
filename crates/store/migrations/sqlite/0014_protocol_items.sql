-- The items of a meeting's protocol ("1", "1.2", …) with what was decided; an assignment given
-- at a meeting names one of them.
CREATE TABLE protocol_items (
    id          INTEGER PRIMARY KEY,
    meeting_id  INTEGER NOT NULL REFERENCES meetings(id),
    number      TEXT NOT NULL,
    text        TEXT NOT NULL,
    UNIQUE (meeting_id, number)
);
