//! The transparency log's tables (migration 0009): `transparency_entries`,
//! the entries in log order, and `transparency_checkpoints`, the notes
//! signed over them. Only the sequencer ([`crate::transparency::sequencer`])
//! writes them; every instance reads them to serve the log.

use sqlx::{AnyConnection, Row};

use super::{Db, DbError, to_i64, to_u64};
use fxe_protocol::encoding::{b64u_decode, b64u_encode};

/// How many entries one read brings at most.
pub const READ_BATCH: u64 = 4096;

/// A stored checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    /// The signed note (log signature, then cosignatures).
    pub note: String,
    /// Whether it is published (a quorum cosigned it, or none is required).
    pub witnessed: bool,
}

fn corrupt(what: String) -> DbError {
    DbError::Query(sqlx::Error::Decode(what.into()))
}

/// Entries `from …` (at most [`READ_BATCH`]), in order; a gap is a corrupt table.
pub async fn entries_from(db: &Db, from: u64) -> Result<Vec<Vec<u8>>, DbError> {
    let rows = sqlx::query("SELECT idx, entry FROM transparency_entries WHERE idx >= $1 ORDER BY idx LIMIT $2")
        .bind(to_i64(from)?)
        .bind(to_i64(READ_BATCH)?)
        .fetch_all(db.pool())
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (expected, row) in (from..).zip(rows) {
        let idx = to_u64(row.try_get("idx")?)?;
        if idx != expected {
            return Err(corrupt(format!("transparency_entries: entry {expected} is missing (next is {idx})")));
        }
        let text: String = row.try_get("entry")?;
        out.push(b64u_decode("transparency entry", &text).map_err(|e| corrupt(format!("entry {idx}: {e}")))?);
    }
    Ok(out)
}

/// The number of entries (the next index).
pub async fn size(conn: &mut AnyConnection) -> Result<u64, DbError> {
    let n: Option<i64> = sqlx::query("SELECT MAX(idx) FROM transparency_entries").fetch_one(conn).await?.try_get(0)?;
    n.map_or(Ok(0), |n| to_u64(n).map(|n| n.saturating_add(1)))
}

/// Appends `entries` at indices `from …`. The primary key refuses an index written twice.
pub async fn append(conn: &mut AnyConnection, from: u64, entries: &[Vec<u8>]) -> Result<(), DbError> {
    for (idx, e) in (from..).zip(entries) {
        sqlx::query("INSERT INTO transparency_entries (idx, entry) VALUES ($1, $2)")
            .bind(to_i64(idx)?)
            .bind(b64u_encode(e))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Stores a new checkpoint.
pub async fn insert_checkpoint(conn: &mut AnyConnection, cp: &StoredCheckpoint, now: i64) -> Result<(), DbError> {
    sqlx::query("INSERT INTO transparency_checkpoints (size, note, witnessed, created_at) VALUES ($1, $2, $3, $4)")
        .bind(to_i64(cp.size)?)
        .bind(&cp.note)
        .bind(i64::from(cp.witnessed))
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Replaces a checkpoint's note (new cosignatures) and publishes it if `witnessed`.
/// A published checkpoint stays published.
pub async fn update_checkpoint(db: &Db, cp: &StoredCheckpoint) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE transparency_checkpoints SET note = $1, witnessed = CASE WHEN witnessed = 1 THEN 1 ELSE $2 END \
         WHERE size = $3",
    )
    .bind(&cp.note)
    .bind(i64::from(cp.witnessed))
    .bind(to_i64(cp.size)?)
    .execute(db.writer())
    .await?;
    Ok(())
}

fn checkpoint(row: &sqlx::any::AnyRow) -> Result<StoredCheckpoint, DbError> {
    Ok(StoredCheckpoint {
        size: to_u64(row.try_get("size")?)?,
        note: row.try_get("note")?,
        witnessed: row.try_get::<i64, _>("witnessed")? == 1,
    })
}

/// The newest published checkpoint.
pub async fn published(db: &Db) -> Result<Option<StoredCheckpoint>, DbError> {
    let row = sqlx::query(
        "SELECT size, note, witnessed FROM transparency_checkpoints WHERE witnessed = 1 ORDER BY size DESC LIMIT 1",
    )
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(checkpoint).transpose()
}

/// The newest checkpoint, published or not.
pub async fn newest(db: &Db) -> Result<Option<StoredCheckpoint>, DbError> {
    let row = sqlx::query("SELECT size, note, witnessed FROM transparency_checkpoints ORDER BY size DESC LIMIT 1")
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(checkpoint).transpose()
}
