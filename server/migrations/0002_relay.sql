-- The relay's records. Times are unix seconds (BIGINT) unless the column name
-- ends in _ms (unix milliseconds). Flags are BIGINT 0/1. Ciphertext never
-- lives here: messages.blob_key names a file of the blob store.

-- Invites issued by the operator. The token itself is never stored, only its SHA-256.
CREATE TABLE invites (
    id              TEXT PRIMARY KEY,
    token_sha256    TEXT NOT NULL UNIQUE,
    numbers         TEXT NOT NULL,            -- comma-separated E.164 numbers; empty = any
    note            TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT,
    used_by_org_id  TEXT,
    revoked_at      BIGINT
);

CREATE TABLE orgs (
    org_id        TEXT PRIMARY KEY,
    org_name      TEXT NOT NULL,
    identity_pub  TEXT NOT NULL UNIQUE,       -- b64u
    created_at    BIGINT NOT NULL,
    disabled_at   BIGINT,
    is_echo       BIGINT NOT NULL DEFAULT 0
);

-- A number belongs to at most one org. Claims after redemption are 'pending'
-- until the operator approves them; only 'active' numbers are in the directory.
CREATE TABLE numbers (
    number       TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(org_id),
    status       TEXT NOT NULL,               -- active | pending
    created_at   BIGINT NOT NULL,
    approved_at  BIGINT
);
CREATE INDEX numbers_org ON numbers(org_id);

-- Every bundle an org has published; exactly one active per org.
CREATE TABLE bundles (
    bundle_id     TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(org_id),
    created_at    BIGINT NOT NULL,            -- the bundle's own signed created_at
    bundle_json   TEXT NOT NULL,
    published_at  BIGINT NOT NULL,
    retired_at    BIGINT,
    active        BIGINT NOT NULL
);
CREATE INDEX bundles_org ON bundles(org_id, created_at);

CREATE TABLE api_keys (
    key_id        TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(org_id),
    public_key    TEXT NOT NULL,              -- b64u Ed25519
    scopes        TEXT NOT NULL,              -- comma-separated, as registered
    label         TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT,
    last_used_at  BIGINT
);
CREATE INDEX api_keys_org ON api_keys(org_id);

-- (key_id, nonce) pairs seen in the last 600 s: replay protection across instances.
CREATE TABLE request_nonces (
    key_id   TEXT NOT NULL,
    nonce    TEXT NOT NULL,
    seen_at  BIGINT NOT NULL,
    PRIMARY KEY (key_id, nonce)
);
CREATE INDEX request_nonces_seen ON request_nonces(seen_at);

-- People: org members (role admin | user) and relay operators (org_id NULL, role operator).
CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    org_id      TEXT REFERENCES orgs(org_id),
    email       TEXT NOT NULL,
    role        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    removed_at  BIGINT
);
CREATE INDEX users_org ON users(org_id);
CREATE INDEX users_email ON users(email);

-- Single-use passkey setup links (first admin, invited teammate, recovery, operator).
CREATE TABLE setup_tokens (
    token_sha256  TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id),
    purpose       TEXT NOT NULL,              -- enrol | invite | recover | operator
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT
);

CREATE TABLE messages (
    message_id           TEXT PRIMARY KEY,
    sender_org_id        TEXT NOT NULL REFERENCES orgs(org_id),
    recipient_org_id     TEXT NOT NULL REFERENCES orgs(org_id),
    status               TEXT NOT NULL,       -- awaiting_upload | queued | delivered | rejected | expired | failed
    from_number          TEXT NOT NULL,
    from_name            TEXT NOT NULL,
    to_number            TEXT NOT NULL,
    ciphertext_len       BIGINT NOT NULL,
    envelope_hash        TEXT NOT NULL,       -- hex
    envelope_json        TEXT NOT NULL,
    created_at_ms        BIGINT NOT NULL,     -- when the relay accepted the envelope
    updated_at_ms        BIGINT NOT NULL,
    seq                  BIGINT NOT NULL,     -- per-change sequence, ties broken for the polling feed
    expires_at           BIGINT NOT NULL,     -- queued messages expire (TTL)
    upload_expires_at    BIGINT NOT NULL,     -- awaiting_upload messages fail after this
    upload_lease_until   BIGINT,              -- an upload is running until this (refreshed while it runs)
    upload_lease_owner   TEXT,                -- the relay instance running it (see blobs::LocalBlobStore)
    blob_key             TEXT,                -- set while the ciphertext is stored
    receipt_json         TEXT,
    refusal_json         TEXT
);
CREATE INDEX messages_recipient ON messages(recipient_org_id, updated_at_ms);
CREATE INDEX messages_sender ON messages(sender_org_id, updated_at_ms);
CREATE INDEX messages_status ON messages(status, expires_at);

-- The org's audit trail. Written in the same transaction as the change it records.
CREATE TABLE audit (
    id           TEXT PRIMARY KEY,
    org_id       TEXT,                        -- NULL for relay-wide (operator) actions
    at_ms        BIGINT NOT NULL,
    actor_type   TEXT NOT NULL,               -- user | api_key | relay | operator
    actor_id     TEXT,
    actor_label  TEXT,
    action       TEXT NOT NULL,               -- e.g. message.sent, api_key.created
    target       TEXT,
    address      TEXT,
    detail_json  TEXT
);
CREATE INDEX audit_org ON audit(org_id, at_ms);

-- Events (the transactional outbox): written in the same transaction as the
-- state change that causes them, kept 30 days. Webhook deliveries hang off these.
CREATE TABLE events (
    id            TEXT PRIMARY KEY,           -- UUID, the receiver's idempotency key
    org_id        TEXT NOT NULL,
    event_type    TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    payload_json  TEXT NOT NULL
);
CREATE INDEX events_org ON events(org_id, created_at_ms);

-- POST Idempotency-Key records (24 h).
CREATE TABLE idempotency_keys (
    scope         TEXT NOT NULL,              -- the caller: api key id, or user id
    idem_key      TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,             -- method, path and body
    status_code   BIGINT NOT NULL,            -- 0 while the first request runs
    response_json TEXT,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);

-- Signed-in browser sessions. The cookie holds a random id; only its SHA-256 is stored.
CREATE TABLE sessions (
    id_sha256     TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id),
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,            -- absolute expiry
    revoked_at    BIGINT
);
CREATE INDEX sessions_user ON sessions(user_id);
