//! The relay operator's work (API.md, Operator): invites, orgs, number
//! claims, and the operator accounts themselves (users without an org, `role
//! = operator`, who sign in with passkeys and run the operator pages). The
//! command line (`crate::cli`) and the operator API (`crate::api::operator`)
//! call these functions. Each change writes its audit row, with the operator
//! as actor, in the same transaction.

use fxe_protocol::api::{InviteInfo, NewInvite, NumberClaim, NumberStatus, OperatorOrg};
use serde::Serialize;

use crate::{
    accounts::validate::is_email,
    clock::{self, Clock},
    db::audit::{self, Actor, Entry},
    db::invites::{self, Invite},
    db::orgs::{self, NumberClaimRow},
    db::setup_links::{self, SetupLinkPurpose},
    db::users::{self, UserRole},
    db::{Db, DbError},
    ids::OrgId,
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

/// Beginning and committing transactions (`sqlx` errors).
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
    db: &Db, public_origin: &str, numbers: Option<&str>, expires_in_secs: i64, note: &str, actor: &Actor, clock: &Clock,
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
    let (invite, token) = invites::create(db, &numbers, expires_in_secs, note, actor, clock.now_ms()).await?;
    Ok(new_invite(public_origin, invite, token))
}

/// The answer that shows an invite's link, the one time it is shown (created, or given a new token).
fn new_invite(public_origin: &str, invite: Invite, token: String) -> NewInvite {
    NewInvite {
        id: invite.id,
        redeem_url: redeem_url(public_origin, &token),
        token,
        numbers: invite.numbers,
        expires_at: clock::rfc3339(invite.expires_at),
    }
}

fn invite_info(i: Invite, now: i64) -> InviteInfo {
    InviteInfo {
        state: i.state(now),
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

pub async fn list_invites(db: &Db, clock: &Clock) -> Result<Vec<InviteInfo>, OperatorError> {
    let now = clock.now_secs();
    Ok(invites::list(db).await?.into_iter().map(|i| invite_info(i, now)).collect())
}

pub async fn revoke_invite(db: &Db, id: &str, actor: &Actor, clock: &Clock) -> Result<(), OperatorError> {
    if invites::revoke(db, id, actor, clock.now_ms()).await? {
        return Ok(());
    }
    match invites::get(db, id).await? {
        None => Err(OperatorError::NotFound(format!("there is no invite {id:?}"))),
        Some(i) => {
            Err(OperatorError::Conflict(format!("invite {id} is {} and cannot be revoked", i.state(clock.now_secs()))))
        }
    }
}

/// A new link for an active invite whose link was lost (only the token's hash is kept, so the old link cannot be
/// shown again); the old link stops working.
pub async fn reissue_invite(
    db: &Db, public_origin: &str, id: &str, actor: &Actor, clock: &Clock,
) -> Result<NewInvite, OperatorError> {
    let Some(token) = invites::reissue(db, id, actor, clock.now_ms()).await? else {
        return Err(match invites::get(db, id).await? {
            None => OperatorError::NotFound(format!("there is no invite {id:?}")),
            Some(i) => {
                OperatorError::Conflict(format!("invite {id} is {} and gets no new link", i.state(clock.now_secs())))
            }
        });
    };
    let invite =
        invites::get(db, id).await?.ok_or_else(|| OperatorError::NotFound(format!("there is no invite {id:?}")))?;
    Ok(new_invite(public_origin, invite, token))
}

pub async fn list_orgs(db: &Db) -> Result<Vec<OperatorOrg>, OperatorError> {
    let orgs = orgs::summaries(db).await?;
    let numbers = orgs::all_numbers(db).await?;
    Ok(orgs
        .into_iter()
        .map(|o| {
            let fingerprint = fxe_protocol::encoding::b64u_fixed::<32>("identity_pub", &o.identity_pub)
                .map(|k| fxe_protocol::ids::fingerprint(&k))
                .unwrap_or_else(|_| "(unreadable identity key)".into());
            let (mut active, mut pending) = (Vec::new(), Vec::new());
            for n in numbers.iter().filter(|n| n.org_id == o.org_id) {
                if n.status == "active" { active.push(n.number.clone()) } else { pending.push(n.number.clone()) }
            }
            OperatorOrg {
                org_name: o.org_name,
                fingerprint,
                created_at: clock::rfc3339(o.created_at),
                disabled_at: o.disabled_at.map(clock::rfc3339),
                echo: o.is_echo != 0,
                numbers: active,
                pending_numbers: pending,
                users: o.users,
                api_keys: o.api_keys,
                passkeys: o.passkeys,
                org_id: o.org_id,
            }
        })
        .collect())
}

/// The refusal for an org id the relay does not know (or a malformed one).
pub fn no_such_org(org_id: &str) -> OperatorError {
    OperatorError::NotFound(format!("there is no org {org_id:?}"))
}

/// Disables (`true`) or re-enables an org. A disabled org's keys and
/// sessions stop working and its numbers leave the directory; nothing is deleted.
pub async fn set_org_disabled(
    db: &Db, org_id: &OrgId, disabled: bool, actor: &Actor, clock: &Clock,
) -> Result<(), OperatorError> {
    let mut tx = db.begin_write().await?;
    let Some(org) = orgs::get(&mut tx, org_id).await? else {
        return Err(no_such_org(org_id));
    };
    if org.is_echo {
        return Err(OperatorError::Conflict("the echo org is built into the relay and cannot be disabled".into()));
    }
    let is_disabled = org.disabled_at.is_some();
    if is_disabled == disabled {
        return Err(OperatorError::Conflict(format!(
            "org {org_id} is already {}",
            if disabled { "disabled" } else { "enabled" }
        )));
    }
    let at = disabled.then(|| clock.now_secs());
    orgs::set_disabled(&mut tx, org_id, at).await?;
    let action = if disabled { "org.disabled" } else { "org.enabled" };
    audit::write(
        &mut tx,
        Entry { at_ms: clock.now_ms(), org_id: Some(org_id), actor, action, target: Some(org_id), detail: None },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

fn claim_view(c: NumberClaimRow) -> Result<NumberClaim, DbError> {
    Ok(NumberClaim {
        number: c.number,
        status: orgs::number_status(&c.status)?,
        org_id: c.org_id,
        org_name: c.org_name,
        created_at: clock::rfc3339(c.created_at),
        approved_at: c.approved_at.map(clock::rfc3339),
    })
}

pub async fn list_numbers(db: &Db, pending_only: bool) -> Result<Vec<NumberClaim>, OperatorError> {
    Ok(orgs::claims(db, pending_only).await?.into_iter().map(claim_view).collect::<Result<_, _>>()?)
}

/// Approves (`true`: the number becomes active and enters the directory) or
/// denies (the claim is deleted) a pending claim.
pub async fn decide_number(
    db: &Db, raw: &str, approve: bool, actor: &Actor, clock: &Clock,
) -> Result<NumberClaim, OperatorError> {
    let number = fxe_protocol::e164::normalize(raw).map_err(|e| OperatorError::Invalid(e.to_string()))?;
    let mut tx = db.begin_write().await?;
    let Some(claim) = orgs::claim(&mut tx, &number).await? else {
        return Err(OperatorError::NotFound(format!("no org holds or claims {number}")));
    };
    if orgs::number_status(&claim.status)? != NumberStatus::Pending {
        return Err(OperatorError::Conflict(format!("{number} is not pending: it is already {}", claim.status)));
    }
    let now = clock.now_secs();
    let (action, view_status, approved_at) = if approve {
        orgs::approve_claim(&mut tx, &number, now).await?;
        ("number.approved", NumberStatus::Active, Some(now))
    } else {
        orgs::deny_claim(&mut tx, &number).await?;
        ("number.denied", NumberStatus::Denied, None)
    };
    audit::write(
        &mut tx,
        Entry {
            at_ms: clock.now_ms(),
            org_id: Some(&claim.org_id),
            actor,
            action,
            target: Some(&number),
            detail: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(NumberClaim { status: view_status, approved_at: approved_at.map(clock::rfc3339), ..claim_view(claim)? })
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
pub async fn add(
    db: &Db, public_origin: &str, email: &str, actor: &Actor, clock: &Clock,
) -> Result<OperatorSetup, OperatorError> {
    let now = clock.now_secs();
    let email = email.trim();
    if !is_email(email) {
        return Err(OperatorError::Invalid(format!("--email {email:?} is not an e-mail address")));
    }
    let mut tx = db.begin_write().await?;
    let (user_id, created) = match users::operator_by_email(&mut tx, email).await? {
        Some(id) => (id, false),
        None => {
            let id = fxe_protocol::encoding::new_uuid_v4()
                .map_err(|_| OperatorError::Invalid("no randomness available".into()))?;
            users::insert(&mut tx, &id, None, email, UserRole::Operator, now).await?;
            (id, true)
        }
    };
    let token = setup_links::create(&mut tx, &user_id, SetupLinkPurpose::Operator, now).await?;
    let action = if created { "operator.added" } else { "operator.setup_link_issued" };
    audit::write(
        &mut tx,
        audit::Entry::new(clock.now_ms(), None, actor, action).on(&user_id).with(serde_json::json!({ "email": email })),
    )
    .await?;
    tx.commit().await?;
    Ok(OperatorSetup {
        user_id,
        email: email.to_owned(),
        created,
        setup_url: setup_links::url(public_origin, &token),
        expires_at: clock::rfc3339(now + setup_links::SETUP_LINK_TTL_SECS),
    })
}

/// Every current operator, oldest first.
pub async fn list(db: &Db) -> Result<Vec<OperatorView>, OperatorError> {
    Ok(users::operators(db)
        .await?
        .into_iter()
        .map(|o| OperatorView {
            user_id: o.id,
            email: o.email,
            created_at: clock::rfc3339(o.created_at),
            passkeys: o.passkeys,
        })
        .collect())
}
