-- Arrival notices (docs/api.md, "Arrival notices"): a member who opts in gets
-- a mail when a fax arrives for their org, naming only the number it came to.

-- 0/1, off until the member turns it on (PATCH /auth/me).
ALTER TABLE users ADD COLUMN notify_arrivals BIGINT NOT NULL DEFAULT 0;

-- The mail queue: one row per (message, member) written in the same
-- transaction as the message.received event; deleted once the mail is handed
-- to the mailer, or after the last retry. A worker claims a row by setting
-- lease_token/lease_until_ms (many relays may share the database).
CREATE TABLE arrival_notices (
    message_id         TEXT NOT NULL,
    user_id            TEXT NOT NULL REFERENCES users(id),
    to_number          TEXT NOT NULL,
    tries              BIGINT NOT NULL,
    next_attempt_at_ms BIGINT NOT NULL,
    lease_token        TEXT,
    lease_until_ms     BIGINT,
    created_at_ms      BIGINT NOT NULL,
    PRIMARY KEY (message_id, user_id)
);
CREATE INDEX arrival_notices_due ON arrival_notices(next_attempt_at_ms);
