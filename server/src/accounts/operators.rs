//! The relay operator's work (API.md, Operator): invites, orgs, number
//! claims, and the operator accounts themselves (users without an org, `role
//! = operator`, who sign in with passkeys and run the operator pages). The
//! command line (`crate::cli`) and the operator API (`crate::api::operator`)
//! call these functions. Each change writes its audit row, with the operator
//! as actor, in the same transaction.

use fxe_protocol::api::{InviteInfo, NewInvite, NumberClaim, OperatorOrg};
use serde::Serialize;
use sqlx::Row;

use crate::{
    accounts::validate::is_email,
    clock,
    db::audit::{self, Actor, Entry},
    db::invites::{self, Invite},
    db::setup_links,
    db::{Db, DbError},
};

/// Invites may be valid for at most this long.
pub const MAX_INVITE_SECS: i64 = 365 * 86_400;

/// An operator action that could not be done; the message says why.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for OperatorError {
    fn from(e: sqlx::Error) -> Self {
        OperatorError::Db(e.into())
    }
}

/// A new invite: its token is shown once.
/// `<public origin>/redeem?token=…`
pub fn redeem_url(public_origin: &str, token: &str) -> String {
    format!("{public_origin}/redeem?token={token}")
}

/// Creates an invite. `numbers` is loose input (`+1 (555) 123-4567, +44…`);
/// `None` lets the org claim any numbers that are free.
pub async fn create_invite(
    db: &Db,
    public_origin: &str,
    numbers: Option<&str>,
    expires_in_secs: i64,
    note: &str,
    actor: &Actor,
) -> Result<NewInvite, OperatorError> {
    let numbers = match numbers {
        Some(n) => {
            fxe_protocol::e164::normalize_list(n).map_err(|e| OperatorError::Invalid(format!("numbers: {e}")))?
        }
        None => Vec::new(),
    };
    if !(60..=MAX_INVITE_SECS).contains(&expires_in_secs) {
        return Err(OperatorError::Invalid("the expiry must be between 1 minute and 365 days".into()));
    }
    let note = note.trim();
    if note.chars().count() > 500 || note.chars().any(char::is_control) {
        return Err(OperatorError::Invalid("the note must be at most 500 characters, on one line".into()));
    }
    let (invite, token) = invites::create(db, &numbers, expires_in_secs, note, actor).await?;
    Ok(NewInvite {
        id: invite.id,
        redeem_url: redeem_url(public_origin, &token),
        token,
        numbers: invite.numbers,
        expires_at: clock::rfc3339(invite.expires_at),
    })
}

fn invite_info(i: Invite, now: i64) -> InviteInfo {
    InviteInfo {
        state: i.state(now).to_owned(),
        id: i.id,
        numbers: i.numbers,
        note: i.note,
        created_at: clock::rfc3339(i.created_at),
        expires_at: clock::rfc3339(i.expires_at),
        used_at: i.used_at.map(clock::rfc3339),
        used_by_org_id: i.used_by_org_id,
        revoked_at: i.revoked_at.map(clock::rfc3339),
    }
}

pub async fn list_invites(db: &Db) -> Result<Vec<InviteInfo>, OperatorError> {
    let now = clock::now_secs();
    Ok(invites::list(db).await?.into_iter().map(|i| invite_info(i, now)).collect())
}

pub async fn revoke_invite(db: &Db, id: &str, actor: &Actor) -> Result<(), OperatorError> {
    if invites::revoke(db, id, actor).await? {
        return Ok(());
    }
    match invites::get(db, id).await? {
        None => Err(OperatorError::NotFound(format!("there is no invite {id:?}"))),
        Some(i) => {
            Err(OperatorError::Conflict(format!("invite {id} is {} and cannot be revoked", i.state(clock::now_secs()))))
        }
    }
}

pub async fn list_orgs(db: &Db) -> Result<Vec<OperatorOrg>, OperatorError> {
    let rows = sqlx::query(
        "SELECT o.org_id, o.org_name, o.identity_pub, o.created_at, o.disabled_at, o.is_echo, \
         (SELECT COUNT(*) FROM users u WHERE u.org_id = o.org_id AND u.removed_at IS NULL) AS users, \
         (SELECT COUNT(*) FROM api_keys k WHERE k.org_id = o.org_id AND k.revoked_at IS NULL) AS api_keys \
         FROM orgs o ORDER BY o.created_at, o.org_id",
    )
    .fetch_all(db.pool())
    .await?;
    let numbers =
        sqlx::query("SELECT number, org_id, status FROM numbers ORDER BY number").fetch_all(db.pool()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let org_id: String = r.try_get("org_id")?;
        let identity_pub: String = r.try_get("identity_pub")?;
        let fingerprint = fxe_protocol::encoding::b64u_fixed::<32>("identity_pub", &identity_pub)
            .map(|k| fxe_protocol::ids::fingerprint(&k))
            .unwrap_or_else(|_| "(unreadable identity key)".into());
        let (mut active, mut pending) = (Vec::new(), Vec::new());
        for n in numbers.iter().filter(|n| n.try_get::<String, _>("org_id").is_ok_and(|o| o == org_id)) {
            let number: String = n.try_get("number")?;
            if n.try_get::<String, _>("status")? == "active" { active.push(number) } else { pending.push(number) }
        }
        out.push(OperatorOrg {
            org_name: r.try_get("org_name")?,
            fingerprint,
            created_at: clock::rfc3339(r.try_get("created_at")?),
            disabled_at: r.try_get::<Option<i64>, _>("disabled_at")?.map(clock::rfc3339),
            echo: r.try_get::<i64, _>("is_echo")? != 0,
            numbers: active,
            pending_numbers: pending,
            users: r.try_get("users")?,
            api_keys: r.try_get("api_keys")?,
            org_id,
        });
    }
    Ok(out)
}

/// Disables (`true`) or re-enables an org. A disabled org's keys and
/// sessions stop working and its numbers leave the directory; nothing is deleted.
pub async fn set_org_disabled(db: &Db, org_id: &str, disabled: bool, actor: &Actor) -> Result<(), OperatorError> {
    let mut tx = db.begin_write().await?;
    let row = sqlx::query("SELECT disabled_at, is_echo FROM orgs WHERE org_id = $1")
        .bind(org_id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row else {
        return Err(OperatorError::NotFound(format!("there is no org {org_id:?}")));
    };
    if row.try_get::<i64, _>("is_echo")? != 0 {
        return Err(OperatorError::Conflict("the echo org is built into the relay and cannot be disabled".into()));
    }
    let is_disabled = row.try_get::<Option<i64>, _>("disabled_at")?.is_some();
    if is_disabled == disabled {
        return Err(OperatorError::Conflict(format!(
            "org {org_id} is already {}",
            if disabled { "disabled" } else { "enabled" }
        )));
    }
    let at = disabled.then(clock::now_secs);
    sqlx::query("UPDATE orgs SET disabled_at = $1 WHERE org_id = $2").bind(at).bind(org_id).execute(&mut *tx).await?;
    let action = if disabled { "org.disabled" } else { "org.enabled" };
    audit::write(&mut tx, Entry { org_id: Some(org_id), actor, action, target: Some(org_id), detail: None }).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn list_numbers(db: &Db, pending_only: bool) -> Result<Vec<NumberClaim>, OperatorError> {
    let filter = if pending_only { "WHERE n.status = 'pending' " } else { "" };
    let rows = sqlx::query(&format!(
        "SELECT n.number, n.status, n.org_id, o.org_name, n.created_at, n.approved_at FROM numbers n JOIN orgs o ON o.org_id = n.org_id \
         {filter}ORDER BY n.created_at, n.number"
    ))
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(NumberClaim {
                number: r.try_get("number")?,
                status: r.try_get("status")?,
                org_id: r.try_get("org_id")?,
                org_name: r.try_get("org_name")?,
                created_at: clock::rfc3339(r.try_get("created_at")?),
                approved_at: r.try_get::<Option<i64>, _>("approved_at")?.map(clock::rfc3339),
            })
        })
        .collect()
}

/// Approves (`true`: the number becomes active and enters the directory) or
/// denies (the claim is deleted) a pending claim.
pub async fn decide_number(db: &Db, raw: &str, approve: bool, actor: &Actor) -> Result<NumberClaim, OperatorError> {
    let number = fxe_protocol::e164::normalize(raw).map_err(|e| OperatorError::Invalid(e.to_string()))?;
    let mut tx = db.begin_write().await?;
    let row = sqlx::query("SELECT n.status, n.org_id, o.org_name, n.created_at FROM numbers n JOIN orgs o ON o.org_id = n.org_id WHERE n.number = $1")
        .bind(&number)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row else {
        return Err(OperatorError::NotFound(format!("no org holds or claims {number}")));
    };
    let status: String = row.try_get("status")?;
    if status != "pending" {
        return Err(OperatorError::Conflict(format!("{number} is not pending: it is already {status}")));
    }
    let org_id: String = row.try_get("org_id")?;
    let now = clock::now_secs();
    let (action, view_status, approved_at) = if approve {
        sqlx::query("UPDATE numbers SET status = 'active', approved_at = $1 WHERE number = $2 AND status = 'pending'")
            .bind(now)
            .bind(&number)
            .execute(&mut *tx)
            .await?;
        ("number.approved", "active", Some(clock::rfc3339(now)))
    } else {
        sqlx::query("DELETE FROM numbers WHERE number = $1 AND status = 'pending'")
            .bind(&number)
            .execute(&mut *tx)
            .await?;
        ("number.denied", "denied", None)
    };
    audit::write(&mut tx, Entry { org_id: Some(&org_id), actor, action, target: Some(&number), detail: None }).await?;
    tx.commit().await?;
    Ok(NumberClaim {
        number,
        status: view_status.into(),
        org_id,
        org_name: row.try_get("org_name")?,
        created_at: clock::rfc3339(row.try_get("created_at")?),
        approved_at,
    })
}

/// An operator's new setup link (shown once).
#[derive(Debug, Serialize)]
pub struct OperatorSetup {
    pub user_id: String,
    pub email: String,
    /// `true` when the operator was created now, `false` for a new link to an existing one.
    pub created: bool,
    pub setup_url: String,
    pub expires_at: String,
}

/// An operator as listed.
#[derive(Debug, Serialize)]
pub struct OperatorView {
    pub user_id: String,
    pub email: String,
    pub created_at: String,
    pub passkeys: i64,
}

/// Adds an operator (or finds the one with this address) and issues a setup link.
pub async fn add(db: &Db, public_origin: &str, email: &str, actor: &Actor) -> Result<OperatorSetup, OperatorError> {
    let email = email.trim();
    if !is_email(email) {
        return Err(OperatorError::Invalid(format!("--email {email:?} is not an e-mail address")));
    }
    let mut tx = db.begin_write().await?;
    let existing = sqlx::query("SELECT id FROM users WHERE org_id IS NULL AND role = 'operator' AND lower(email) = lower($1) AND removed_at IS NULL")
        .bind(email)
        .fetch_optional(&mut *tx)
        .await?;
    let (user_id, created) = match existing {
        Some(row) => (row.try_get::<String, _>("id")?, false),
        None => {
            let id = fxe_protocol::encoding::new_uuid_v4()
                .map_err(|_| OperatorError::Invalid("no randomness available".into()))?;
            sqlx::query(
                "INSERT INTO users (id, org_id, email, role, created_at) VALUES ($1, NULL, $2, 'operator', $3)",
            )
            .bind(&id)
            .bind(email)
            .bind(clock::now_secs())
            .execute(&mut *tx)
            .await?;
            (id, true)
        }
    };
    let token = setup_links::create(&mut tx, &user_id, "operator").await?;
    let action = if created { "operator.added" } else { "operator.setup_link_issued" };
    audit::write(
        &mut tx,
        audit::Entry {
            org_id: None,
            actor,
            action,
            target: Some(&user_id),
            detail: Some(serde_json::json!({ "email": email })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(OperatorSetup {
        user_id,
        email: email.to_owned(),
        created,
        setup_url: setup_links::url(public_origin, &token),
        expires_at: clock::rfc3339(clock::now_secs() + setup_links::SETUP_LINK_TTL_SECS),
    })
}

/// Every current operator, oldest first.
pub async fn list(db: &Db) -> Result<Vec<OperatorView>, OperatorError> {
    let rows = sqlx::query(
        "SELECT u.id, u.email, u.created_at, (SELECT COUNT(*) FROM passkeys p WHERE p.user_id = u.id) AS passkeys \
         FROM users u WHERE u.org_id IS NULL AND u.role = 'operator' AND u.removed_at IS NULL ORDER BY u.created_at, u.id",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(OperatorView {
                user_id: r.try_get("id")?,
                email: r.try_get("email")?,
                created_at: clock::rfc3339(r.try_get("created_at")?),
                passkeys: r.try_get("passkeys")?,
            })
        })
        .collect()
}
