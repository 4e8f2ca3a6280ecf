//! The audit trail: who did what, when, from where. Every state change writes
//! its row in the same transaction as the change.

use sqlx::AnyConnection;

use crate::db::DbError;

/// What kind of actor acted, as the `actor_type` column and the audit API
/// name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    User,
    ApiKey,
    Relay,
    Operator,
}

impl ActorKind {
    /// The stored and API form.
    pub const fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::ApiKey => "api_key",
            ActorKind::Relay => "relay",
            ActorKind::Operator => "operator",
        }
    }

    /// The kind named `s`, if it is one.
    pub fn parse(s: &str) -> Option<ActorKind> {
        [ActorKind::User, ActorKind::ApiKey, ActorKind::Relay, ActorKind::Operator]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

super::text_column!(ActorKind, "audit.actor_type");

/// Who acted.
#[derive(Clone, Debug)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<String>,
    pub label: Option<String>,
    /// The client address, when the action came over the network.
    pub address: Option<String>,
}

impl Actor {
    pub fn relay() -> Actor {
        Actor { kind: ActorKind::Relay, id: None, label: Some("relay".into()), address: None }
    }

    /// An operator acting from the command line of the relay's machine.
    pub fn operator_cli() -> Actor {
        let who = std::env::var("SUDO_USER").or_else(|_| std::env::var("USER")).ok();
        Actor {
            kind: ActorKind::Operator,
            id: None,
            label: Some(format!("command line ({})", who.unwrap_or_else(|| "unknown".into()))),
            address: None,
        }
    }
}

/// One audit row.
pub struct Entry<'a> {
    /// When it happened, in milliseconds (`state.clock`).
    pub at_ms: i64,
    pub org_id: Option<&'a str>,
    pub actor: &'a Actor,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub detail: Option<serde_json::Value>,
}

impl<'a> Entry<'a> {
    /// `action` by `actor` at `at_ms`, in `org_id` (`None`: relay-wide), on no
    /// particular target and without detail.
    pub fn new(at_ms: i64, org_id: Option<&'a str>, actor: &'a Actor, action: &'a str) -> Self {
        Entry { at_ms, org_id, actor, action, target: None, detail: None }
    }

    /// The entry, about `target` (an id).
    #[must_use]
    pub fn on(self, target: &'a str) -> Self {
        Entry { target: Some(target), ..self }
    }

    /// The entry, with `detail`.
    #[must_use]
    pub fn with(self, detail: serde_json::Value) -> Self {
        Entry { detail: Some(detail), ..self }
    }
}

/// Writes an audit row on `conn` (inside the caller's transaction).
pub async fn write(conn: &mut AnyConnection, e: Entry<'_>) -> Result<(), DbError> {
    let id = fxe_protocol::encoding::new_uuid_v4()
        .map_err(|_| DbError::Query(sqlx::Error::Protocol("no randomness".into())))?;
    sqlx::query(
        "INSERT INTO audit (id, org_id, at_ms, actor_type, actor_id, actor_label, action, target, address, detail_json) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(e.org_id)
    .bind(e.at_ms)
    .bind(e.actor.kind)
    .bind(e.actor.id.as_deref())
    .bind(e.actor.label.as_deref())
    .bind(e.action)
    .bind(e.target)
    .bind(e.actor.address.as_deref())
    .bind(e.detail.map(|d| d.to_string()))
    .execute(conn)
    .await?;
    Ok(())
}
