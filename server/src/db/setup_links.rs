//! Single-use passkey setup links (`/setup/{token}`, 24 h): the first admin
//! after redemption, invited teammates, recovery, operators.

use sqlx::AnyConnection;

use crate::{db::DbError, db::invites::hash_token};

pub const SETUP_LINK_TTL_SECS: i64 = 24 * 60 * 60;

/// Why a setup link was made (the `purpose` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetupLinkPurpose {
    /// The first admin of an org just redeemed.
    Enrol,
    /// A teammate an admin added.
    Invite,
    /// A person who lost their passkey (self-service or an admin's new link).
    Recover,
    /// A relay operator added from the command line or by another operator.
    Operator,
}

impl SetupLinkPurpose {
    /// The value stored in `setup_tokens.purpose`.
    pub fn as_str(self) -> &'static str {
        match self {
            SetupLinkPurpose::Enrol => "enrol",
            SetupLinkPurpose::Invite => "invite",
            SetupLinkPurpose::Recover => "recover",
            SetupLinkPurpose::Operator => "operator",
        }
    }
}

/// Creates a link for `user_id` and returns its token (shown once).
pub async fn create(
    conn: &mut AnyConnection, user_id: &str, purpose: SetupLinkPurpose, now: i64,
) -> Result<String, DbError> {
    let b: [u8; 32] =
        fxe_protocol::random_bytes().map_err(|_| DbError::Query(sqlx::Error::Protocol("no randomness".into())))?;
    let token = format!("set_{}", fxe_protocol::encoding::b64u_encode(&b));
    sqlx::query(
        "INSERT INTO setup_tokens (token_sha256, user_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash_token(&token))
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(now)
    .bind(now + SETUP_LINK_TTL_SECS)
    .execute(conn)
    .await?;
    Ok(token)
}

pub fn url(public_origin: &str, token: &str) -> String {
    format!("{public_origin}/setup/{token}")
}

/// Ends the user's unused setup links (a new one replaces them; a removed
/// user keeps none).
pub async fn expire_unused(conn: &mut AnyConnection, user_id: &str, now: i64) -> Result<(), DbError> {
    sqlx::query("UPDATE setup_tokens SET expires_at = $1 WHERE user_id = $2 AND used_at IS NULL AND expires_at > $1")
        .bind(now)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A setup link as stored.
#[derive(Debug, sqlx::FromRow)]
pub struct SetupLink {
    pub user_id: crate::ids::UserId,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// Where a setup link stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetupLinkState {
    /// Unused and unexpired: it may enrol a passkey.
    Live,
    Used,
    Expired,
}

impl SetupLink {
    /// Its state at `now` (a used link counts as used, expired or not).
    pub fn state(&self, now: i64) -> SetupLinkState {
        if self.used_at.is_some() {
            SetupLinkState::Used
        } else if self.expires_at <= now {
            SetupLinkState::Expired
        } else {
            SetupLinkState::Live
        }
    }
}

/// The link with this token, in any state.
pub async fn by_token(conn: &mut AnyConnection, token: &str) -> Result<Option<SetupLink>, DbError> {
    Ok(sqlx::query_as("SELECT user_id, expires_at, used_at FROM setup_tokens WHERE token_sha256 = $1")
        .bind(hash_token(token))
        .fetch_optional(conn)
        .await?)
}

/// Uses up the live link whose token hashes to `token_sha256`; `false` if it
/// was used or expired meanwhile.
pub async fn mark_used(conn: &mut AnyConnection, token_sha256: &str, now: i64) -> Result<bool, DbError> {
    let n = sqlx::query(
        "UPDATE setup_tokens SET used_at = $1 WHERE token_sha256 = $2 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(token_sha256)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// How many unused, unexpired recovery links the user has.
pub async fn live_recovery_links(conn: &mut AnyConnection, user_id: &str, now: i64) -> Result<u64, DbError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) AS n FROM setup_tokens WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(user_id)
    .bind(SetupLinkPurpose::Recover.as_str())
    .bind(now)
    .fetch_one(conn)
    .await?;
    super::to_u64(n)
}
