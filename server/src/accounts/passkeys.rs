//! Passkeys (WebAuthn, webauthn-rs): the relying party, the ceremony state
//! kept in the database (single-use, 5 minutes), and the stored credentials.
//!
//! Users enrol through a setup link (or, signed in, add another passkey) and
//! sign in with a discoverable credential: no username, the authenticator
//! names the user. WebAuthn needs a host name as relying-party id, so a relay
//! whose public URL is an IP address serves no passkey ceremonies (the
//! endpoints say so) until `--public-url` names a host (`http://localhost:3000`).

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use sqlx::{AnyConnection, Row};
use webauthn_rs::prelude::{
    CreationChallengeResponse, CredentialID, DiscoverableAuthentication, Passkey, PasskeyRegistration,
    RequestChallengeResponse, Uuid, Webauthn, WebauthnBuilder,
};

use crate::{clock, db::DbError};

/// How long a started ceremony may be finished.
pub const CEREMONY_TTL_SECS: i64 = 5 * 60;

/// The relay as a WebAuthn relying party, or why it cannot be one.
pub enum RelyingParty {
    Ready(Box<Webauthn>),
    Unavailable(String),
}

impl RelyingParty {
    /// The relying party for the relay's public URL: its host is the RP id,
    /// its origin the only origin accepted.
    pub fn for_public_url(public_url: &url::Url) -> RelyingParty {
        let Some(host) = public_url.domain() else {
            return RelyingParty::Unavailable(format!(
                "passkeys need the relay to be reached by a host name, not an IP address: start it with --public-url http://localhost:{} (or its real https name)",
                public_url.port_or_known_default().unwrap_or(80)
            ));
        };
        let origin = match url::Url::parse(&public_url.origin().ascii_serialization()) {
            Ok(o) => o,
            Err(e) => return RelyingParty::Unavailable(format!("the public URL has no usable origin: {e}")),
        };
        match WebauthnBuilder::new(host, &origin).map(|b| b.rp_name("fxe")).and_then(|b| b.build()) {
            Ok(w) => RelyingParty::Ready(Box::new(w)),
            Err(e) => RelyingParty::Unavailable(format!("cannot act as a WebAuthn relying party for {origin}: {e}")),
        }
    }

    pub fn get(&self) -> Result<&Webauthn, &str> {
        match self {
            RelyingParty::Ready(w) => Ok(w),
            RelyingParty::Unavailable(why) => Err(why),
        }
    }
}

/// The options a browser passes to `navigator.credentials.create()`, asking
/// for a discoverable credential (sign-in without a username needs one).
pub fn registration_options(ccr: &CreationChallengeResponse) -> Result<Value, serde_json::Error> {
    let mut v = serde_json::to_value(ccr)?;
    if let Some(sel) = v.pointer_mut("/publicKey/authenticatorSelection").and_then(Value::as_object_mut) {
        sel.insert("residentKey".into(), "required".into());
        sel.insert("requireResidentKey".into(), true.into());
    }
    Ok(v)
}

/// The options for `navigator.credentials.get()` behind a "Sign in" button:
/// discoverable, user verification required, no conditional mediation.
pub fn authentication_options(rcr: &RequestChallengeResponse) -> Result<Value, serde_json::Error> {
    let mut v = serde_json::to_value(rcr)?;
    if let Some(o) = v.as_object_mut() {
        o.remove("mediation");
    }
    Ok(v)
}

/// What a started ceremony is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CeremonyKind {
    /// Enrolment of a new passkey for `user_id` (through a setup link, or by
    /// a signed-in user adding another).
    Register,
    /// Sign-in with a discoverable credential.
    Login,
}

impl CeremonyKind {
    fn as_str(self) -> &'static str {
        match self {
            CeremonyKind::Register => "register",
            CeremonyKind::Login => "login",
        }
    }
}

/// A stored ceremony, taken (deleted) when it is finished.
pub struct Ceremony<S> {
    pub user_id: Option<String>,
    /// The setup link the enrolment started from (its hash), if any.
    pub setup_token_sha256: Option<String>,
    pub state: S,
}

fn no_randomness() -> DbError {
    DbError::Query(sqlx::Error::Protocol("no randomness".into()))
}

/// Stores a started ceremony; returns its id (the client sends it back).
pub async fn store_ceremony<S: Serialize>(
    conn: &mut AnyConnection,
    kind: CeremonyKind,
    user_id: Option<&str>,
    setup_token_sha256: Option<&str>,
    state: &S,
) -> Result<String, DbError> {
    let b: [u8; 24] = fxe_protocol::random_bytes().map_err(|_| no_randomness())?;
    let id = format!("wac_{}", fxe_protocol::encoding::b64u_encode(&b));
    let json = serde_json::to_string(state)
        .map_err(|e| DbError::Query(sqlx::Error::Protocol(format!("ceremony state: {e}"))))?;
    let now = clock::now_secs();
    // Expired ceremonies go as new ones start: the table stays small.
    sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at <= $1").bind(now).execute(&mut *conn).await?;
    sqlx::query(
        "INSERT INTO webauthn_ceremonies (id, kind, user_id, setup_token_sha256, state_json, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(kind.as_str())
    .bind(user_id)
    .bind(setup_token_sha256)
    .bind(json)
    .bind(now + CEREMONY_TTL_SECS)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Takes a live ceremony of `kind` (single use: it is deleted whatever happens next).
pub async fn take_ceremony<S: DeserializeOwned>(
    conn: &mut AnyConnection,
    kind: CeremonyKind,
    id: &str,
) -> Result<Option<Ceremony<S>>, DbError> {
    let row = sqlx::query("SELECT user_id, setup_token_sha256, state_json, expires_at FROM webauthn_ceremonies WHERE id = $1 AND kind = $2")
        .bind(id)
        .bind(kind.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let deleted = sqlx::query("DELETE FROM webauthn_ceremonies WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let expires_at: i64 = row.try_get("expires_at")?;
    if deleted != 1 || expires_at <= clock::now_secs() {
        return Ok(None);
    }
    let json: String = row.try_get("state_json")?;
    let Ok(state) = serde_json::from_str(&json) else { return Ok(None) };
    Ok(Some(Ceremony {
        user_id: row.try_get("user_id")?,
        setup_token_sha256: row.try_get("setup_token_sha256")?,
        state,
    }))
}

pub type Registration = PasskeyRegistration;
pub type Login = DiscoverableAuthentication;

/// A stored passkey of a user.
pub struct StoredPasskey {
    pub id: String,
    pub user_id: String,
    pub label: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub passkey: Passkey,
}

fn credential_key(id: &CredentialID) -> String {
    fxe_protocol::encoding::b64u_encode(id.as_ref())
}

/// Saves a newly enrolled passkey; `Ok(false)` when the credential is
/// already registered (to anyone).
pub async fn insert(
    conn: &mut AnyConnection,
    user_id: &str,
    label: &str,
    passkey: &Passkey,
) -> Result<Option<String>, DbError> {
    let id = fxe_protocol::encoding::new_uuid_v4().map_err(|_| no_randomness())?;
    let json =
        serde_json::to_string(passkey).map_err(|e| DbError::Query(sqlx::Error::Protocol(format!("passkey: {e}"))))?;
    let inserted = sqlx::query(
        "INSERT INTO passkeys (id, user_id, credential_id, passkey_json, label, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (credential_id) DO NOTHING",
    )
    .bind(&id)
    .bind(user_id)
    .bind(credential_key(passkey.cred_id()))
    .bind(json)
    .bind(label)
    .bind(clock::now_secs())
    .execute(conn)
    .await?
    .rows_affected();
    Ok((inserted == 1).then_some(id))
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<Option<StoredPasskey>, DbError> {
    let json: String = row.try_get("passkey_json")?;
    let Ok(passkey) = serde_json::from_str::<Passkey>(&json) else {
        tracing::error!("a stored passkey does not parse; it is ignored");
        return Ok(None);
    };
    Ok(Some(StoredPasskey {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        label: row.try_get("label")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        passkey,
    }))
}

/// The passkey with this credential id.
pub async fn by_credential(conn: &mut AnyConnection, credential_id: &[u8]) -> Result<Option<StoredPasskey>, DbError> {
    let row = sqlx::query(
        "SELECT id, user_id, label, created_at, last_used_at, passkey_json FROM passkeys WHERE credential_id = $1",
    )
    .bind(fxe_protocol::encoding::b64u_encode(credential_id))
    .fetch_optional(conn)
    .await?;
    match row {
        Some(r) => from_row(&r),
        None => Ok(None),
    }
}

/// A user's passkeys, oldest first.
pub async fn of_user(conn: &mut AnyConnection, user_id: &str) -> Result<Vec<StoredPasskey>, DbError> {
    let rows = sqlx::query("SELECT id, user_id, label, created_at, last_used_at, passkey_json FROM passkeys WHERE user_id = $1 ORDER BY created_at, id")
        .bind(user_id)
        .fetch_all(conn)
        .await?;
    let mut out = Vec::new();
    for r in &rows {
        out.extend(from_row(r)?);
    }
    Ok(out)
}

/// Records a sign-in: the updated credential (counter, backup state) and the time.
pub async fn record_use(conn: &mut AnyConnection, stored: &StoredPasskey) -> Result<(), DbError> {
    let json = serde_json::to_string(&stored.passkey)
        .map_err(|e| DbError::Query(sqlx::Error::Protocol(format!("passkey: {e}"))))?;
    sqlx::query("UPDATE passkeys SET passkey_json = $1, last_used_at = $2 WHERE id = $3")
        .bind(json)
        .bind(clock::now_secs())
        .bind(&stored.id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The WebAuthn user handle for a user id (our ids are UUIDs).
pub fn user_handle(user_id: &str) -> Option<Uuid> {
    Uuid::parse_str(user_id).ok()
}

/// Credential ids a user already holds (the authenticator is told not to
/// make a second one on the same device).
pub fn exclude_list(existing: &[StoredPasskey]) -> Option<Vec<CredentialID>> {
    (!existing.is_empty()).then(|| existing.iter().map(|p| p.passkey.cred_id().clone()).collect())
}

/// Deletes ceremonies past their 5 minutes.
pub async fn purge_ceremonies(db: &crate::db::Db, now: i64) -> Result<(), DbError> {
    sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at <= $1").bind(now).execute(db.pool()).await?;
    Ok(())
}
