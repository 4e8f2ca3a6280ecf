-- The client (its address, or an IPv6 address's /64) that started each
-- passkey ceremony: open ceremonies are capped per client and in all
-- (docs/api.md, Limits).
ALTER TABLE webauthn_ceremonies ADD COLUMN client_ip TEXT;
CREATE INDEX webauthn_ceremonies_client ON webauthn_ceremonies(client_ip, expires_at);
