//! Note signing keys at rest, in the C2SP private key form
//! (`PRIVATE+KEY+<name>+<key id>+<b64(type || seed)>`, one line, mode 0600):
//! the relay's log key and a witness's cosigning key.

use std::path::Path;

use anyhow::Context;
use fxe_protocol::transparency::{KeyKind, note::NoteSigner};

/// Writes a new key file; fails if `path` exists.
pub fn create(path: &Path, signer: &NoteSigner) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let write = || -> std::io::Result<()> {
        let mut f = options.open(path)?;
        f.write_all(signer.to_private().as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()
    };
    write().with_context(|| format!("cannot create the key file {}", path.display()))
}

/// Reads a key file holding a key of `kind`.
pub fn load(path: &Path, kind: KeyKind) -> anyhow::Result<NoteSigner> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path).with_context(|| format!("cannot read the key file {}", path.display()))?,
    );
    let what = |k: KeyKind| match k {
        KeyKind::Log => "transparency log key",
        KeyKind::Witness => "witness key",
    };
    let signer = NoteSigner::from_private(text.trim_end())
        .map_err(|e| anyhow::anyhow!("{} is not a {} file: {e}", path.display(), what(kind)))?;
    if signer.key.kind != kind {
        anyhow::bail!("{} holds a {}, not a {}", path.display(), what(signer.key.kind), what(kind));
    }
    Ok(signer)
}
