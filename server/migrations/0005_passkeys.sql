-- Passkeys (WebAuthn credentials) of users: several per user.
CREATE TABLE passkeys (
    id             TEXT PRIMARY KEY,          -- UUID
    user_id        TEXT NOT NULL REFERENCES users(id),
    credential_id  TEXT NOT NULL UNIQUE,      -- b64u of the credential id
    passkey_json   TEXT NOT NULL,             -- webauthn-rs Passkey (public key, counter)
    label          TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT
);
CREATE INDEX passkeys_user ON passkeys(user_id);

-- Started WebAuthn ceremonies: single use, 5 minutes.
CREATE TABLE webauthn_ceremonies (
    id                  TEXT PRIMARY KEY,
    kind                TEXT NOT NULL,        -- register | login
    user_id             TEXT,
    setup_token_sha256  TEXT,
    state_json          TEXT NOT NULL,
    expires_at          BIGINT NOT NULL
);
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies(expires_at);
