//! Several relay instances on one PostgreSQL database: which instances are
//! alive, and which one runs the relay-wide jobs (the sweeper, the echo org).
//!
//! Each instance keeps one connection of its own (outside the pool) and holds
//! PostgreSQL session advisory locks on it:
//!
//! * its presence lock, keyed by its instance id, for as long as it runs. A
//!   killed instance's connection closes with the process, PostgreSQL drops
//!   its locks at once, and [`Cluster::alive`] answers `false` for it: its
//!   upload leases are taken over at once instead of after they lapse;
//! * a role lock ([`Role`]) for each relay-wide job it runs. One instance at
//!   a time gets it ([`Cluster::leads`]); when that instance dies the next
//!   one to ask takes over.
//!
//! Advisory locks are scoped to the current database, so relays on other
//! databases of the same server do not see each other. On SQLite there is
//! one relay per database (the serving lock in [`crate::serve`]), which is
//! always the leader and answers liveness through its blob store.

use std::collections::BTreeSet;

use sqlx::AnyConnection;
use tokio::sync::Mutex;

use crate::db::{Backend, Db, DbError};

/// The first key of the relay's role locks (`fxe` + 0).
const ROLE_CLASS: i32 = 0x6678_6530;
/// The first key of the relay's presence locks (`fxe` + 1).
const INSTANCE_CLASS: i32 = 0x6678_6531;

/// A relay-wide job that one instance at a time runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// [`crate::housekeeping`]: expiry, purges, blob sweeps.
    Sweeper,
    /// [`crate::messages::echo`]: answering faxes sent to the echo number.
    Echo,
    /// [`crate::transparency::sequencer`]: writing the transparency log and
    /// collecting its witnesses' cosignatures.
    Log,
}

impl Role {
    const fn key(self) -> i32 {
        match self {
            Role::Sweeper => 1,
            Role::Echo => 2,
            Role::Log => 3,
        }
    }
}

/// This instance's view of the others (see the module documentation).
pub struct Cluster {
    pg: Option<Pg>,
}

struct Pg {
    db: Db,
    instance_key: i32,
    held: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    conn: Option<AnyConnection>,
    roles: BTreeSet<Role>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("shared", &self.pg.is_some()).finish()
    }
}

/// The presence key of an instance id (32 bits of its random hex id; an id
/// that is not hex has none). Two ids sharing a key only make a dead
/// instance look alive, so its leases lapse instead of being taken over.
fn instance_key(instance: &str) -> Option<i32> {
    let hex = instance.get(..8)?;
    let n = u32::from_str_radix(hex, 16).ok()?;
    i32::try_from(n & 0x7fff_ffff).ok()
}

impl Cluster {
    /// Joins the relays on `db` as `instance` (the blob store's instance id):
    /// takes the presence lock on PostgreSQL, nothing on SQLite.
    pub async fn join(db: &Db, instance: &str) -> Result<Cluster, DbError> {
        if db.backend() != Backend::Postgres {
            return Ok(Cluster { pg: None });
        }
        let pg = Pg { db: db.clone(), instance_key: instance_key(instance).unwrap_or(0), held: Mutex::default() };
        {
            let mut held = pg.held.lock().await;
            pg.connect(&mut held).await?;
        }
        Ok(Cluster { pg: Some(pg) })
    }

    /// Whether this instance runs `role` now: always on SQLite; on PostgreSQL
    /// when it holds (or just took) the role's lock on a live connection.
    /// A database error answers `false` (another instance may take over).
    pub async fn leads(&self, role: Role) -> bool {
        let Some(pg) = &self.pg else { return true };
        let mut held = pg.held.lock().await;
        match pg.leads(&mut held, role).await {
            Ok(leads) => leads,
            Err(e) => {
                tracing::warn!(error = %e, ?role, "lost the database connection holding the relay's locks");
                held.conn = None;
                held.roles.clear();
                false
            }
        }
    }

    /// Whether the instance `instance` is running, as far as the database
    /// knows (it holds its presence lock); `None` on SQLite, where the blob
    /// store answers. A database error answers "alive" (the safe side: its
    /// leases then lapse by themselves).
    pub async fn alive(&self, instance: &str) -> Option<bool> {
        let pg = self.pg.as_ref()?;
        let Some(key) = instance_key(instance) else { return Some(false) };
        let sql = "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 \
                   AND classid::BIGINT = $1 AND objid::BIGINT = $2 \
                   AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";
        match sqlx::query_scalar::<_, i64>(sql)
            .bind(i64::from(INSTANCE_CLASS))
            .bind(i64::from(key))
            .fetch_one(pg.db.pool())
            .await
        {
            Ok(n) => Some(n > 0),
            Err(e) => {
                tracing::warn!(error = %e, "cannot tell whether another relay instance is alive");
                Some(true)
            }
        }
    }

    /// Closes the connection holding this instance's locks (at shutdown), so
    /// another instance takes its roles over at once.
    pub async fn leave(&self) {
        let Some(pg) = &self.pg else { return };
        let mut held = pg.held.lock().await;
        held.roles.clear();
        if let Some(conn) = held.conn.take() {
            let _ = sqlx::Connection::close(conn).await;
        }
    }
}

impl Pg {
    /// Opens the lock connection and takes the presence lock.
    async fn connect(&self, held: &mut Held) -> Result<(), DbError> {
        let mut conn = self.db.pool().acquire().await?.detach();
        let got = try_lock(&mut conn, INSTANCE_CLASS, self.instance_key).await?;
        if !got {
            tracing::warn!("another running relay instance has this one's presence key; its liveness is inexact");
        }
        held.conn = Some(conn);
        held.roles.clear();
        Ok(())
    }

    async fn leads(&self, held: &mut Held, role: Role) -> Result<bool, DbError> {
        match held.conn.as_mut() {
            // The locks live as long as this connection: check that it does.
            Some(conn) => {
                sqlx::query_scalar::<_, i64>("SELECT CAST(1 AS BIGINT)").fetch_one(&mut *conn).await?;
            }
            None => self.connect(held).await?,
        }
        if held.roles.contains(&role) {
            return Ok(true);
        }
        let Some(conn) = held.conn.as_mut() else { return Ok(false) };
        let got = try_lock(conn, ROLE_CLASS, role.key()).await?;
        if got {
            tracing::info!(?role, "this relay instance now runs a relay-wide job");
            held.roles.insert(role);
        }
        Ok(got)
    }
}

/// `pg_try_advisory_lock(class, key)` (session level, so it is held until the connection closes).
async fn try_lock(conn: &mut AnyConnection, class: i32, key: i32) -> Result<bool, DbError> {
    let got: i64 =
        sqlx::query_scalar("SELECT CAST(CASE WHEN pg_try_advisory_lock($1, $2) THEN 1 ELSE 0 END AS BIGINT)")
            .bind(class)
            .bind(key)
            .fetch_one(conn)
            .await?;
    Ok(got == 1)
}

/// The `relay_meta` key naming the local blob folder that holds this database's ciphertext.
const BLOB_FOLDER_META: &str = "local_blob_folder";

/// Binds the database to the local blob folder whose id is `folder_id` (the first relay to
/// start records it), and refuses a relay given another folder: its uploads would land where
/// the other instances cannot read them, and its sweeps would call theirs orphans.
pub async fn check_blob_folder(db: &Db, folder_id: &str, folder: &str) -> anyhow::Result<()> {
    let stored = match db.meta_get(BLOB_FOLDER_META).await? {
        Some(stored) => stored,
        None => {
            let mut tx = db.begin_write().await?;
            let stored = match crate::db::meta_read(&mut tx, BLOB_FOLDER_META).await? {
                Some(other) => other,
                None => {
                    crate::db::meta_insert(&mut tx, BLOB_FOLDER_META, folder_id).await?;
                    folder_id.to_owned()
                }
            };
            tx.commit().await?;
            stored
        }
    };
    if stored != folder_id {
        anyhow::bail!(
            "this database's ciphertext is in another local blob folder than {folder} (its store-id differs): \
             every relay on one database must use the same folder, or all of them a shared bucket (--blob-store s3://…)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_keys_come_from_the_hex_id() {
        assert_eq!(instance_key("0000000a0000"), Some(10));
        assert_eq!(instance_key("ffffffff1234"), Some(0x7fff_ffff));
        assert_eq!(instance_key("short"), None);
        assert_eq!(instance_key("zzzzzzzzzzzz"), None);
        assert_eq!(instance_key("é"), None);
    }
}
