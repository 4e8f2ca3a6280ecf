//! Relay operator accounts: users without an org (`role = operator`) who
//! sign in with passkeys like everyone and run the operator pages.
//! `fxe-server operator add --email …` creates one (or, for an existing
//! operator, issues a new link) and prints its passkey setup link.

use serde::Serialize;
use sqlx::Row;

use crate::{
    audit::{self, Actor},
    clock,
    db::Db,
    operator::OperatorError,
    setup_links,
};

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
    if !crate::api::redeem::is_email(email) {
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
