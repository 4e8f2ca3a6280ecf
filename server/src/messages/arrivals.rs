//! Arrival notices (docs/api.md, "Arrival notices"): a member who opted in
//! (`PATCH /auth/me`) gets a mail when a fax arrives for their org, naming only
//! the number it came to. `db::arrival_notices::queue_for_members` writes one row per such member in the
//! transaction that makes the message `queued` (with its `message.received`
//! event), so a notice is neither lost by a crash nor sent for a fax that did
//! not arrive; the worker ([`spawn`]) claims due rows with a lease (many relays
//! may share a PostgreSQL database), mails them and deletes them. A failed
//! mail is retried on a fixed schedule and then dropped with a warning: a
//! notice is a convenience, the fax itself waits in the inbox either way.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::{
    AppState, clock,
    db::{
        Backend, DbError,
        arrival_notices::{self as store, ClaimedNotice},
        leases::{self, Queue},
        users,
    },
    mail,
};

/// The waits after failed mails 1, 2, … ; after the last the notice is dropped.
const RETRIES: [Duration; 4] =
    [Duration::from_secs(60), Duration::from_secs(5 * 60), Duration::from_secs(30 * 60), Duration::from_secs(2 * 3600)];
/// How long a claimed notice is this worker's.
const LEASE: Duration = Duration::from_secs(60);
/// Notices claimed at once.
const BATCH: i64 = 32;
/// The longest sleep: other relays may queue notices this one is not told about.
const MAX_IDLE: Duration = Duration::from_secs(2);

/// Runs the notice worker until `shutdown`.
pub fn spawn(state: AppState, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if state.db.backend() == Backend::Sqlite
            && let Err(e) = leases::release_all(&state.db, Queue::ArrivalNotices).await
        {
            tracing::warn!(error = %e, "cannot release arrival notice leases");
        }
        loop {
            let claimed = match round(&state).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "arrival notices: cannot read the queue");
                    0
                }
            };
            if claimed == usize::try_from(BATCH).unwrap_or(usize::MAX) {
                continue; // possibly more due
            }
            let sleep = match leases::next_due(&state.db, Queue::ArrivalNotices).await {
                Ok(Some(due)) => Duration::from_millis(u64::try_from(due - state.clock.now_ms()).unwrap_or(0)),
                _ => MAX_IDLE,
            };
            tokio::select! {
                () = state.events.wait() => {}
                () = tokio::time::sleep(sleep.min(MAX_IDLE)) => {}
                () = shutdown.cancelled() => break,
            }
        }
    })
}

/// Claims the due notices and handles each; returns how many were claimed.
async fn round(state: &AppState) -> Result<usize, DbError> {
    let token = leases::new_token()?;
    let now = state.clock.now_ms();
    let claimed = store::claim(&state.db, &token, now + clock::millis(LEASE), now, BATCH).await?;
    for notice in &claimed {
        if let Err(e) = handle(state, notice, &token).await {
            tracing::warn!(message_id = %notice.message_id, error = %e, "arrival notice: cannot settle; it runs again when its lease ends");
        }
    }
    Ok(claimed.len())
}

async fn handle(state: &AppState, notice: &ClaimedNotice, token: &str) -> Result<(), DbError> {
    let address = {
        let mut conn = state.db.pool().acquire().await?;
        users::arrival_address(&mut conn, &notice.user_id).await?
    };
    // Removed, or turned notices off since the fax arrived: nothing to send.
    let Some(address) = address else { return store::settle(&state.db, notice, token, None).await };
    let inbox = format!("{}/dashboard/inbox", state.config.public_origin());
    match state.mailer.send(&mail::arrival_mail(&address, &notice.to_number, &inbox)).await {
        Ok(()) => store::settle(&state.db, notice, token, None).await,
        Err(e) => {
            let failed = usize::try_from(notice.tries).unwrap_or(usize::MAX).saturating_add(1);
            match RETRIES.get(failed - 1) {
                Some(wait) => {
                    tracing::warn!(message_id = %notice.message_id, error = %e, tries = failed, "arrival notice not mailed; retrying");
                    let at = state.clock.now_ms() + clock::millis(*wait);
                    store::settle(&state.db, notice, token, Some(at)).await
                }
                None => {
                    tracing::warn!(message_id = %notice.message_id, error = %e, "arrival notice not mailed after every retry; dropped");
                    store::settle(&state.db, notice, token, None).await
                }
            }
        }
    }
}
