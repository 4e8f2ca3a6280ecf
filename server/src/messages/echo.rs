//! The echo org at `+10000000000` (API.md): created with relay-held keys on
//! first start; a fax sent to it is opened, receipted, and the same bytes are
//! sealed back to the sender's active bundle from `+10000000000`, through the
//! same service functions as any send. Work happens in temporary files, so a
//! 100 MiB fax does not sit in memory.

use std::{path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context;
use futures_util::StreamExt;
use fxe_protocol::{
    api::{ECHO_NUMBER, MessageStatus},
    bundle::BundleKeys,
    envelope::{self, Recipient, SealRandomness, SealRequest},
    ids::IdentityKey,
    keyszip::OrgKeys,
    receipt::{Receipt, Refusal, RefusalReason},
    stream::V1_CHUNK_SIZE,
};
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

use crate::{
    AppState,
    blobs::{BlobKey, ByteRange},
    db::audit::{self, Actor, ActorKind},
    db::{
        self,
        messages::{self as store, MessageRow},
        orgs::{self, NewOrg},
    },
    messages::{self, Party},
};

const META_KEY: &str = "echo_org_keys";
pub const ECHO_ORG_NAME: &str = "fxe echo";

fn actor() -> Actor {
    Actor { kind: ActorKind::Relay, id: None, label: Some("echo".into()), address: None }
}

/// Loads the echo org's keys, creating the org on first start.
pub async fn ensure(state: &AppState) -> anyhow::Result<Arc<OrgKeys>> {
    if let Some(json) = state.db.meta_get(META_KEY).await? {
        return Ok(Arc::new(OrgKeys::from_json(&json).context("the echo org's stored keys are unreadable")?));
    }
    let now = state.clock.now_secs();
    let identity = IdentityKey::generate()?;
    let bundle = BundleKeys::generate(&identity, state.clock.unix_secs())?;
    let keys = OrgKeys {
        relay_url: state.config.public_origin(),
        org_id: identity.org_id(),
        org_name: ECHO_ORG_NAME.into(),
        identity_pub: identity.public(),
        identity: Some(identity),
        bundles: vec![bundle],
        api_keys: vec![],
        created_at: state.clock.unix_secs(),
    };
    let mut tx = state.db.begin_write().await?;
    // Another relay instance may have created it meanwhile.
    if let Some(json) = db::meta_read(&mut tx, META_KEY).await? {
        tx.rollback().await?;
        return Ok(Arc::new(OrgKeys::from_json(&json)?));
    }
    if orgs::number_holder(&mut tx, ECHO_NUMBER).await?.is_some() {
        anyhow::bail!("{ECHO_NUMBER} is held by an org, so the echo org cannot be created");
    }
    db::meta_insert(&mut tx, META_KEY, keys.to_json().as_str()).await?;
    let identity_pub = fxe_protocol::encoding::b64u_encode(&keys.identity_pub);
    let org = NewOrg {
        org_id: &keys.org_id,
        org_name: ECHO_ORG_NAME,
        identity_pub: &identity_pub,
        created_at: now,
        is_echo: true,
    };
    if !orgs::insert(&mut tx, org).await? {
        anyhow::bail!("an org with the echo org's new identity exists already");
    }
    orgs::insert_number(&mut tx, ECHO_NUMBER, &keys.org_id, true, now).await?;
    orgs::publish_bundle(&mut tx, &keys.org_id, &keys.bundles[0].bundle, now).await?;
    audit::write(
        &mut tx,
        audit::Entry::new(state.clock.now_ms(), Some(&keys.org_id), &Actor::relay(), "org.created")
            .on(&keys.org_id)
            .with(serde_json::json!({"echo": true})),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(org_id = %keys.org_id, number = ECHO_NUMBER, "created the echo org");
    Ok(Arc::new(keys))
}

/// Runs the echo worker until `shutdown`: woken by every committed event, and every few seconds.
pub fn spawn(state: AppState, keys: Arc<OrgKeys>, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let wake = state.events.wait();
            // One instance at a time answers the echo number (several share a PostgreSQL database).
            if state.cluster.leads(crate::cluster::Role::Echo).await
                && let Err(e) = process_queued(&state, &keys).await
            {
                tracing::warn!(error = %format!("{e:#}"), "echo worker");
            }
            tokio::select! {
                () = wake => {}
                () = tokio::time::sleep(Duration::from_secs(5)) => {}
                () = shutdown.cancelled() => return,
            }
        }
    })
}

/// Echoes every queued message addressed to the echo org.
pub async fn process_queued(state: &AppState, keys: &OrgKeys) -> anyhow::Result<()> {
    let echo_org = crate::ids::OrgId::parse(&keys.org_id)?;
    for row in store::queued_for(&state.db, &echo_org).await? {
        let id = row.message_id.clone();
        if let Err(e) = echo_one(state, keys, row).await {
            tracing::warn!(message_id = %id, error = %format!("{e:#}"), "could not echo a message");
        }
    }
    Ok(())
}

/// Temporary files of one echo, removed on drop.
struct Scratch(Vec<PathBuf>);

impl Drop for Scratch {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

async fn echo_one(state: &AppState, keys: &OrgKeys, row: MessageRow) -> anyhow::Result<()> {
    if row.status != MessageStatus::Queued {
        return Ok(());
    }
    let env = row.envelope()?;
    let actor = actor();
    let party = Party { org_id: &keys.org_id, actor: &actor };
    let mut conn = state.db.pool().acquire().await?;
    let sender = orgs::get(&mut conn, &row.sender_org_id).await?.context("sender org missing")?;
    let sender_identity = sender.identity_bytes()?;
    let sender_bundle = orgs::any_bundle(&mut conn, &row.sender_org_id, &env.sender_bundle_id)
        .await?
        .context("sender bundle missing")?;
    drop(conn);

    let dir = state.config.storage.data_dir.join("echo-tmp");
    crate::blobs::create_private_dir(&dir).await?;
    let scratch = Scratch(["ct", "pt", "reply"].iter().map(|s| dir.join(format!("{}.{s}", row.message_id))).collect());
    let (ct_path, pt_path, reply_path) = (scratch.0[0].clone(), scratch.0[1].clone(), scratch.0[2].clone());

    // The ciphertext, from the blob store to a file.
    let key = BlobKey::new(row.blob_key.clone().context("queued message without ciphertext")?)?;
    let mut read = state.blobs.open(&key, ByteRange::Full).await?;
    let mut file = tokio::fs::File::create(&ct_path).await?;
    while let Some(chunk) = read.body.next().await {
        file.write_all(&chunk?).await?;
    }
    file.sync_all().await?;
    drop(file);

    // Open it as any receiver would.
    let opened = {
        let (env, keys, ct_path, pt_path) = (env.clone(), keys.clone(), ct_path.clone(), pt_path.clone());
        tokio::task::spawn_blocking(move || -> anyhow::Result<fxe_protocol::Result<()>> {
            let numbers = vec![ECHO_NUMBER.to_owned()];
            let recipient = Recipient { org_id: &keys.org_id, numbers: &numbers, bundles: &keys.bundles };
            let input = std::io::BufReader::new(std::fs::File::open(&ct_path)?);
            let output = std::io::BufWriter::new(std::fs::File::create(&pt_path)?);
            Ok(envelope::open_stream(&env, &sender_identity, &sender_bundle, &recipient, input, output))
        })
        .await??
    };
    let now = state.clock.unix_secs();
    if let Err(e) = opened {
        tracing::warn!(message_id = %row.message_id, error = %e, "echo: the message does not open; refusing it");
        let refusal = Refusal::make(&env, &keys.bundles, now, RefusalReason::CannotOpen)?;
        messages::refuse(state, party, &row.message_id, messages::parse_refusal(serde_json::to_value(refusal)?)?)
            .await?;
        return Ok(());
    }
    let receipt = Receipt::make(&env, &keys.bundles, now)?;
    messages::receipt(state, party, &row.message_id, messages::parse_receipt(serde_json::to_value(receipt)?)?).await?;

    // Seal the same bytes back to the sender's active bundle.
    let mut conn = state.db.pool().acquire().await?;
    let reply_bundle =
        orgs::active_bundle(&mut conn, &row.sender_org_id).await?.context("sender has no active bundle")?;
    drop(conn);
    let reply_id = crate::ids::MessageId::generate()?;
    let reply_env = {
        let (keys, reply_id, to_number, content_type, pt_path, reply_path) = (
            keys.clone(),
            reply_id.clone(),
            env.from_number.clone(),
            env.content_type.clone(),
            pt_path.clone(),
            reply_path.clone(),
        );
        tokio::task::spawn_blocking(move || -> anyhow::Result<envelope::Envelope> {
            let sender = keys.active_bundle()?;
            let req = SealRequest {
                message_id: &reply_id,
                created_at: now,
                sender,
                recipient_identity_pub: &sender_identity,
                recipient_bundle: &reply_bundle,
                from_number: ECHO_NUMBER,
                from_name: ECHO_ORG_NAME,
                to_number: &to_number,
                content_type: &content_type,
                chunk_size: V1_CHUNK_SIZE,
            };
            let input = std::io::BufReader::new(std::fs::File::open(&pt_path)?);
            let output = std::io::BufWriter::new(std::fs::File::create(&reply_path)?);
            Ok(envelope::seal_stream(&req, SealRandomness::random()?, input, output)?)
        })
        .await??
    };
    let _ = tokio::fs::remove_file(&pt_path).await;
    let len = reply_env.ciphertext_len;
    messages::create(state, party, serde_json::to_value(&reply_env)?).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let file = tokio::fs::File::open(&reply_path).await?;
    let body = tokio_util::io::ReaderStream::new(file);
    messages::upload(state, party, &reply_id, Box::pin(body), Some(len), None)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    tracing::info!(message_id = %row.message_id, reply_id = %reply_id, "echoed a fax");
    drop(scratch);
    Ok(())
}
