-- In-app notifications: reminders before an assignment's due date and escalations when it is
-- overdue, one per recipient, assignment, kind and due date (so the job can run any number of times).
CREATE TABLE notifications (
    id             BIGSERIAL PRIMARY KEY,
    login          TEXT NOT NULL,
    assignment_id  BIGINT NOT NULL REFERENCES assignments(id),
    kind           TEXT NOT NULL,
    due_on         TEXT NOT NULL,
    message        TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    read_at        BIGINT,
    UNIQUE (login, assignment_id, kind, due_on)
);
CREATE INDEX notifications_login ON notifications (login, id);
