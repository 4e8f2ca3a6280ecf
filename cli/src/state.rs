//! Local state kept next to keys.zip (or in `--state-dir`): the pin store
//! (`fxe-pins.json`) and the record of received messages
//! (`fxe-received/<org_id>/<sender_org_id>.<message_id>`), and the content key
//! of each fax sent (`fxe-sent/<org_id>/<message_id>.json`, private: 0600 in a
//! 0700 folder), so the sender can export a proof with the document.

use crate::error::{CliError, Result, io_err};
use crate::files;
use fxe_protocol::envelope::Envelope;
use fxe_protocol::pins::PinStore;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

pub const PINS_FILE: &str = "fxe-pins.json";
pub const RECEIVED_DIR: &str = "fxe-received";
pub const SENT_DIR: &str = "fxe-sent";

/// What the sender keeps of a fax it sent: its content key, tied to the envelope.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SentRecord {
    message_id: String,
    /// The envelope's hash (hex): the key is only used for this very envelope.
    envelope_hash: String,
    /// The content key (b64u).
    cek: String,
}

pub struct State {
    pub dir: PathBuf,
    /// The transparency log's replica, loaded and synced when first needed.
    pub log: crate::transparency::LogCache,
}

impl State {
    /// `--state-dir`, else the folder holding keys.zip.
    pub fn new(state_dir: Option<&Path>, keys_path: &Path) -> State {
        State {
            dir: state_dir.map(Path::to_path_buf).unwrap_or_else(|| files::parent_dir(keys_path)),
            log: Default::default(),
        }
    }

    fn pins_path(&self) -> PathBuf {
        self.dir.join(PINS_FILE)
    }

    pub fn load_pins(&self) -> Result<PinStore> {
        let path = self.pins_path();
        match std::fs::read_to_string(&path) {
            Ok(s) => PinStore::from_json(&s).map_err(|e| {
                CliError::new(crate::error::exit::PIN, "pin_store_unreadable", format!("{}: {e}", path.display()))
                    .with_hint("the pin store is damaged; restore it from a backup rather than deleting it")
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PinStore::new()),
            Err(e) => Err(CliError::msg(format!("cannot read {}: {e}", path.display()))),
        }
    }

    pub fn save_pins(&self, pins: &PinStore) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(io_err(format!("cannot create {}", self.dir.display())))?;
        files::write_atomic(&self.pins_path(), pins.to_json().as_bytes(), true)
    }

    fn marker(&self, org_id: &str, sender_org_id: &str, message_id: &str) -> PathBuf {
        self.dir.join(RECEIVED_DIR).join(org_id).join(format!("{sender_org_id}.{message_id}"))
    }

    /// Whether this org already opened `(sender_org_id, message_id)`.
    pub fn was_received(&self, org_id: &str, sender_org_id: &str, message_id: &str) -> bool {
        self.marker(org_id, sender_org_id, message_id).exists()
    }

    /// Records that the message was opened and its file saved at `saved_as`.
    pub fn mark_received(&self, org_id: &str, sender_org_id: &str, message_id: &str, saved_as: &Path) -> Result<()> {
        let path = self.marker(org_id, sender_org_id, message_id);
        let dir = files::parent_dir(&path);
        std::fs::create_dir_all(&dir).map_err(io_err(format!("cannot create {}", dir.display())))?;
        files::write_atomic(&path, saved_as.to_string_lossy().as_bytes(), true)
    }

    /// The file a received message was saved as, when it was recorded and the file is still there.
    pub fn received_file(&self, org_id: &str, sender_org_id: &str, message_id: &str) -> Option<PathBuf> {
        let saved = std::fs::read_to_string(self.marker(org_id, sender_org_id, message_id)).ok()?;
        let path = PathBuf::from(saved);
        path.is_file().then_some(path)
    }

    fn sent_path(&self, org_id: &str, message_id: &str) -> PathBuf {
        self.dir.join(SENT_DIR).join(org_id).join(format!("{message_id}.json"))
    }

    /// Keeps the content key of a fax about to be sent (before its upload), readable by this user only.
    pub fn keep_sent_cek(&self, org_id: &str, envelope: &Envelope, cek: &[u8; 32]) -> Result<()> {
        let path = self.sent_path(org_id, &envelope.message_id);
        let dir = files::parent_dir(&path);
        private_dir(&self.dir.join(SENT_DIR))?;
        private_dir(&dir)?;
        let record = SentRecord {
            message_id: envelope.message_id.clone(),
            envelope_hash: envelope.hash_hex(),
            cek: fxe_protocol::encoding::b64u_encode(cek),
        };
        let json = Zeroizing::new(serde_json::to_string(&record).unwrap_or_default());
        // The temporary file is created 0600 (tempfile), and renamed into place.
        files::write_atomic(&path, json.as_bytes(), true)
    }

    /// The content key kept for a sent fax, if this state folder has it and it is for `envelope`.
    pub fn sent_cek(&self, org_id: &str, envelope: &Envelope) -> Result<Option<Zeroizing<[u8; 32]>>> {
        let path = self.sent_path(org_id, &envelope.message_id);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => Zeroizing::new(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(CliError::msg(format!("cannot read {}: {e}", path.display()))),
        };
        let bad = |why: &str| CliError::msg(format!("{} is damaged: {why}", path.display()));
        let record: SentRecord = serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
        if record.message_id != envelope.message_id || record.envelope_hash != envelope.hash_hex() {
            return Err(bad("it is for another envelope"));
        }
        let cek = fxe_protocol::encoding::b64u_fixed::<32>("cek", &record.cek).map_err(|e| bad(&e.to_string()))?;
        Ok(Some(Zeroizing::new(cek)))
    }
}

/// Creates `dir` if needed, readable by this user only (0700 on Unix).
fn private_dir(dir: &Path) -> Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).map_err(io_err(format!("cannot create {}", dir.display())))
}
