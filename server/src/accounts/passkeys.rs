//! Passkeys (WebAuthn, webauthn-rs): the relying party, the ceremony state
//! kept in the database (single-use, 5 minutes, capped per client and in all
//! ([`store_ceremony`]); rows in
//! [`crate::db::ceremonies`]), and the stored credentials (rows in
//! [`crate::db::passkeys`]).
//!
//! Users enrol through a setup link (or, signed in, add another passkey) and
//! sign in with a discoverable credential: no username, the authenticator
//! names the user. WebAuthn needs a host name as relying-party id, so a relay
//! whose public URL is an IP address serves no passkey ceremonies (the
//! endpoints say so) until `--public-url` names a host (`http://localhost:3000`).

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use sqlx::AnyConnection;
use webauthn_rs::prelude::{
    CreationChallengeResponse, CredentialID, DiscoverableAuthentication, Passkey, PasskeyRegistration,
    RequestChallengeResponse, Uuid, Webauthn, WebauthnBuilder,
};

use crate::db::{
    self, DbError,
    ceremonies::{self, CeremonyKind, NewCeremony},
    passkeys::{NewPasskey, PasskeyRow},
};

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

fn to_json<T: Serialize>(what: &str, value: &T) -> Result<String, DbError> {
    serde_json::to_string(value).map_err(|e| DbError::Query(sqlx::Error::Protocol(format!("{what}: {e}"))))
}

/// How many ceremonies may be open at once (`--max-ceremonies-per-ip`, `--max-ceremonies`).
#[derive(Clone, Copy, Debug)]
pub struct CeremonyCaps {
    /// Started by one client (its limit key).
    pub per_client: u64,
    /// On the whole relay.
    pub total: u64,
}

/// Why a ceremony was not started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{open} passkey requests from this address are open (at most {cap}); finish or wait for one")]
    TooManyFromClient { open: u64, cap: u64, retry_after_secs: i64 },
    #[error("the relay has too many passkey requests open right now")]
    TooMany { retry_after_secs: i64 },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Refuses when a cap is reached; the wait is until the first open ceremony expires.
async fn check_caps(
    conn: &mut AnyConnection, caps: CeremonyCaps, client: Option<&str>, now: i64,
) -> Result<(), StartError> {
    let wait = |first: Option<i64>| first.map_or(CEREMONY_TTL_SECS, |t| t - now).clamp(1, CEREMONY_TTL_SECS);
    if let Some(client) = client {
        let open = ceremonies::open(&mut *conn, now, Some(client)).await?;
        if open.count >= caps.per_client {
            return Err(StartError::TooManyFromClient {
                open: open.count,
                cap: caps.per_client,
                retry_after_secs: wait(open.first_expiry),
            });
        }
    }
    let open = ceremonies::open(conn, now, None).await?;
    if open.count >= caps.total {
        return Err(StartError::TooMany { retry_after_secs: wait(open.first_expiry) });
    }
    Ok(())
}

/// Who opens a ceremony: from which address, of which kind, for which user
/// (registration) and through which setup link (if any).
#[derive(Clone, Copy, Debug)]
pub struct Opening<'a> {
    pub client: Option<&'a str>,
    pub kind: CeremonyKind,
    pub user_id: Option<&'a str>,
    pub setup_token_sha256: Option<&'a str>,
}

/// Stores a started ceremony for `client` (its limit key); returns its id
/// (the client sends it back). Refused when `caps` are reached: checked with
/// reads first, so a refusal writes nothing, and again with the insert
/// (exact on SQLite, whose writes are serialised; on PostgreSQL concurrent
/// starts may pass a cap by a few). Expired ceremonies do not count; the
/// housekeeping sweep deletes them.
pub async fn store_ceremony<S: Serialize>(
    db: &db::Db, caps: CeremonyCaps, opening: Opening<'_>, state: &S, now: i64,
) -> Result<String, StartError> {
    let Opening { client, kind, user_id, setup_token_sha256 } = opening;
    let b: [u8; 24] = fxe_protocol::random_bytes().map_err(|_| no_randomness())?;
    let id = format!("wac_{}", fxe_protocol::encoding::b64u_encode(&b));
    let state_json = to_json("ceremony state", state)?;
    check_caps(&mut *db.pool().acquire().await.map_err(DbError::from)?, caps, client, now).await?;
    let mut tx = db.begin_write().await?;
    check_caps(&mut tx, caps, client, now).await?;
    ceremonies::insert(
        &mut tx,
        NewCeremony {
            id: &id,
            kind,
            user_id,
            setup_token_sha256,
            state_json: &state_json,
            expires_at: now + CEREMONY_TTL_SECS,
            client_ip: client,
        },
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(id)
}

/// Takes a live ceremony of `kind` (single use: it is deleted whatever happens next).
pub async fn take_ceremony<S: DeserializeOwned>(
    conn: &mut AnyConnection, kind: CeremonyKind, id: &str, now: i64,
) -> Result<Option<Ceremony<S>>, DbError> {
    let Some(row) = ceremonies::take(conn, kind, id).await? else { return Ok(None) };
    if row.expires_at <= now {
        return Ok(None);
    }
    let Ok(state) = serde_json::from_str(&row.state_json) else { return Ok(None) };
    Ok(Some(Ceremony { user_id: row.user_id, setup_token_sha256: row.setup_token_sha256, state }))
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

/// Saves a newly enrolled passkey; its id, or `None` when the credential is
/// already registered (to anyone).
pub async fn insert(
    conn: &mut AnyConnection, user_id: &str, label: &str, passkey: &Passkey, now: i64,
) -> Result<Option<String>, DbError> {
    let id = fxe_protocol::encoding::new_uuid_v4().map_err(|_| no_randomness())?;
    let passkey_json = to_json("passkey", passkey)?;
    let new = NewPasskey {
        id: &id,
        user_id,
        credential_id: passkey.cred_id().as_ref(),
        passkey_json: &passkey_json,
        label,
        created_at: now,
    };
    Ok(db::passkeys::insert(conn, new).await?.then_some(id))
}

fn stored(row: PasskeyRow) -> Option<StoredPasskey> {
    let Ok(passkey) = serde_json::from_str::<Passkey>(&row.passkey_json) else {
        tracing::error!("a stored passkey does not parse; it is ignored");
        return None;
    };
    Some(StoredPasskey {
        id: row.id,
        user_id: row.user_id,
        label: row.label,
        created_at: row.created_at,
        last_used_at: row.last_used_at,
        passkey,
    })
}

/// The passkey with this credential id.
pub async fn by_credential(conn: &mut AnyConnection, credential_id: &[u8]) -> Result<Option<StoredPasskey>, DbError> {
    Ok(db::passkeys::by_credential(conn, credential_id).await?.and_then(stored))
}

/// A user's passkeys, oldest first.
pub async fn of_user(conn: &mut AnyConnection, user_id: &str) -> Result<Vec<StoredPasskey>, DbError> {
    Ok(db::passkeys::of_user(conn, user_id).await?.into_iter().filter_map(stored).collect())
}

/// Records a sign-in: the updated credential (counter, backup state) and the time.
pub async fn record_use(conn: &mut AnyConnection, stored: &StoredPasskey, now: i64) -> Result<(), DbError> {
    let passkey_json = to_json("passkey", &stored.passkey)?;
    db::passkeys::record_use(conn, &stored.id, &passkey_json, now).await
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
