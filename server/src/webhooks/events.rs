//! Events, written to the `events` table in the same transaction as the state
//! change that causes them (the transactional outbox). Webhook deliveries are
//! derived from these rows; after the transaction commits, call
//! [`Events::notify`] so workers wake at once. The table's queries are in
//! [`crate::db::events`].

use std::sync::Arc;

use serde_json::{Value, json};
use sqlx::AnyConnection;
use tokio::sync::Notify;

use crate::{
    clock,
    db::{self, DbError, events::NewEvent},
};

pub const MESSAGE_RECEIVED: &str = "message.received";
pub const MESSAGE_DELIVERED: &str = "message.delivered";
pub const MESSAGE_REJECTED: &str = "message.rejected";
pub const MESSAGE_EXPIRED: &str = "message.expired";
pub const ORG_USER_ADDED: &str = "org.user.added";
pub const ORG_USER_REMOVED: &str = "org.user.removed";
pub const BUNDLE_ROTATED: &str = "bundle.rotated";
pub const PING: &str = "ping";

/// Every event type: the protocol crate's list, which the web UI shows too.
pub const ALL: [&str; 8] = fxe_protocol::webhook::EVENT_TYPES;

/// Wakes whoever waits for new events (the webhook worker, the echo org).
#[derive(Clone, Default)]
pub struct Events {
    notify: Arc<Notify>,
    /// The webhook worker's own wake-up: a permit is kept when it is busy,
    /// so a commit is never missed.
    webhooks: Arc<Notify>,
}

impl Events {
    pub fn notify(&self) {
        self.notify.notify_waiters();
        self.notify.notify_one();
        self.webhooks.notify_one();
    }

    pub async fn wait(&self) {
        self.notify.notified().await;
    }

    /// For the webhook worker: returns at once if something was committed
    /// since the last call.
    pub async fn wait_webhooks(&self) {
        self.webhooks.notified().await;
    }
}

/// Writes one event for `org_id` on `conn` (inside the caller's transaction)
/// and queues its webhook deliveries to the org's enabled endpoints that
/// subscribe to `event_type`; returns the event id. The payload is
/// `{"id","type","created_at","org_id","data"}`.
pub async fn emit(
    conn: &mut AnyConnection, org_id: &str, event_type: &str, data: Value, now_ms: i64,
) -> Result<String, DbError> {
    let id = insert(conn, org_id, event_type, data, now_ms).await?;
    crate::webhooks::queue::fan_out(conn, org_id, event_type, &id, now_ms).await?;
    Ok(id)
}

/// Writes one event without queueing deliveries (see [`emit`]).
pub async fn insert(
    conn: &mut AnyConnection, org_id: &str, event_type: &str, data: Value, now: i64,
) -> Result<String, DbError> {
    let id = fxe_protocol::encoding::new_uuid_v4()
        .map_err(|_| DbError::Query(sqlx::Error::Protocol("no randomness".into())))?;
    let payload = json!({
        "id": id,
        "type": event_type,
        "created_at": clock::rfc3339(now / 1000),
        "org_id": org_id,
        "data": data,
    });
    let payload_json = payload.to_string();
    db::events::insert(conn, NewEvent { id: &id, org_id, event_type, created_at_ms: now, payload_json: &payload_json })
        .await?;
    Ok(id)
}

#[cfg(test)]
mod event_type_tests {
    #[test]
    fn every_named_event_is_in_the_list() {
        for name in [
            super::MESSAGE_RECEIVED,
            super::MESSAGE_DELIVERED,
            super::MESSAGE_REJECTED,
            super::MESSAGE_EXPIRED,
            super::ORG_USER_ADDED,
            super::ORG_USER_REMOVED,
            super::BUNDLE_ROTATED,
            super::PING,
        ] {
            assert!(super::ALL.contains(&name), "{name}");
        }
    }
}
