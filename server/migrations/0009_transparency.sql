-- The key transparency log (docs/transparency.md): its entries, in log
-- order, and the checkpoints signed over them. One folder serves SQLite and
-- PostgreSQL: write SQL both accept (server/src/db/mod.rs).
CREATE TABLE transparency_entries (
    idx    BIGINT PRIMARY KEY,        -- 0, 1, 2, … without gaps
    entry  TEXT NOT NULL              -- b64u of the entry's canonical bytes (§2)
);

-- A checkpoint is published (served, and directory answers backed by it)
-- once `witnessed` is 1: a quorum of the relay's witnesses cosigned it, or
-- none is required. `note` is the signed note: the log's signature, then the
-- cosignatures collected, renewed as witnesses cosign again.
CREATE TABLE transparency_checkpoints (
    size        BIGINT PRIMARY KEY,
    note        TEXT NOT NULL,
    witnessed   BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
