//! Local state kept next to keys.zip (or in `--state-dir`): the pin store
//! (`fxe-pins.json`) and the record of received messages
//! (`fxe-received/<org_id>/<sender_org_id>.<message_id>`).

use crate::error::{CliError, Result, io_err};
use crate::files;
use fxe_protocol::pins::PinStore;
use std::path::{Path, PathBuf};

pub const PINS_FILE: &str = "fxe-pins.json";
pub const RECEIVED_DIR: &str = "fxe-received";

pub struct State {
    pub dir: PathBuf,
}

impl State {
    /// `--state-dir`, else the folder holding keys.zip.
    pub fn new(state_dir: Option<&Path>, keys_path: &Path) -> State {
        State { dir: state_dir.map(Path::to_path_buf).unwrap_or_else(|| files::parent_dir(keys_path)) }
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
}
