//! Recovery by mail (`POST /auth/recover`): every active user with the
//! address gets a new passkey setup link. Anyone may ask, for any address, so
//! the request itself does no work: it is put on a bounded queue
//! ([`RecoveryQueue::submit`], the same for every address, so neither the
//! answer nor its timing says whether the address is known) and one worker
//! takes the requests one at a time. It looks the address up with a read; an
//! unknown address ends there, without a write. At most
//! [`MAX_LIVE_RECOVERY_LINKS`] unused recovery links per user exist at once,
//! so a mailbox is not flooded. A full queue refuses further requests until
//! the worker catches up; a flood of them thus holds one database connection
//! (two while a link is written), never the pool.

use std::sync::Arc;

use sqlx::AnyConnection;
use tokio::sync::mpsc;

use crate::{
    clock::Clock,
    db::{
        Db, DbError,
        audit::{self, Actor, ActorKind},
        setup_links::{self, SetupLinkPurpose},
        users,
    },
    mail::{self, Mailer},
};

/// At most this many unused recovery links per user at once.
pub const MAX_LIVE_RECOVERY_LINKS: u64 = 3;

/// One request: the address typed in, and the client's address (for the audit trail).
#[derive(Debug)]
pub struct RecoveryRequest {
    pub email: String,
    pub client: Option<String>,
}

/// The queue is full: the request was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

/// The queue in front of the recovery worker. Cheap to clone.
#[derive(Clone, Debug)]
pub struct RecoveryQueue {
    tx: mpsc::Sender<RecoveryRequest>,
}

/// What the worker needs.
struct Worker {
    db: Db,
    mailer: Arc<dyn Mailer>,
    public_origin: String,
    clock: Clock,
}

impl RecoveryQueue {
    /// Starts the worker, holding at most `capacity` waiting requests. It
    /// runs until every clone of the queue is dropped.
    pub fn start(
        db: Db, mailer: Arc<dyn Mailer>, public_origin: String, capacity: usize, clock: Clock,
    ) -> RecoveryQueue {
        let (tx, mut rx) = mpsc::channel::<RecoveryRequest>(capacity.max(1));
        let worker = Worker { db, mailer, public_origin, clock };
        tokio::spawn(async move {
            // One connection for a run of requests (taking and returning one
            // per request would churn the pool under a flood); a request that
            // finds users takes a second one for its write.
            while let Some(first) = rx.recv().await {
                let mut conn = match worker.db.pool().acquire().await {
                    Ok(conn) => conn,
                    Err(e) => {
                        tracing::error!(error = %e, "could not handle a recovery request");
                        continue;
                    }
                };
                let mut next = Some(first);
                while let Some(req) = next {
                    if let Err(e) = worker.handle(&mut conn, &req).await {
                        tracing::error!(error = %e, "could not handle a recovery request");
                    }
                    next = rx.try_recv().ok();
                }
            }
        });
        RecoveryQueue { tx }
    }

    /// Queues a request; the same few steps whatever the address.
    pub fn submit(&self, req: RecoveryRequest) -> Result<(), QueueFull> {
        self.tx.try_send(req).map_err(|_| QueueFull)
    }
}

impl Worker {
    async fn handle(&self, conn: &mut AnyConnection, req: &RecoveryRequest) -> Result<(), DbError> {
        let now = self.clock.now_secs();
        // A read first: an unknown address (or users with links enough) ends here.
        let mut wanted = Vec::new();
        for user in users::active_by_email(&mut *conn, &req.email).await? {
            if setup_links::live_recovery_links(&mut *conn, &user.user_id, now).await? < MAX_LIVE_RECOVERY_LINKS {
                wanted.push(user.user_id);
            } else {
                tracing::warn!(user_id = %user.user_id, "recovery asked again while {MAX_LIVE_RECOVERY_LINKS} links are unused; no new link");
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.begin_write().await?;
        let mut mails = Vec::new();
        for user in users::active_by_email(&mut tx, &req.email).await? {
            // Checked again under the write lock: another relay may have sent one meanwhile.
            if !wanted.contains(&user.user_id)
                || setup_links::live_recovery_links(&mut tx, &user.user_id, now).await? >= MAX_LIVE_RECOVERY_LINKS
            {
                continue;
            }
            let token = setup_links::create(&mut tx, &user.user_id, SetupLinkPurpose::Recover, now).await?;
            let actor = Actor {
                kind: ActorKind::User,
                id: Some(user.user_id.clone()),
                label: Some(user.email.clone()),
                address: req.client.clone(),
            };
            audit::write(
                &mut tx,
                audit::Entry::new(self.clock.now_ms(), user.org_id.as_deref(), &actor, "user.recovery_requested")
                    .on(&user.user_id),
            )
            .await?;
            let url = setup_links::url(&self.public_origin, &token);
            mails.push(mail::recovery_mail(&user.email, user.org_name.as_deref().unwrap_or("the fxe relay"), &url));
        }
        tx.commit().await?;
        for m in mails {
            if let Err(e) = self.mailer.send(&m).await {
                tracing::error!(error = %e, to = %m.to, "could not mail a recovery link");
            }
        }
        Ok(())
    }
}
