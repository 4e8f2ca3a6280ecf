//! The `users` table: the people of an org (role `admin` or `user`) and the
//! relay's operators (no org, role `operator`). Removal is a timestamp: the
//! audit trail keeps naming them.

use fxe_protocol::api::{Page, User};
use sqlx::{AnyConnection, Row};

use super::{Db, DbError, page::PageRequest};
use crate::clock;

/// A user's role, as stored and on the wire (`admin`, `user`, `operator`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserRole {
    /// An org's admin.
    Admin,
    /// An org's member.
    User,
    /// The relay's operator (no org).
    Operator,
}

impl UserRole {
    /// The stored and API form.
    pub const fn as_str(self) -> &'static str {
        match self {
            UserRole::Admin => "admin",
            UserRole::User => "user",
            UserRole::Operator => "operator",
        }
    }

    /// The role named `s`, if it is one.
    pub fn parse(s: &str) -> Option<UserRole> {
        match s {
            "admin" => Some(UserRole::Admin),
            "user" => Some(UserRole::User),
            "operator" => Some(UserRole::Operator),
            _ => None,
        }
    }
}

super::text_column!(UserRole, "users.role");

const COLUMNS: &str =
    "id, email, role, created_at, (SELECT COUNT(*) FROM passkeys p WHERE p.user_id = users.id) AS passkeys";

fn member_of(row: &sqlx::any::AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        role: row.try_get("role")?,
        created_at: clock::rfc3339(row.try_get("created_at")?),
        passkeys: super::decode_u64(row.try_get("passkeys")?)?,
    })
}

/// A current member of the org.
pub async fn member(conn: &mut AnyConnection, org_id: &str, user_id: &str) -> Result<Option<User>, DbError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1 AND org_id = $2 AND removed_at IS NULL"))
        .bind(user_id)
        .bind(org_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(member_of).transpose()?)
}

/// Every current member of the org, oldest first, with their passkey counts.
pub async fn members(conn: &mut AnyConnection, org_id: &str) -> Result<Vec<User>, DbError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM users WHERE org_id = $1 AND removed_at IS NULL ORDER BY created_at, id"
    ))
    .bind(org_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(member_of).collect::<Result<_, _>>()?)
}

/// A page of the org's current members, newest first.
pub async fn page(db: &Db, org_id: &str, page: &PageRequest) -> Result<Page<User>, DbError> {
    let select = format!("SELECT {COLUMNS} FROM users WHERE org_id = $1 AND removed_at IS NULL");
    super::page::fetch(db.pool(), &select, &[org_id.to_owned()], ("created_at", "id"), page, member_of).await
}

/// Whether a current member of the org has this address (case-insensitive).
pub async fn email_in_org(conn: &mut AnyConnection, org_id: &str, email: &str) -> Result<bool, DbError> {
    let row = sqlx::query("SELECT id FROM users WHERE org_id = $1 AND removed_at IS NULL AND LOWER(email) = LOWER($2)")
        .bind(org_id)
        .bind(email)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

/// Adds a user (`org_id` `None` for an operator).
pub async fn insert(
    conn: &mut AnyConnection, user_id: &str, org_id: Option<&str>, email: &str, role: UserRole, now: i64,
) -> Result<(), DbError> {
    sqlx::query("INSERT INTO users (id, org_id, email, role, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(user_id)
        .bind(org_id)
        .bind(email)
        .bind(role.as_str())
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// How many current admins the org has.
pub async fn admins(conn: &mut AnyConnection, org_id: &str) -> Result<u64, DbError> {
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM users WHERE org_id = $1 AND role = 'admin' AND removed_at IS NULL")
        .bind(org_id)
        .fetch_one(conn)
        .await?
        .try_get(0)?;
    super::to_u64(n)
}

/// How many current members the org has.
pub async fn current_count(conn: &mut AnyConnection, org_id: &str) -> Result<u64, DbError> {
    super::count(conn, "SELECT COUNT(*) FROM users WHERE org_id = $1 AND removed_at IS NULL", org_id).await
}

/// Marks a user removed.
pub async fn remove(conn: &mut AnyConnection, user_id: &str, now: i64) -> Result<(), DbError> {
    sqlx::query("UPDATE users SET removed_at = $1 WHERE id = $2").bind(now).bind(user_id).execute(conn).await?;
    Ok(())
}

/// A user who may sign in: not removed, their org (if any) not disabled.
#[derive(Clone, Debug)]
pub struct ActiveUser {
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub org_id: Option<String>,
    pub org_name: Option<String>,
    /// Whether they asked for a mail when a fax arrives (docs/api.md, "Arrival notices").
    pub notify_arrivals: bool,
}

fn active_of(r: &sqlx::any::AnyRow) -> Result<ActiveUser, sqlx::Error> {
    Ok(ActiveUser {
        user_id: r.try_get("id")?,
        email: r.try_get("email")?,
        role: r.try_get("role")?,
        org_id: r.try_get("org_id")?,
        org_name: r.try_get("org_name")?,
        notify_arrivals: r.try_get::<i64, _>("notify_arrivals")? != 0,
    })
}

/// The users who may sign in: current members of live orgs, and operators.
const ACTIVE_FROM: &str =
    "FROM users u LEFT JOIN orgs o ON o.org_id = u.org_id WHERE u.removed_at IS NULL AND o.disabled_at IS NULL";
const ACTIVE_COLUMNS: &str = "SELECT u.id, u.email, u.role, u.org_id, o.org_name, u.notify_arrivals";

/// The user with this id, if they may sign in.
pub async fn active(conn: &mut AnyConnection, user_id: &str) -> Result<Option<ActiveUser>, DbError> {
    let row = sqlx::query(&format!("{ACTIVE_COLUMNS} {ACTIVE_FROM} AND u.id = $1"))
        .bind(user_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(active_of).transpose()?)
}

/// Turns the member's arrival mails on or off.
pub async fn set_notify_arrivals(conn: &mut AnyConnection, user_id: &str, on: bool) -> Result<(), DbError> {
    sqlx::query("UPDATE users SET notify_arrivals = $1 WHERE id = $2 AND removed_at IS NULL")
        .bind(i64::from(on))
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The address to mail an arrival notice to: the member's, while they are a current member of a live org and
/// still want them.
pub async fn arrival_address(conn: &mut AnyConnection, user_id: &str) -> Result<Option<String>, DbError> {
    Ok(sqlx::query_scalar(&format!("SELECT u.email {ACTIVE_FROM} AND u.id = $1 AND u.notify_arrivals = 1"))
        .bind(user_id)
        .fetch_optional(conn)
        .await?)
}

/// Every user with this address (case-insensitive) who may sign in: one per
/// org they belong to, and an operator account.
pub async fn active_by_email(conn: &mut AnyConnection, email: &str) -> Result<Vec<ActiveUser>, DbError> {
    let rows = sqlx::query(&format!("{ACTIVE_COLUMNS} {ACTIVE_FROM} AND lower(u.email) = lower($1)"))
        .bind(email)
        .fetch_all(conn)
        .await?;
    Ok(rows.iter().map(active_of).collect::<Result<_, _>>()?)
}

/// The id of the current operator account with this address
/// (case-insensitive), if there is one.
pub async fn operator_by_email(conn: &mut AnyConnection, email: &str) -> Result<Option<String>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM users WHERE org_id IS NULL AND role = 'operator' AND lower(email) = lower($1) AND removed_at IS NULL",
    )
    .bind(email)
    .fetch_optional(conn)
    .await?)
}

/// An operator account as listed, with its passkeys counted.
#[derive(Debug, sqlx::FromRow)]
pub struct OperatorRow {
    pub id: String,
    pub email: String,
    pub created_at: i64,
    pub passkeys: i64,
}

/// Every current operator account, oldest first.
pub async fn operators(db: &Db) -> Result<Vec<OperatorRow>, DbError> {
    Ok(sqlx::query_as(
        "SELECT u.id, u.email, u.created_at, (SELECT COUNT(*) FROM passkeys p WHERE p.user_id = u.id) AS passkeys \
         FROM users u WHERE u.org_id IS NULL AND u.role = 'operator' AND u.removed_at IS NULL ORDER BY u.created_at, u.id",
    )
    .fetch_all(db.pool())
    .await?)
}
