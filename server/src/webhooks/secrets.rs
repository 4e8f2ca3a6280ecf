//! Webhook signing secrets at rest: sealed with AES-256-GCM under the relay's
//! webhook key, bound to the endpoint id. The key is 32 bytes, written as 64
//! hex characters in `webhook-secret.key` in the data directory (created,
//! owner-only, on first start) or in the file `--secret-key-file` names.

use std::path::{Path, PathBuf};

use aes_gcm::{
    Aes256Gcm, KeyInit,
    aead::{Aead, Payload},
};
use anyhow::{Context, bail};
use fxe_protocol::{encoding, webhook::WebhookSecret};
use zeroize::Zeroizing;

use crate::config::Config;

/// The key file's name inside the data directory.
pub const KEY_FILE_NAME: &str = "webhook-secret.key";
const SEALED_PREFIX: &str = "v1.";

/// The relay's webhook key.
pub struct RelayKey(Zeroizing<[u8; 32]>);

impl RelayKey {
    /// Reads the key file, creating the default one if it is missing.
    pub async fn load(config: &Config) -> anyhow::Result<RelayKey> {
        match &config.secret_key_file {
            Some(path) => read(path).await,
            None => {
                let path = config.storage.data_dir.join(KEY_FILE_NAME);
                if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
                    create(&path).await?;
                }
                read(&path).await
            }
        }
    }

    pub fn from_bytes(b: [u8; 32]) -> RelayKey {
        RelayKey(Zeroizing::new(b))
    }

    fn aad(endpoint_id: &str) -> Vec<u8> {
        fxe_protocol::transcript::Transcript::new("fxe relay webhook secret").str(endpoint_id).finish()
    }

    /// `v1.` + b64u(nonce ‖ AES-256-GCM(secret)).
    pub fn seal(&self, endpoint_id: &str, secret: &WebhookSecret) -> anyhow::Result<String> {
        let nonce: [u8; 12] = fxe_protocol::random_bytes().context("no randomness")?;
        let cipher = Aes256Gcm::new(&(*self.0).into());
        let sealed = cipher
            .encrypt(&nonce.into(), Payload { msg: secret.as_bytes(), aad: &Self::aad(endpoint_id) })
            .map_err(|_| anyhow::anyhow!("cannot seal a webhook secret"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{SEALED_PREFIX}{}", encoding::b64u_encode(&out)))
    }

    /// Opens what [`RelayKey::seal`] made for this endpoint.
    pub fn open(&self, endpoint_id: &str, sealed: &str) -> anyhow::Result<WebhookSecret> {
        let wrong = || {
            anyhow::anyhow!(
                "a webhook secret does not open with this relay's key (is --secret-key-file the same on every relay?)"
            )
        };
        let raw = sealed.strip_prefix(SEALED_PREFIX).ok_or_else(wrong)?;
        let raw = encoding::b64u_decode("sealed secret", raw).map_err(|_| wrong())?;
        let (nonce, ciphertext) = raw.split_at_checked(12).ok_or_else(wrong)?;
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| wrong())?;
        let cipher = Aes256Gcm::new(&(*self.0).into());
        let plain = Zeroizing::new(
            cipher
                .decrypt(&nonce.into(), Payload { msg: ciphertext, aad: &Self::aad(endpoint_id) })
                .map_err(|_| wrong())?,
        );
        let bytes: [u8; 32] = plain.as_slice().try_into().map_err(|_| wrong())?;
        Ok(WebhookSecret::from_bytes(bytes))
    }
}

/// The `relay_meta` key of a value sealed under the webhook key, by which a
/// relay sharing the database with others checks that it has their key.
const KEY_CHECK_META: &str = "webhook_key_check";
/// What the check value seals (as if for this endpoint id, which no endpoint has).
const KEY_CHECK_ID: &str = "relay-key-check";

impl RelayKey {
    /// Checks that this is the key the database's secrets are sealed with (a
    /// check value in `relay_meta`, written by the first relay to start), so
    /// that a relay given another key file refuses to start instead of
    /// failing every webhook attempt.
    pub async fn check_shared(&self, db: &crate::db::Db) -> anyhow::Result<()> {
        let stored = match db.meta_get(KEY_CHECK_META).await? {
            Some(stored) => stored,
            None => {
                let sealed = self.seal(KEY_CHECK_ID, &WebhookSecret::from_bytes([0; 32]))?;
                let mut tx = db.begin_write().await?;
                let stored = match crate::db::meta_read(&mut tx, KEY_CHECK_META).await? {
                    Some(other) => other,
                    None => {
                        crate::db::meta_insert(&mut tx, KEY_CHECK_META, &sealed).await?;
                        sealed
                    }
                };
                tx.commit().await?;
                stored
            }
        };
        if self.open(KEY_CHECK_ID, &stored).is_err() {
            bail!(
                "this relay's webhook secret key is not the one the database's webhook secrets are sealed with: \
                 give every relay on this database the same --secret-key-file"
            );
        }
        Ok(())
    }
}

async fn read(path: &Path) -> anyhow::Result<RelayKey> {
    let text = Zeroizing::new(
        tokio::fs::read_to_string(path)
            .await
            .with_context(|| format!("cannot read the webhook secret key file {}", path.display()))?,
    );
    let bytes = Zeroizing::new(hex::decode(text.trim()).unwrap_or_default());
    let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice()) else {
        bail!("the webhook secret key file {} must hold 64 hex characters (32 bytes)", path.display());
    };
    Ok(RelayKey::from_bytes(key))
}

async fn create(path: &PathBuf) -> anyhow::Result<()> {
    let key = Zeroizing::new(fxe_protocol::random_bytes::<32>().context("no randomness")?);
    let text = Zeroizing::new(format!("{}\n", hex::encode(*key)));
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(path)
        .await
        .with_context(|| format!("cannot create the webhook secret key file {}", path.display()))?;
    tokio::io::AsyncWriteExt::write_all(&mut file, text.as_bytes()).await?;
    file.sync_all().await?;
    tracing::info!(path = %path.display(), "created the webhook secret key");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open() {
        let key = RelayKey::from_bytes([7; 32]);
        let secret = WebhookSecret::from_bytes([9; 32]);
        let sealed = key.seal("wh_a", &secret).unwrap();
        assert!(!sealed.contains(&*secret.to_secret_string()));
        assert_eq!(key.open("wh_a", &sealed).unwrap().as_bytes(), secret.as_bytes());
        assert!(key.open("wh_b", &sealed).is_err(), "bound to the endpoint");
        assert!(RelayKey::from_bytes([8; 32]).open("wh_a", &sealed).is_err());
    }
}
