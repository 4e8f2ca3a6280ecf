//! Orgs, their numbers and bundles as stored by the relay.

use fxe_protocol::api::{self, NumberInfo, NumberStatus, OrgBundle, OrgCounts};
use fxe_protocol::bundle::Bundle;
use sqlx::{AnyConnection, Row};

use crate::{clock, db::DbError};

/// How long a retired bundle is still accepted for new messages (sealed during a rotation).
pub const RETIRED_GRACE_SECS: i64 = 3600;

pub struct OrgRow {
    pub org_id: String,
    pub org_name: String,
    pub identity_pub: String,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
    pub is_echo: bool,
}

impl OrgRow {
    pub fn identity_bytes(&self) -> Result<[u8; 32], DbError> {
        fxe_protocol::encoding::b64u_fixed::<32>("identity_pub", &self.identity_pub)
            .map_err(|e| DbError::Query(sqlx::Error::Decode(e.to_string().into())))
    }
}

pub async fn get(conn: &mut AnyConnection, org_id: &str) -> Result<Option<OrgRow>, DbError> {
    let row = sqlx::query(
        "SELECT org_id, org_name, identity_pub, created_at, disabled_at, is_echo FROM orgs WHERE org_id = $1",
    )
    .bind(org_id)
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(OrgRow {
        org_id: row.try_get("org_id")?,
        org_name: row.try_get("org_name")?,
        identity_pub: row.try_get("identity_pub")?,
        created_at: row.try_get("created_at")?,
        disabled_at: row.try_get("disabled_at")?,
        is_echo: row.try_get::<i64, _>("is_echo")? != 0,
    }))
}

/// A stored bundle, parsed (once per process: [`super::bundle_cache`]).
fn parse_bundle(json: &str) -> Result<Bundle, DbError> {
    super::bundle_cache::parse(json).map_err(|e| DbError::Query(sqlx::Error::Decode(e.to_string().into())))
}

/// The org's active bundle.
pub async fn active_bundle(conn: &mut AnyConnection, org_id: &str) -> Result<Option<Bundle>, DbError> {
    let row = sqlx::query("SELECT bundle_json FROM bundles WHERE org_id = $1 AND active = 1")
        .bind(org_id)
        .fetch_optional(conn)
        .await?;
    row.map(|r| parse_bundle(&r.try_get::<String, _>("bundle_json")?)).transpose()
}

/// A bundle of the org that may be used for a new message now: the active one,
/// or one retired less than an hour ago.
pub async fn usable_bundle(
    conn: &mut AnyConnection, org_id: &str, bundle_id: &str, now: i64,
) -> Result<Option<Bundle>, DbError> {
    let row = sqlx::query("SELECT bundle_json, active, retired_at FROM bundles WHERE org_id = $1 AND bundle_id = $2")
        .bind(org_id)
        .bind(bundle_id)
        .fetch_optional(conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let active: i64 = row.try_get("active")?;
    let retired_at: Option<i64> = row.try_get("retired_at")?;
    let usable = active == 1 || retired_at.is_some_and(|t| t > now - RETIRED_GRACE_SECS);
    if !usable {
        return Ok(None);
    }
    Ok(Some(parse_bundle(&row.try_get::<String, _>("bundle_json")?)?))
}

/// Any bundle the org ever published (to verify receipts of old messages).
pub async fn any_bundle(conn: &mut AnyConnection, org_id: &str, bundle_id: &str) -> Result<Option<Bundle>, DbError> {
    let row = sqlx::query("SELECT bundle_json FROM bundles WHERE org_id = $1 AND bundle_id = $2")
        .bind(org_id)
        .bind(bundle_id)
        .fetch_optional(conn)
        .await?;
    row.map(|r| parse_bundle(&r.try_get::<String, _>("bundle_json")?)).transpose()
}

/// Every bundle, newest first.
pub async fn bundles(conn: &mut AnyConnection, org_id: &str) -> Result<Vec<OrgBundle>, DbError> {
    let rows = sqlx::query("SELECT bundle_json, active, retired_at FROM bundles WHERE org_id = $1 ORDER BY created_at DESC, bundle_id DESC")
        .bind(org_id)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(OrgBundle {
                bundle: parse_bundle(&r.try_get::<String, _>("bundle_json")?)?,
                active: r.try_get::<i64, _>("active")? == 1,
                retired_at: r.try_get::<Option<i64>, _>("retired_at")?.map(clock::rfc3339),
            })
        })
        .collect()
}

/// The org that holds `number` as an active number, if any and not disabled.
pub async fn owner_of(conn: &mut AnyConnection, number: &str) -> Result<Option<OrgRow>, DbError> {
    let row = sqlx::query("SELECT n.org_id FROM numbers n JOIN orgs o ON o.org_id = n.org_id WHERE n.number = $1 AND n.status = 'active' AND o.disabled_at IS NULL")
        .bind(number)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(r) => get(conn, &r.try_get::<String, _>("org_id")?).await,
        None => Ok(None),
    }
}

pub async fn numbers(conn: &mut AnyConnection, org_id: &str) -> Result<Vec<NumberInfo>, DbError> {
    let rows = sqlx::query("SELECT number, status, created_at FROM numbers WHERE org_id = $1 ORDER BY number")
        .bind(org_id)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(NumberInfo {
                number: r.try_get("number")?,
                status: number_status(&r.try_get::<String, _>("status")?)?,
                created_at: clock::rfc3339(r.try_get("created_at")?),
            })
        })
        .collect()
}

/// `GET /org`: the org as its members see it.
pub async fn org_view(conn: &mut AnyConnection, org_id: &str) -> Result<Option<api::Org>, DbError> {
    let Some(org) = get(conn, org_id).await? else { return Ok(None) };
    let identity = org.identity_bytes()?;
    let active = active_bundle(conn, org_id).await?.ok_or(DbError::Query(sqlx::Error::RowNotFound))?;
    let messages = super::messages::counts_for(conn, org_id).await?;
    let counts = OrgCounts {
        inbox_queued: messages.inbox_queued,
        messages_received: messages.received,
        messages_sent: messages.sent,
        users: super::users::current_count(conn, org_id).await?,
        api_keys: super::api_keys::live_count(conn, org_id).await?,
    };
    Ok(Some(api::Org {
        org_id: org.org_id.clone(),
        org_name: org.org_name.clone(),
        identity_pub: org.identity_pub.clone(),
        fingerprint: fxe_protocol::ids::fingerprint(&identity),
        numbers: numbers(conn, org_id).await?,
        active_bundle: active,
        counts,
        created_at: clock::rfc3339(org.created_at),
        disabled: org.disabled_at.is_some(),
    }))
}

/// Serialises changes to one org inside a write transaction: on PostgreSQL
/// this takes the org row's lock until the transaction ends (SQLite's
/// `BEGIN IMMEDIATE` already serialises every writer). Use it before
/// read-then-write checks such as "not the last admin" or "newer than the
/// active bundle". `Ok(false)` when there is no such org.
pub async fn lock(conn: &mut AnyConnection, org_id: &str) -> Result<bool, DbError> {
    let n = sqlx::query("UPDATE orgs SET org_name = org_name WHERE org_id = $1")
        .bind(org_id)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Records that the directory (orgs, bundles, active numbers) changed, in the caller's
/// transaction: the transparency log's sequencer reads the directory tables again when
/// [`directory_version`] moved (`transparency::sequencer`). Every write here to those
/// tables calls it.
async fn changed(conn: &mut AnyConnection) -> Result<(), DbError> {
    sqlx::query("UPDATE directory_version SET version = version + 1 WHERE id = 1").execute(conn).await?;
    Ok(())
}

/// The directory's change counter (see [`changed`]).
pub async fn directory_version(db: &super::Db) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar("SELECT version FROM directory_version WHERE id = 1").fetch_one(db.pool()).await?)
}

/// A new org's row.
pub struct NewOrg<'a> {
    pub org_id: &'a str,
    pub org_name: &'a str,
    /// base64url, as the org sent it.
    pub identity_pub: &'a str,
    pub created_at: i64,
    pub is_echo: bool,
}

/// Inserts an org; `false` if its id exists (a concurrent redemption won).
pub async fn insert(conn: &mut AnyConnection, o: NewOrg<'_>) -> Result<bool, DbError> {
    let n = sqlx::query(
        "INSERT INTO orgs (org_id, org_name, identity_pub, created_at, is_echo) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(o.org_id)
    .bind(o.org_name)
    .bind(o.identity_pub)
    .bind(o.created_at)
    .bind(i64::from(o.is_echo))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 1 {
        changed(conn).await?;
    }
    Ok(n == 1)
}

/// The org holding or claiming `number` (any status), if any.
pub async fn number_holder(conn: &mut AnyConnection, number: &str) -> Result<Option<String>, DbError> {
    let row = sqlx::query("SELECT org_id FROM numbers WHERE number = $1").bind(number).fetch_optional(conn).await?;
    Ok(row.map(|r| r.try_get("org_id")).transpose()?)
}

/// A number's row: who holds it, in which state, since when.
pub async fn number(conn: &mut AnyConnection, number: &str) -> Result<Option<(String, NumberInfo)>, DbError> {
    let row = sqlx::query("SELECT org_id, status, created_at FROM numbers WHERE number = $1")
        .bind(number)
        .fetch_optional(conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let info = NumberInfo {
        number: number.to_owned(),
        status: number_status(&row.try_get::<String, _>("status")?)?,
        created_at: clock::rfc3339(row.try_get("created_at")?),
    };
    Ok(Some((row.try_get("org_id")?, info)))
}

/// Adds a number to an org, active at once (redemption, the echo org) or
/// `pending` the operator's approval (a claim); `false` if any org holds or
/// claims it already.
pub async fn insert_number(
    conn: &mut AnyConnection, number: &str, org_id: &str, active: bool, now: i64,
) -> Result<bool, DbError> {
    let sql = if active {
        "INSERT INTO numbers (number, org_id, status, created_at, approved_at) VALUES ($1, $2, 'active', $3, $3) ON CONFLICT (number) DO NOTHING"
    } else {
        "INSERT INTO numbers (number, org_id, status, created_at) VALUES ($1, $2, 'pending', $3) ON CONFLICT (number) DO NOTHING"
    };
    let n = sqlx::query(sql).bind(number).bind(org_id).bind(now).execute(&mut *conn).await?.rows_affected();
    if n == 1 && active {
        changed(conn).await?;
    }
    Ok(n == 1)
}

/// How many claims of the org wait for the operator.
pub async fn pending_claims(conn: &mut AnyConnection, org_id: &str) -> Result<u64, DbError> {
    super::count(conn, "SELECT COUNT(*) FROM numbers WHERE org_id = $1 AND status = 'pending'", org_id).await
}

/// Removes one of the org's numbers (or a pending claim); its status before,
/// or `None` if the org has no such number.
pub async fn release_number(conn: &mut AnyConnection, number: &str, org_id: &str) -> Result<Option<String>, DbError> {
    let row = sqlx::query("DELETE FROM numbers WHERE number = $1 AND org_id = $2 RETURNING status")
        .bind(number)
        .bind(org_id)
        .fetch_optional(&mut *conn)
        .await?;
    if row.is_some() {
        changed(conn).await?;
    }
    Ok(row.map(|r| r.try_get("status")).transpose()?)
}

/// Whether a bundle with this id was ever published (by any org).
pub async fn bundle_exists(conn: &mut AnyConnection, bundle_id: &str) -> Result<bool, DbError> {
    let row =
        sqlx::query("SELECT bundle_id FROM bundles WHERE bundle_id = $1").bind(bundle_id).fetch_optional(conn).await?;
    Ok(row.is_some())
}

/// Publishes `bundle` as the org's active bundle, retiring the active one
/// (if any) at `now`; `false` if the bundle id exists already.
pub async fn publish_bundle(
    conn: &mut AnyConnection, org_id: &str, bundle: &Bundle, now: i64,
) -> Result<bool, DbError> {
    sqlx::query("UPDATE bundles SET active = 0, retired_at = $1 WHERE org_id = $2 AND active = 1")
        .bind(now)
        .bind(org_id)
        .execute(&mut *conn)
        .await?;
    let n = sqlx::query(
        "INSERT INTO bundles (bundle_id, org_id, created_at, bundle_json, published_at, active) VALUES ($1, $2, $3, $4, $5, 1) \
         ON CONFLICT (bundle_id) DO NOTHING",
    )
    .bind(&bundle.bundle_id)
    .bind(org_id)
    .bind(super::to_i64(bundle.created_at)?)
    .bind(bundle.to_json())
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    changed(conn).await?;
    Ok(n == 1)
}

/// An org as the operator lists it: its row, with its current users and
/// unrevoked API keys counted.
#[derive(Debug, sqlx::FromRow)]
pub struct OrgSummary {
    pub org_id: String,
    pub org_name: String,
    /// base64url.
    pub identity_pub: String,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
    /// 0 or 1.
    pub is_echo: i64,
    pub users: i64,
    pub api_keys: i64,
    pub passkeys: i64,
}

/// Every org, oldest first.
pub async fn summaries(db: &super::Db) -> Result<Vec<OrgSummary>, DbError> {
    Ok(sqlx::query_as(
        "SELECT o.org_id, o.org_name, o.identity_pub, o.created_at, o.disabled_at, o.is_echo, \
         (SELECT COUNT(*) FROM users u WHERE u.org_id = o.org_id AND u.removed_at IS NULL) AS users, \
         (SELECT COUNT(*) FROM api_keys k WHERE k.org_id = o.org_id AND k.revoked_at IS NULL) AS api_keys, \
         (SELECT COUNT(*) FROM passkeys p JOIN users u ON u.id = p.user_id \
          WHERE u.org_id = o.org_id AND u.removed_at IS NULL) AS passkeys \
         FROM orgs o ORDER BY o.created_at, o.org_id",
    )
    .fetch_all(db.pool())
    .await?)
}

/// A number held or claimed by an org.
#[derive(Debug, sqlx::FromRow)]
pub struct HeldNumber {
    pub number: String,
    pub org_id: String,
    /// `active` or `pending`.
    pub status: String,
}

/// Every number of every org (active or claimed), in number order.
pub async fn all_numbers(db: &super::Db) -> Result<Vec<HeldNumber>, DbError> {
    Ok(sqlx::query_as("SELECT number, org_id, status FROM numbers ORDER BY number").fetch_all(db.pool()).await?)
}

/// Disables the org (`Some(at)`) or enables it again (`None`).
pub async fn set_disabled(conn: &mut AnyConnection, org_id: &str, disabled_at: Option<i64>) -> Result<(), DbError> {
    sqlx::query("UPDATE orgs SET disabled_at = $1 WHERE org_id = $2")
        .bind(disabled_at)
        .bind(org_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A number with its org's name, as the operator reviews claims.
#[derive(Debug, sqlx::FromRow)]
pub struct NumberClaimRow {
    pub number: String,
    /// `active` or `pending` (see [`number_status`]).
    pub status: String,
    pub org_id: String,
    pub org_name: String,
    pub created_at: i64,
    pub approved_at: Option<i64>,
}

const CLAIMS: &str = "SELECT n.number, n.status, n.org_id, o.org_name, n.created_at, n.approved_at \
     FROM numbers n JOIN orgs o ON o.org_id = n.org_id";

/// Every number (or only the pending claims), oldest first.
pub async fn claims(db: &super::Db, pending_only: bool) -> Result<Vec<NumberClaimRow>, DbError> {
    let filter = if pending_only { " WHERE n.status = 'pending'" } else { "" };
    Ok(sqlx::query_as(&format!("{CLAIMS}{filter} ORDER BY n.created_at, n.number")).fetch_all(db.pool()).await?)
}

/// One number with its org's name, if any org holds or claims it.
pub async fn claim(conn: &mut AnyConnection, number: &str) -> Result<Option<NumberClaimRow>, DbError> {
    Ok(sqlx::query_as(&format!("{CLAIMS} WHERE n.number = $1")).bind(number).fetch_optional(conn).await?)
}

/// Makes a pending claim an active number (it enters the directory).
pub async fn approve_claim(conn: &mut AnyConnection, number: &str, now: i64) -> Result<(), DbError> {
    sqlx::query("UPDATE numbers SET status = 'active', approved_at = $1 WHERE number = $2 AND status = 'pending'")
        .bind(now)
        .bind(number)
        .execute(&mut *conn)
        .await?;
    changed(conn).await
}

/// Deletes a pending claim.
pub async fn deny_claim(conn: &mut AnyConnection, number: &str) -> Result<(), DbError> {
    sqlx::query("DELETE FROM numbers WHERE number = $1 AND status = 'pending'").bind(number).execute(conn).await?;
    Ok(())
}

/// The `numbers.status` column as its enum.
pub fn number_status(value: &str) -> Result<NumberStatus, DbError> {
    super::parse_column("numbers.status", value, NumberStatus::parse)
}

/// The directory as the transparency log records it: every org's identity,
/// every bundle (the active one last for its org), every active number.
#[derive(Debug, Default)]
pub struct DirectoryRows {
    /// `(org_id, identity_pub b64u)`, oldest org first.
    pub orgs: Vec<(String, String)>,
    /// `(bundle_id, org_id)`, per org in publication order with the active bundle last.
    pub bundles: Vec<(String, String)>,
    /// `(number, org_id)` of every active number.
    pub numbers: Vec<(String, String)>,
}

/// Reads [`DirectoryRows`] in one read transaction (one consistent view on PostgreSQL).
pub async fn directory_rows(db: &super::Db) -> Result<DirectoryRows, DbError> {
    let mut tx = db.pool().begin().await?;
    let orgs = sqlx::query("SELECT org_id, identity_pub FROM orgs ORDER BY created_at, org_id")
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("org_id")?, r.try_get("identity_pub")?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let bundles = sqlx::query("SELECT bundle_id, org_id FROM bundles ORDER BY org_id, active, created_at, bundle_id")
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("bundle_id")?, r.try_get("org_id")?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let numbers = sqlx::query("SELECT number, org_id FROM numbers WHERE status = 'active' ORDER BY number")
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("number")?, r.try_get("org_id")?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    tx.commit().await?;
    Ok(DirectoryRows { orgs, bundles, numbers })
}

/// One bundle by id, whatever its org or state.
pub async fn bundle_by_id(db: &super::Db, bundle_id: &str) -> Result<Option<Bundle>, DbError> {
    let row = sqlx::query("SELECT bundle_json FROM bundles WHERE bundle_id = $1")
        .bind(bundle_id)
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| parse_bundle(&r.try_get::<String, _>("bundle_json")?)).transpose()
}
