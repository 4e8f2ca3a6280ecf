-- At most one active bundle per org, even under concurrent rotations.
CREATE UNIQUE INDEX bundles_one_active ON bundles(org_id) WHERE active = 1;

-- Expired Idempotency-Key records are deleted by age.
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);

-- The audit trail is listed per org, newest first, with ties broken by id.
CREATE INDEX audit_org_at_id ON audit(org_id, at_ms, id);
DROP INDEX audit_org;
