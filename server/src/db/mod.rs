//! The database: one [`Db`] handle over SQLite or PostgreSQL.
//!
//! # Writing queries that run on both backends
//!
//! [`Db::pool`] is a [`sqlx::AnyPool`], so the same query code serves both
//! backends. Keep to the common subset:
//!
//! * Placeholders are `$1, $2, …` (SQLite accepts them too); bind in order.
//! * Column types: `TEXT`, `BIGINT` (SQLite: `INTEGER`), `BLOB`/`BYTEA` only
//!   for small values (ciphertext never goes in the database: see
//!   [`crate::blobs`]). Decode integers as `i64`, text as `String`, bytes as
//!   `Vec<u8>`, nullable columns as `Option<…>`.
//! * No native booleans, timestamps or UUIDs through `Any`: store flags as
//!   `BIGINT` 0/1, times as `BIGINT` unix seconds (or milliseconds), ids as
//!   `TEXT`.
//! * Upserts: `INSERT … ON CONFLICT (col) DO UPDATE SET x = excluded.x` and
//!   `… DO NOTHING` work on both; so does `RETURNING`.
//! * A transaction that will write must take the write lock up front on
//!   SQLite, or two concurrent read-then-write transactions fail with
//!   "database is locked": use [`Db::begin_write`], not `pool().begin()`.
//!   Single writes on a hot path go through [`Db::writer`] and, when the
//!   caller is told they happened, [`Db::durable`].
//!
//! # SQLite: one writer, group commit
//!
//! SQLite has one writer at a time. Left to itself, a connection that finds
//! the write lock taken sleeps in its busy handler (1, 2, 5, 10, … ms), so
//! concurrent writers waste most of their time asleep; and with
//! `synchronous = FULL` each commit holds the lock across its own `fsync`.
//! So on an SQLite file the relay writes through a pool of exactly one
//! connection ([`Db::writer`]; waiting for it is a fair async queue, not a
//! sleep) whose commits do not sync (`synchronous = NORMAL`), and a committed
//! write is confirmed only after [`WalSync`] has `fdatasync`ed the write-ahead
//! log that holds it. That is what `FULL` does at each commit, outside the
//! lock and shared: one `fdatasync` covers every commit that finished before
//! it started (group commit). A confirmed write survives a power cut exactly
//! as with `FULL`; an unconfirmed one may be lost, as with `FULL`. Reads use
//! the other pool, whose connections keep `synchronous = FULL`, so any write
//! made there is durable at its commit as before.
//!
//! # Migrations
//!
//! One folder, `server/migrations/`, embedded at build time, serves both
//! backends: every migration is written in the subset above, and the
//! PostgreSQL and SQLite test runs both apply it. Migrations run on every
//! start. Relays created before the two per-backend folders became one
//! recorded the checksum of their backend's copy of `0001`, whose comment
//! differed; [`Db::migrate`] rewrites that one recorded checksum first (see
//! [`LEGACY_0001_CHECKSUMS`]).

pub mod api_keys;
pub mod arrival_notices;
pub mod audit;
pub mod bundle_cache;
pub mod ceremonies;
pub mod events;
pub mod idempotency;
pub mod invites;
pub mod leases;
pub mod messages;
pub mod nonces;
pub mod orgs;
pub mod page;
pub mod passkeys;
pub mod sessions;
pub mod setup_links;
pub mod transparency;
pub mod users;
pub mod webhook_deliveries;
pub mod webhook_endpoints;

pub use page::{Keyed, PageRequest};

use std::{
    fmt, io,
    ops::{Deref, DerefMut},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use sqlx::{AnyPool, Executor, Row, any::AnyPoolOptions, migrate::Migrator};

use crate::config::DatabaseTarget;

/// The schema of both backends, embedded from `server/migrations/`.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The SHA-384 checksums sqlx recorded for migration 1 when it came from
/// `migrations/postgres/` or `migrations/sqlite/` (the files differed only
/// in a comment naming the other folder). A database that recorded one of
/// them is brought to the current file's checksum before migrating, or sqlx
/// would refuse to start with "migration 1 was previously applied but has
/// been modified".
pub const LEGACY_0001_CHECKSUMS: [&str; 2] = [
    "73ba60deefc3edaead44fd60ca781841211858ae76962baee90d42b16d37440e53eb22f4c82c61dd819940cc90efd224",
    "86a270a8c68c2e65e4961974c6749cac1250c4bd39d17fe66c25702bedd54ea86c72327ffe282345e772943523b1f94c",
];

/// How long a request waits for a free connection before the pool gives up.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The two supported backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// A database failure.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("the database path {0:?} is not valid UTF-8")]
    NonUtf8Path(PathBuf),
    #[error("could not connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("could not migrate the database schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Query(#[from] sqlx::Error),
}

/// A handle on the database: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    /// Where writes go: on an SQLite file one connection with group commit
    /// ([`WalSync`]); otherwise the same pool as `pool`.
    writer: AnyPool,
    /// Group commit of the SQLite file's write-ahead log (`None`: every
    /// commit is durable by itself).
    wal: Option<Arc<WalSync>>,
    backend: Backend,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db").field("backend", &self.backend).field("connections", &self.pool.size()).finish()
    }
}

impl Db {
    /// Connects (creating an SQLite file if missing) without migrating.
    /// Most callers want [`Db::open`].
    pub async fn connect(target: &DatabaseTarget) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();

        let (url, backend) = match target {
            DatabaseTarget::SqliteFile(path) => (sqlite_file_url(path)?, Backend::Sqlite),
            DatabaseTarget::SqliteUrl(url) => (url.clone(), Backend::Sqlite),
            DatabaseTarget::Postgres(url) => (url.clone(), Backend::Postgres),
        };

        let options = match backend {
            // One writer at a time in SQLite; a few connections let readers
            // (WAL) go on while it writes.
            Backend::Sqlite => sqlite_pool(8, SQLITE_PRAGMAS),
            // Up to 64 requests at once each hold a connection for a few
            // short statements; the server's own limit is far higher.
            Backend::Postgres => AnyPoolOptions::new().max_connections(32),
        };
        let pool = options.acquire_timeout(ACQUIRE_TIMEOUT).connect(&url).await.map_err(DbError::Connect)?;
        // Group commit needs the file's name (an SQLite URL may name a
        // database only this process's connections share, e.g. in memory).
        let (writer, wal) = match target {
            DatabaseTarget::SqliteFile(path) => {
                let writer = sqlite_pool(1, SQLITE_WRITER_PRAGMAS)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect(&url)
                    .await
                    .map_err(DbError::Connect)?;
                let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
                let mut wal = absolute.into_os_string();
                wal.push("-wal");
                (writer, Some(Arc::new(WalSync::new(PathBuf::from(wal)))))
            }
            _ => (pool.clone(), None),
        };
        Ok(Db { pool, writer, wal, backend })
    }

    /// Connects and brings the schema up to date.
    pub async fn open(target: &DatabaseTarget) -> Result<Db, DbError> {
        let db = Db::connect(target).await?;
        db.migrate().await?;
        Ok(db)
    }

    /// Applies the migrations this database has not seen yet. Safe to run
    /// concurrently (PostgreSQL takes an advisory lock; SQLite serialises).
    pub async fn migrate(&self) -> Result<(), DbError> {
        self.adopt_legacy_checksum().await?;
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Rewrites migration 1's recorded checksum if it is one of
    /// [`LEGACY_0001_CHECKSUMS`]; does nothing on a new database or one
    /// already up to date. Any other mismatch is left for sqlx to refuse.
    async fn adopt_legacy_checksum(&self) -> Result<(), DbError> {
        let Some(first) = MIGRATOR.iter().find(|m| m.version == 1) else {
            return Ok(());
        };
        let current = first.checksum.to_vec();
        let recorded: Option<Vec<u8>> =
            match sqlx::query_scalar("SELECT checksum FROM _sqlx_migrations WHERE version = 1")
                .fetch_optional(&self.pool)
                .await
            {
                Ok(found) => found,
                // No migrations table yet: a new database.
                Err(sqlx::Error::Database(_)) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
        let Some(recorded) = recorded else {
            return Ok(());
        };
        if recorded != current && LEGACY_0001_CHECKSUMS.contains(&hex::encode(&recorded).as_str()) {
            sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 1")
                .bind(current)
                .execute(&self.pool)
                .await?;
            tracing::info!("adopted the merged migrations folder (migration 1's checksum updated)");
        }
        Ok(())
    }

    /// The connection pool, for queries: `sqlx::query("… $1 …").bind(x).fetch_one(db.pool())`.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The pool for single writes on a hot path (see the module's notes):
    /// on an SQLite file its one connection commits without syncing, so a
    /// write the caller is told about must be followed by [`Db::durable`].
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// Returns once every write committed through [`Db::writer`] before
    /// this call is on disk (at once where commits sync by themselves).
    pub async fn durable(&self) -> Result<(), DbError> {
        match &self.wal {
            Some(wal) => wal.wait().await.map_err(|e| DbError::Query(sqlx::Error::Io(e))),
            None => Ok(()),
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a transaction that is going to write. On SQLite this is
    /// `BEGIN IMMEDIATE` on the writer connection, which takes the write lock
    /// at once instead of failing when a read turns into a write. Its
    /// [`WriteTx::commit`] returns once the transaction is durable.
    pub async fn begin_write(&self) -> Result<WriteTx, DbError> {
        let tx = match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.writer.begin().await?,
        };
        Ok(WriteTx { tx, wal: self.wal.clone() })
    }

    /// A round trip to the database (`SELECT 1`), for readiness checks.
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await?;
        Ok(())
    }

    /// Reads a value of the `relay_meta` table.
    pub async fn meta_get(&self, key: &str) -> Result<Option<String>, DbError> {
        let row =
            sqlx::query("SELECT value FROM relay_meta WHERE key = $1").bind(key).fetch_optional(&self.pool).await?;
        Ok(match row {
            Some(row) => Some(row.try_get::<String, _>("value")?),
            None => None,
        })
    }

    /// Sets a value of the `relay_meta` table, replacing any previous one.
    pub async fn meta_set(&self, key: &str, value: &str) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO relay_meta (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Waits for the connections in use to be returned, then closes them all.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }
}

/// A transaction from [`Db::begin_write`]: use it as the connection
/// (`&mut tx`); dropped without [`WriteTx::commit`], it rolls back.
pub struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    wal: Option<Arc<WalSync>>,
}

impl WriteTx {
    /// Commits, and returns once the commit is on disk (group commit on an
    /// SQLite file, see [`WalSync`]).
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await?;
        match self.wal {
            Some(wal) => wal.wait().await.map_err(sqlx::Error::Io),
            None => Ok(()),
        }
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl Deref for WriteTx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &sqlx::AnyConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }
}

/// Group commit for an SQLite file whose writer commits with `synchronous =
/// NORMAL`: [`WalSync::wait`] returns once an `fdatasync` of the write-ahead
/// log that started after the caller's commit has finished. One `fdatasync`
/// runs at a time and covers every commit that finished before it began, so
/// under load many commits share one.
struct WalSync {
    /// The `-wal` file beside the database.
    path: PathBuf,
    /// Commits counted so far (each caller of `wait` counts its own).
    committed: AtomicU64,
    /// The highest count an `fdatasync` has covered.
    synced: AtomicU64,
    /// Held while an `fdatasync` runs.
    syncing: tokio::sync::Mutex<()>,
}

impl WalSync {
    fn new(path: PathBuf) -> WalSync {
        WalSync { path, committed: AtomicU64::new(0), synced: AtomicU64::new(0), syncing: tokio::sync::Mutex::new(()) }
    }

    /// Call after a commit returned: waits until it is on disk.
    async fn wait(&self) -> io::Result<()> {
        let mine = self.committed.fetch_add(1, Ordering::SeqCst) + 1;
        loop {
            if self.synced.load(Ordering::SeqCst) >= mine {
                return Ok(());
            }
            let _syncing = self.syncing.lock().await;
            if self.synced.load(Ordering::SeqCst) >= mine {
                return Ok(());
            }
            // Every commit counted up to here had finished writing the log.
            let covers = self.committed.load(Ordering::SeqCst);
            let path = self.path.clone();
            tokio::task::spawn_blocking(move || sync_wal(&path)).await.map_err(io::Error::other)??;
            self.synced.fetch_max(covers, Ordering::SeqCst);
        }
    }
}

/// `fdatasync` of the write-ahead log. No log at all means SQLite
/// checkpointed it into the database file (syncing that) and removed it.
fn sync_wal(path: &Path) -> io::Result<()> {
    match std::fs::File::open(path) {
        Ok(file) => file.sync_data(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// An SQLite pool of `max` connections, each set up with `pragmas`.
fn sqlite_pool(max: u32, pragmas: &'static str) -> AnyPoolOptions {
    AnyPoolOptions::new().max_connections(max).min_connections(1).after_connect(move |conn, _meta| {
        Box::pin(async move {
            conn.execute(pragmas).await?;
            Ok(())
        })
    })
}

/// Per-connection SQLite settings: wait up to 5 s for a lock instead of
/// failing at once, enforce foreign keys, and use the write-ahead log so
/// readers do not block the writer (the journal mode is stored in the file;
/// setting it again is a no-op). `synchronous = FULL`: a write made on these
/// connections is on disk when its commit returns.
const SQLITE_PRAGMAS: &str =
    "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;";

/// The writer connection of an SQLite file: the same, but its commits leave
/// the log's `fdatasync` to [`WalSync`] (group commit), which runs it before
/// any of them is confirmed.
const SQLITE_WRITER_PRAGMAS: &str =
    "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;";

/// `sqlite://<absolute path>?mode=rwc` with the path percent-encoded (sqlx
/// decodes it), so file names with `?`, `#`, `%` or spaces work.
fn sqlite_file_url(path: &Path) -> Result<String, DbError> {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let Some(text) = absolute.to_str() else {
        return Err(DbError::NonUtf8Path(absolute));
    };
    let mut url = String::from("sqlite://");
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => url.push(char::from(byte)),
            other => url.push_str(&format!("%{other:02X}")),
        }
    }
    url.push_str("?mode=rwc");
    Ok(url)
}

/// Reads a value of the `relay_meta` table inside a transaction.
pub async fn meta_read(conn: &mut sqlx::AnyConnection, key: &str) -> Result<Option<String>, DbError> {
    let row = sqlx::query("SELECT value FROM relay_meta WHERE key = $1").bind(key).fetch_optional(conn).await?;
    Ok(row.map(|r| r.try_get("value")).transpose()?)
}

/// Adds a value to the `relay_meta` table inside a transaction (fails if the key exists).
pub async fn meta_insert(conn: &mut sqlx::AnyConnection, key: &str, value: &str) -> Result<(), DbError> {
    sqlx::query("INSERT INTO relay_meta (key, value) VALUES ($1, $2)").bind(key).bind(value).execute(conn).await?;
    Ok(())
}

/// The count a `SELECT COUNT(*) … WHERE … = $1` query answers for `key`.
pub async fn count(conn: &mut sqlx::AnyConnection, sql: &str, key: &str) -> Result<u64, DbError> {
    let n: i64 = sqlx::query(sql).bind(key).fetch_one(conn).await?.try_get(0)?;
    to_u64(n)
}

/// A state column's text as its enum (`parse` is the enum's, e.g.
/// `NumberStatus::parse`); a value the relay never writes is a corrupt row,
/// reported as a decode error naming the column.
pub fn parse_column<T>(column: &'static str, value: &str, parse: fn(&str) -> Option<T>) -> Result<T, DbError> {
    parse(value).ok_or_else(|| DbError::Query(sqlx::Error::Decode(format!("{column}: unknown value {value:?}").into())))
}

/// Makes a text-valued enum a column type of the `Any` backend: it binds as
/// its stored string (`as_str`, which must return `&'static str`) and
/// decodes through `parse` (`fn(&str) -> Option<Self>`), a value the relay
/// never writes being a decode error. (`#[derive(sqlx::Type)]` on an enum
/// implements only the concrete backends, not `Any`.)
macro_rules! text_column {
    ($ty:ty, $what:literal) => {
        impl sqlx::Type<sqlx::Any> for $ty {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <&str as sqlx::Type<sqlx::Any>>::type_info()
            }
            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }

        impl<'q> sqlx::Encode<'q, sqlx::Any> for $ty {
            fn encode_by_ref(
                &self, buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<'q, sqlx::Any>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $ty {
            fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
                <$ty>::parse(text).ok_or_else(|| format!("{}: unknown value {text:?}", $what).into())
            }
        }
    };
}
pub(crate) use text_column;

/// A size or count as the database stores it: every integer column is a
/// signed 64-bit `INTEGER`/`BIGINT`. The one place `u64` becomes `i64`.
pub fn to_i64(v: u64) -> Result<i64, DbError> {
    i64::try_from(v)
        .map_err(|_| DbError::Query(sqlx::Error::Encode(format!("{v} does not fit a database integer").into())))
}

/// A stored size or count read back; a negative one is a corrupt row. The one
/// place `i64` becomes `u64`.
pub fn to_u64(v: i64) -> Result<u64, DbError> {
    decode_u64(v).map_err(DbError::Query)
}

/// [`to_u64`] as a decode error, for row mappers that answer `sqlx::Error`.
pub fn decode_u64(v: i64) -> Result<u64, sqlx::Error> {
    u64::try_from(v).map_err(|_| sqlx::Error::Decode(format!("stored count {v} is negative").into()))
}

/// The rows of `table` counted by their `status` column (for `/metrics`).
/// `table` is one of the relay's own table names, never input.
pub async fn count_by_status(db: &Db, table: &'static str) -> Result<std::collections::BTreeMap<String, i64>, DbError> {
    let rows =
        sqlx::query(&format!("SELECT status, COUNT(*) AS n FROM {table} GROUP BY status")).fetch_all(db.pool()).await?;
    let mut by_status = std::collections::BTreeMap::new();
    for row in rows {
        by_status.insert(row.try_get::<String, _>("status")?, row.try_get::<i64, _>("n")?);
    }
    Ok(by_status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_escape_the_path() {
        assert_eq!(
            sqlite_file_url(Path::new("/srv/fxe data/fx?e#1%.db")).unwrap(),
            "sqlite:///srv/fxe%20data/fx%3Fe%231%25.db?mode=rwc"
        );
        let relative = sqlite_file_url(Path::new("data/fxe.db")).unwrap();
        assert!(relative.starts_with("sqlite:///"), "{relative}");
        assert!(relative.ends_with("/data/fxe.db?mode=rwc"), "{relative}");
    }

    #[test]
    fn legacy_checksums_are_sha384_as_sqlx_records_them() {
        use sha2::Digest;
        let first = MIGRATOR.iter().find(|m| m.version == 1).unwrap();
        let text = include_str!("../../migrations/0001_relay_meta.sql");
        assert_eq!(
            &first.checksum[..],
            &sha2::Sha384::digest(text.as_bytes())[..],
            "sqlx's checksum is SHA-384 of the file"
        );
        assert!(!LEGACY_0001_CHECKSUMS.contains(&hex::encode(&first.checksum[..]).as_str()));
    }
}
