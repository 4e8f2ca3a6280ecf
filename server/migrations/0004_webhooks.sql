-- Webhooks (API.md, Webhooks): endpoints, the delivery queue and its attempts.

-- An org's endpoints. Secrets are sealed with the relay's webhook key
-- (AES-256-GCM, see server/src/webhooks/secrets.rs), never stored in clear.
CREATE TABLE webhook_endpoints (
    id                  TEXT PRIMARY KEY,          -- wh_ + 24 hex
    org_id              TEXT NOT NULL REFERENCES orgs(org_id),
    url                 TEXT NOT NULL,
    events              TEXT NOT NULL,             -- event types, comma-separated
    description         TEXT NOT NULL,
    enabled             BIGINT NOT NULL,           -- 0/1
    disabled_reason     TEXT,
    secret_sealed       TEXT NOT NULL,
    old_secret_sealed   TEXT,                      -- still signing until old_secret_until_ms
    old_secret_until_ms BIGINT,
    created_at_ms       BIGINT NOT NULL,
    updated_at_ms       BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints(org_id, created_at_ms);

-- One event to one endpoint: the queue. `tries` counts failed attempts since
-- the delivery was (re)queued and picks the next wait; a worker claims a row
-- by setting lease_token/lease_until_ms.
CREATE TABLE webhook_deliveries (
    id                 TEXT PRIMARY KEY,           -- dl_ + 24 hex
    endpoint_id        TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id           TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    org_id             TEXT NOT NULL,
    event_type         TEXT NOT NULL,
    status             TEXT NOT NULL,              -- pending, succeeded, dead
    tries              BIGINT NOT NULL,
    next_attempt_at_ms BIGINT,
    lease_token        TEXT,
    lease_until_ms     BIGINT,
    created_at_ms      BIGINT NOT NULL,
    updated_at_ms      BIGINT NOT NULL,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at_ms) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, created_at_ms);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries(event_id);

-- Every attempt: status, latency, error, the first 2 KiB of the answer.
CREATE TABLE webhook_attempts (
    id            TEXT PRIMARY KEY,
    delivery_id   TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    at_ms         BIGINT NOT NULL,
    status_code   BIGINT,
    latency_ms    BIGINT NOT NULL,
    error         TEXT,
    response_body TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, at_ms);
