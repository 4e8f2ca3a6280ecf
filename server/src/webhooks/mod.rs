//! Webhooks (API.md, Webhooks): an org's endpoints receive its events,
//! signed, at least once.
//!
//! * [`endpoints`]: an org's endpoints, managed by its admins; [`deliveries`]:
//!   their deliveries, redelivery and the event log. Refusals are
//!   [`WebhookError`]s.
//! * [`queue`]: deliveries are queued in the transaction of their event
//!   ([`crate::webhooks::events::emit`]), claimed with a lease, settled per attempt.
//! * [`worker`]: claims due attempts and POSTs them; woken at each commit.
//! * [`guard`]: https and public addresses only; the client connects to the
//!   checked address.
//! * [`secrets`]: signing secrets sealed under the relay's key.
//!
//! The tables' queries are in [`crate::db::webhook_endpoints`],
//! [`crate::db::webhook_deliveries`] and [`crate::db::events`].

pub mod deliveries;
pub mod endpoints;
pub mod error;
pub mod events;
pub mod guard;
pub mod queue;
pub mod secrets;
pub mod worker;

pub use self::error::WebhookError;
use crate::config::{Config, RetrySchedule};

/// What the API and the worker share.
pub struct Webhooks {
    pub key: secrets::RelayKey,
    pub client: reqwest::Client,
    pub schedule: RetrySchedule,
    pub allow_private: bool,
}

impl Webhooks {
    pub async fn init(config: &Config) -> anyhow::Result<Webhooks> {
        Ok(Webhooks {
            key: secrets::RelayKey::load(config).await?,
            client: worker::client(config.allow_private_webhooks)?,
            schedule: config.retry_schedule.clone(),
            allow_private: config.allow_private_webhooks,
        })
    }
}
