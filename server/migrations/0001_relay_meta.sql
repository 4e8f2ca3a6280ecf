-- Relay-wide settings, one value per key.
-- One folder serves SQLite and PostgreSQL: write SQL both accept (server/src/db/mod.rs).
CREATE TABLE relay_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
