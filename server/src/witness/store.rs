//! The witness's state (docs/transparency.md §8): per log origin, the size,
//! root and note it last cosigned, and the signed checkpoints it refused as
//! evidence of a fork. SQLite, one file, durable (`synchronous=FULL`); the
//! check and the update of a request happen in one `BEGIN IMMEDIATE`
//! transaction, so two requests (or two processes) cannot roll the state back.

use std::path::Path;

use fxe_protocol::transparency::Hash;
use sqlx::{
    Row, Sqlite, SqliteConnection, SqlitePool, Transaction,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS witnessed (
    origin TEXT PRIMARY KEY NOT NULL,
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS evidence (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    origin TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    status INTEGER NOT NULL,
    reason TEXT NOT NULL,
    request TEXT NOT NULL,
    last_note TEXT
);";

/// A refused but validly signed checkpoint, kept as evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The log's origin.
    pub origin: String,
    /// When the witness received it.
    pub received_at: u64,
    /// The HTTP status it was refused with (409 or 422).
    pub status: u16,
    /// Why.
    pub reason: String,
    /// The whole request body (old size, proof, the signed checkpoint).
    pub request: String,
    /// The checkpoint the witness had cosigned last, for comparison.
    pub last_note: Option<String>,
}

/// The witness's database.
pub struct WitnessStore {
    pool: SqlitePool,
}

fn to_i64(n: u64) -> Result<i64, sqlx::Error> {
    i64::try_from(n).map_err(|e| sqlx::Error::Encode(Box::new(e)))
}

fn to_u64(n: i64) -> Result<u64, sqlx::Error> {
    u64::try_from(n).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// The last cosigned state of one log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witnessed {
    /// Its size.
    pub size: u64,
    /// Its root.
    pub root: Hash,
    /// The note (with the log's signature) that was cosigned.
    pub note: String,
}

/// One transaction on the store: read the state, then record the outcome.
/// Dropped without commit, it rolls back.
pub struct Tx {
    tx: Transaction<'static, Sqlite>,
}

impl WitnessStore {
    /// Opens (creating) the database at `path`.
    pub async fn open(path: &Path) -> Result<WitnessStore, sqlx::Error> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        sqlx::raw_sql(SCHEMA).execute(&pool).await?;
        Ok(WitnessStore { pool })
    }

    /// Starts the one transaction a request runs in (`BEGIN IMMEDIATE`: the write lock is taken first).
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(Tx { tx: self.pool.begin_with("BEGIN IMMEDIATE").await? })
    }

    /// Every piece of evidence kept, oldest first.
    pub async fn evidence(&self) -> Result<Vec<Evidence>, sqlx::Error> {
        let rows =
            sqlx::query("SELECT origin, received_at, status, reason, request, last_note FROM evidence ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(Evidence {
                    origin: r.try_get("origin")?,
                    received_at: to_u64(r.try_get("received_at")?)?,
                    status: u16::try_from(r.try_get::<i64, _>("status")?)
                        .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                    reason: r.try_get("reason")?,
                    request: r.try_get("request")?,
                    last_note: r.try_get("last_note")?,
                })
            })
            .collect()
    }

    /// The state of one log.
    pub async fn witnessed(&self, origin: &str) -> Result<Option<Witnessed>, sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        read(&mut conn, origin).await
    }
}

async fn read(conn: &mut SqliteConnection, origin: &str) -> Result<Option<Witnessed>, sqlx::Error> {
    let Some(row) = sqlx::query("SELECT size, root, note FROM witnessed WHERE origin = ?")
        .bind(origin)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let root: Vec<u8> = row.try_get("root")?;
    let root: Hash = root.try_into().map_err(|_| sqlx::Error::Decode("a stored root is not 32 bytes".into()))?;
    Ok(Some(Witnessed { size: to_u64(row.try_get("size")?)?, root, note: row.try_get("note")? }))
}

impl Tx {
    /// The state of one log, inside the transaction.
    pub async fn witnessed(&mut self, origin: &str) -> Result<Option<Witnessed>, sqlx::Error> {
        read(&mut self.tx, origin).await
    }

    /// Records a newly cosigned checkpoint and commits.
    pub async fn accept(mut self, origin: &str, w: &Witnessed, now: u64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO witnessed (origin, size, root, note, updated_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root,
                 note = excluded.note, updated_at = excluded.updated_at",
        )
        .bind(origin)
        .bind(to_i64(w.size)?)
        .bind(w.root.as_slice())
        .bind(&w.note)
        .bind(to_i64(now)?)
        .execute(&mut *self.tx)
        .await?;
        self.commit().await
    }

    /// Keeps a refused checkpoint as evidence and commits.
    pub async fn keep_evidence(mut self, e: &Evidence) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO evidence (origin, received_at, status, reason, request, last_note) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&e.origin)
        .bind(to_i64(e.received_at)?)
        .bind(i64::from(e.status))
        .bind(&e.reason)
        .bind(&e.request)
        .bind(&e.last_note)
        .execute(&mut *self.tx)
        .await?;
        self.commit().await
    }

    /// Ends the transaction with no change.
    pub async fn finish(self) -> Result<(), sqlx::Error> {
        self.commit().await
    }

    async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}
