-- A counter the relay bumps in the same transaction as every change it makes
-- to the directory tables (orgs, bundles, numbers: server/src/db/orgs.rs), so
-- the transparency log's sequencer reads those tables only when they changed
-- (and when a directory answer waits for the log, and every 30 s regardless)
-- instead of reading all of them every second. One folder serves SQLite and
-- PostgreSQL: write SQL both accept (server/src/db/mod.rs).
CREATE TABLE directory_version (
    id       BIGINT PRIMARY KEY,
    version  BIGINT NOT NULL
);
INSERT INTO directory_version (id, version) VALUES (1, 0);
