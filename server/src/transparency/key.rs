//! The log's signing key: `log.key` in the data directory (created on first
//! start, named for the relay's public URL) or the file `--log-key-file`
//! names; the check, through `relay_meta`, that every relay on one database
//! signs with the same key (a second key would be a second log); and the
//! trust policy recorded there for the operator commands.

use anyhow::{Context, bail};
use fxe_protocol::transparency::{KeyKind, TrustPolicy, note::NoteSigner};

use crate::config::Config;
use crate::db::Db;

/// The key file's name inside the data directory.
pub const KEY_FILE_NAME: &str = "log.key";

/// The `relay_meta` key holding the log's verifier key.
const LOG_KEY_META: &str = "transparency_log_key";

/// The `relay_meta` key holding the trust policy the relay last started with (JSON), for the
/// operator commands (`invite create` prints its fingerprint).
const POLICY_META: &str = "transparency_policy";

/// Records the trust policy this relay offers members, and says its fingerprint: members
/// pin the policy at redemption, and compare the fingerprint their client shows with the
/// one the operator gave them.
pub async fn record_policy(policy: &TrustPolicy, db: &Db) -> anyhow::Result<()> {
    let json = serde_json::to_string(policy).context("cannot encode the trust policy")?;
    db.meta_set(POLICY_META, &json).await.context("cannot record the transparency log's policy")?;
    tracing::info!(
        fingerprint = %policy.fingerprint(),
        witnesses = policy.witnesses.len(),
        quorum = policy.quorum,
        "transparency log policy (members pin it: give them this fingerprint with their invite)"
    );
    Ok(())
}

/// The trust policy the relay on `db` last started with, if it has started.
pub async fn recorded_policy(db: &Db) -> anyhow::Result<Option<TrustPolicy>> {
    let Some(json) = db.meta_get(POLICY_META).await? else { return Ok(None) };
    Ok(Some(serde_json::from_str(&json).context("the recorded transparency log policy is unreadable")?))
}

/// The log's origin for a relay reached at `public_url`: its host (and port), then `/fxe/log`.
pub fn origin_for(public_url: &url::Url) -> String {
    let host = public_url.host_str().unwrap_or("localhost");
    match public_url.port() {
        Some(port) => format!("{host}:{port}/fxe/log"),
        None => format!("{host}/fxe/log"),
    }
}

/// Reads the log's key, creating the default key file if it is missing.
pub async fn load(config: &Config) -> anyhow::Result<NoteSigner> {
    let path = match &config.log.key_file {
        Some(path) => path.clone(),
        None => {
            let path = config.storage.data_dir.join(KEY_FILE_NAME);
            if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
                let origin = origin_for(&config.public_url);
                let signer = NoteSigner::generate(&origin, KeyKind::Log).map_err(|e| anyhow::anyhow!("{e}"))?;
                super::keyfile::create(&path, &signer)?;
                tracing::info!(path = %path.display(), origin = %origin, "created the transparency log's key: back it up");
            }
            path
        }
    };
    super::keyfile::load(&path, KeyKind::Log)
}

/// Records the log's verifier key in the database on first start and refuses a relay
/// with another one: two keys on one database would publish two logs.
pub async fn check_shared(signer: &NoteSigner, db: &Db) -> anyhow::Result<()> {
    let ours = signer.key.vkey();
    let stored = match db.meta_get(LOG_KEY_META).await? {
        Some(stored) => stored,
        None => {
            let mut tx = db.begin_write().await?;
            let stored = match crate::db::meta_read(&mut tx, LOG_KEY_META).await? {
                Some(other) => other,
                None => {
                    crate::db::meta_insert(&mut tx, LOG_KEY_META, &ours).await?;
                    ours.clone()
                }
            };
            tx.commit().await.context("cannot record the transparency log's key")?;
            stored
        }
    };
    if stored != ours {
        bail!(
            "this relay's transparency log key ({ours}) is not the one this database's log is signed with \
             ({stored}): give every relay on this database the same --log-key-file (the data directory's log.key \
             of the first relay)"
        );
    }
    Ok(())
}
