-- E-mail for reminders and escalations: an address per account (optional), and per
-- notification whether it was e-mailed, how many attempts were made and the relay's last error.
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE notifications ADD COLUMN emailed_at BIGINT;
ALTER TABLE notifications ADD COLUMN email_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN email_error TEXT;
CREATE INDEX notifications_unsent ON notifications (emailed_at, email_attempts);
