-- Relay-wide settings, one value per key.
-- Every migration has a twin in migrations/sqlite/ with the same file name.
CREATE TABLE relay_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
