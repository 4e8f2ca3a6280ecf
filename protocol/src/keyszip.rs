//! `keys.zip` (PROTOCOL.md §7): the org's keys, made on the org's side. Plain or
//! passphrase-protected (AES-256, WinZip AE-2); full, or machine (no identity secret).
//!
//! Reading validates everything: the org id is the identity's, the identity
//! secret (when present) matches, every bundle verifies and its seeds give its
//! keys, every API key secret parses and matches its id.

use crate::apikey::{self, ApiKey};
use crate::bundle::{Bundle, BundleKeys};
use crate::ids::{self, IdentityKey};
use crate::{Error, Result, encoding};
use serde::{Deserialize, Serialize};
use std::io::{Cursor, Read, Write};
use zeroize::Zeroizing;

/// The `format` value of `fxe-keys.json`.
pub const FORMAT: &str = "fxe-keys/v1";
/// The zip entry that holds the keys (`fxe-keys.json`).
pub const KEYS_ENTRY: &str = "fxe-keys.json";
/// The zip entry with the human-readable explanation (`README.txt`).
pub const README_ENTRY: &str = "README.txt";
/// Larger inputs are refused before parsing (a keys.zip is a few KiB).
pub const MAX_ZIP_LEN: usize = 16 * 1024 * 1024;
const MAX_JSON_LEN: u64 = 8 * 1024 * 1024;
const MAX_ENTRIES: usize = 64;

/// What a keys.zip can do, by what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeysKind {
    /// The identity secret: everything, rotation and new API keys included.
    Full,
    /// No identity secret, API keys: a gateway that sends and receives.
    Machine,
    /// No identity secret, no API keys: a person in the web app (signed in
    /// with a passkey) who opens, receipts and sends.
    Staff,
}

impl KeysKind {
    /// Its name in words and JSON (`full`, `machine`, `staff`).
    pub const fn as_str(self) -> &'static str {
        match self {
            KeysKind::Full => "full",
            KeysKind::Machine => "machine",
            KeysKind::Staff => "staff",
        }
    }
}

/// An API key as stored in keys.zip.
#[derive(Clone, Debug)]
pub struct StoredApiKey {
    /// The key with its secret.
    pub key: ApiKey,
    /// The scopes it was registered with.
    pub scopes: Vec<String>,
}

/// The contents of `fxe-keys.json`, validated.
#[derive(Clone, Debug)]
pub struct OrgKeys {
    /// The URL of the relay the org belongs to.
    pub relay_url: String,
    /// The org's id (checked to be its identity's).
    pub org_id: String,
    /// The org's name as registered.
    pub org_name: String,
    /// The org's identity public key.
    pub identity_pub: [u8; 32],
    /// `None` in a machine keys.zip.
    pub identity: Option<IdentityKey>,
    /// Oldest first; the last is the active bundle.
    pub bundles: Vec<BundleKeys>,
    /// The org's API keys with their secrets.
    pub api_keys: Vec<StoredApiKey>,
    /// When keys.zip was written (unix seconds).
    pub created_at: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
struct WireIdentity {
    public: String,
    /// Omitted in a machine keys.zip; when present it must be a string (`null` is refused).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present_string")]
    secret: Option<String>,
}

fn present_string<'de, D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
struct WireBundle {
    bundle: Bundle,
    kem_seed: String,
    sign_seed: String,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
struct WireApiKey {
    key_id: String,
    secret: String,
    scopes: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
struct WireKeys {
    format: String,
    relay_url: String,
    org_id: String,
    org_name: String,
    identity: WireIdentity,
    bundles: Vec<WireBundle>,
    api_keys: Vec<WireApiKey>,
    created_at: u64,
}

encoding::object_only_serde!(WireIdentity, WireBundle, WireApiKey, WireKeys);

impl OrgKeys {
    /// The active bundle (the last one).
    /// Fails with [`Error::KeysZip`] when it holds none.
    pub fn active_bundle(&self) -> Result<&BundleKeys> {
        self.bundles.last().ok_or_else(|| Error::KeysZip("holds no bundle".into()))
    }

    /// The fingerprint of the org's identity key, for reading aloud.
    pub fn fingerprint(&self) -> String {
        ids::fingerprint(&self.identity_pub)
    }

    /// The identity key; fails with [`Error::IdentitySecretMissing`] in a machine keys.zip.
    pub fn identity(&self) -> Result<&IdentityKey> {
        self.identity.as_ref().ok_or(Error::IdentitySecretMissing)
    }

    /// Whether this is a machine keys.zip (no identity secret).
    pub fn is_machine(&self) -> bool {
        self.identity.is_none()
    }

    /// A copy without the identity secret, for gateways.
    pub fn machine(&self) -> OrgKeys {
        OrgKeys { identity: None, ..self.clone() }
    }

    /// A copy for the org's staff in the web app: no identity secret and no
    /// API keys (people sign in with passkeys), every bundle kept. It opens
    /// faxes, signs their receipts and seals new ones; it cannot rotate
    /// bundles, register keys or call the API on its own.
    pub fn staff(&self) -> OrgKeys {
        OrgKeys { identity: None, api_keys: Vec::new(), ..self.clone() }
    }

    /// Which kind of keys.zip this is.
    pub fn kind(&self) -> KeysKind {
        match (&self.identity, self.api_keys.is_empty()) {
            (Some(_), _) => KeysKind::Full,
            (None, false) => KeysKind::Machine,
            (None, true) => KeysKind::Staff,
        }
    }

    /// Whether it holds `bundle_id` (e.g. the org's active bundle on the relay).
    pub fn holds_bundle(&self, bundle_id: &str) -> bool {
        self.bundles.iter().any(|b| b.bundle.bundle_id == bundle_id)
    }

    /// The first API key that carries `scope`.
    pub fn api_key_with_scope(&self, scope: &str) -> Option<&StoredApiKey> {
        self.api_keys.iter().rev().find(|k| k.scopes.iter().any(|s| s == scope))
    }

    /// Serialises `fxe-keys.json`.
    pub fn to_json(&self) -> Zeroizing<String> {
        let wire = WireKeys {
            format: FORMAT.into(),
            relay_url: self.relay_url.clone(),
            org_id: self.org_id.clone(),
            org_name: self.org_name.clone(),
            identity: WireIdentity {
                public: encoding::b64u_encode(&self.identity_pub),
                secret: self.identity.as_ref().map(|i| encoding::b64u_encode(&*i.seed())),
            },
            bundles: self
                .bundles
                .iter()
                .map(|b| WireBundle {
                    bundle: b.bundle.clone(),
                    kem_seed: encoding::b64u_encode(&*b.kem.seed()),
                    sign_seed: encoding::b64u_encode(&*b.signing.seed()),
                })
                .collect(),
            api_keys: self
                .api_keys
                .iter()
                .map(|k| WireApiKey {
                    key_id: k.key.key_id().to_owned(),
                    secret: k.key.secret_string().to_string(),
                    scopes: k.scopes.clone(),
                })
                .collect(),
            created_at: self.created_at,
        };
        Zeroizing::new(serde_json::to_string_pretty(&wire).unwrap_or_default())
    }

    /// Parses and validates `fxe-keys.json`.
    /// Fails with [`Error::KeysZip`] saying what does not check out.
    pub fn from_json(s: &str) -> Result<OrgKeys> {
        let w: WireKeys =
            serde_json::from_str(s).map_err(|e| Error::KeysZip(format!("{KEYS_ENTRY} is malformed: {e}")))?;
        let bad = |m: String| Error::KeysZip(m);
        if w.format != FORMAT {
            return Err(bad(format!("unsupported format {:?} (expected {FORMAT:?})", w.format)));
        }
        let identity_pub =
            encoding::b64u_fixed::<32>("identity.public", &w.identity.public).map_err(|e| bad(e.to_string()))?;
        crate::sign::parse_public("identity.public", &identity_pub).map_err(|e| bad(e.to_string()))?;
        if ids::org_id(&identity_pub) != w.org_id {
            return Err(bad("org_id does not belong to the identity key".into()));
        }
        let identity = match &w.identity.secret {
            None => None,
            Some(s) => {
                let seed =
                    Zeroizing::new(encoding::b64u_fixed::<32>("identity.secret", s).map_err(|e| bad(e.to_string()))?);
                let id = IdentityKey::from_seed(&seed);
                if id.public() != identity_pub {
                    return Err(bad("identity.secret does not match identity.public".into()));
                }
                Some(id)
            }
        };
        if w.bundles.is_empty() {
            return Err(bad("holds no bundle".into()));
        }
        let mut bundles: Vec<BundleKeys> = Vec::with_capacity(w.bundles.len());
        for b in w.bundles {
            let id = b.bundle.bundle_id.clone();
            b.bundle.verify(&identity_pub).map_err(|e| bad(format!("bundle {id}: {e}")))?;
            if bundles.iter().any(|x| x.bundle.bundle_id == id) {
                return Err(bad(format!("bundle {id} is listed twice")));
            }
            // Oldest first, the active one last: peers pin the newest bundle they saw and
            // refuse one that is not strictly newer, so neither can two share a created_at.
            if let Some(prev) = bundles.last()
                && prev.bundle.created_at >= b.bundle.created_at
            {
                return Err(bad(format!(
                    "bundle {id} (created at {}) is listed after bundle {} (created at {}): bundles must be oldest first, the active one last",
                    b.bundle.created_at, prev.bundle.bundle_id, prev.bundle.created_at
                )));
            }
            let kem_seed = Zeroizing::new(
                encoding::b64u_fixed::<32>("kem_seed", &b.kem_seed).map_err(|e| bad(format!("bundle {id}: {e}")))?,
            );
            let sign_seed = Zeroizing::new(
                encoding::b64u_fixed::<32>("sign_seed", &b.sign_seed).map_err(|e| bad(format!("bundle {id}: {e}")))?,
            );
            bundles.push(
                BundleKeys::from_stored(b.bundle, &kem_seed, &sign_seed)
                    .map_err(|e| bad(format!("bundle {id}: {e}")))?,
            );
        }
        let mut api_keys = Vec::with_capacity(w.api_keys.len());
        for k in w.api_keys {
            let key = ApiKey::parse_secret(&k.secret).map_err(|e| bad(format!("api key {}: {e}", k.key_id)))?;
            if key.key_id() != k.key_id {
                return Err(bad(format!("api key {}: the secret belongs to {}", k.key_id, key.key_id())));
            }
            if api_keys.iter().any(|x: &StoredApiKey| x.key.key_id() == k.key_id) {
                return Err(bad(format!("api key {} is listed twice", k.key_id)));
            }
            apikey::validate_scopes(&k.scopes).map_err(|e| bad(format!("api key {}: {e}", k.key_id)))?;
            api_keys.push(StoredApiKey { key, scopes: k.scopes });
        }
        Ok(OrgKeys {
            relay_url: w.relay_url,
            org_id: w.org_id,
            org_name: w.org_name,
            identity_pub,
            identity,
            bundles,
            api_keys,
            created_at: w.created_at,
        })
    }
}

/// The README.txt written next to the keys.
pub fn readme(keys: &OrgKeys) -> String {
    let kind = match keys.kind() {
        KeysKind::Machine => {
            "This is a MACHINE keys.zip: it can send, receive and sign receipts, but it does not hold\n\
             the identity secret, so it cannot rotate bundles or register API keys.\n"
        }
        KeysKind::Staff => {
            "This is a STAFF keys.zip, for members using the web app: it opens faxes, signs their\n\
             receipts and sends, but it holds neither the identity secret nor API keys, so it\n\
             cannot rotate bundles, register API keys or call the API on its own.\n"
        }
        KeysKind::Full => {
            "This is the FULL keys.zip: it holds the identity secret, the root of trust of your\n\
             organization. Keep it offline with your organization's administrators.\n"
        }
    };
    format!(
        "fxe keys for {name}\n\
         org id:      {org}\n\
         fingerprint: {fp}\n\
         relay:       {relay}\n\n\
         This archive holds your organization's private keys for fxe, the end-to-end\n\
         encrypted fax relay. The relay never sees these keys and CANNOT regenerate them:\n\
         if every copy is lost, faxes sealed to them can never be opened.\n\n\
         {kind}\n\
         How to keep it:\n\
         - keep at least one offline copy (an encrypted USB drive in a safe, for example);\n\
         - restrict access to the people who administer fxe for your organization;\n\
         - protect it with a passphrase when it leaves a trusted machine;\n\
         - never email it or upload it anywhere, including to the relay.\n",
        name = keys.org_name,
        org = keys.org_id,
        fp = keys.fingerprint(),
        relay = keys.relay_url,
    )
}

/// Writes keys.zip, protected with AES-256 (WinZip AE-2) when a passphrase is given.
///
/// `fxe-keys.json` is checked first by the same reader every tool uses, so a keys.zip
/// that would not read back is never written. The archive is written as a stream
/// (sizes in data descriptors): on a seekable writer the `zip` crate rewrites the
/// AES extra field to AE-1, which stores the CRC-32 of the plaintext in the clear;
/// AE-2, as PROTOCOL.md §7 requires, stores no CRC.
/// Fails with [`Error::KeysZip`] when the keys do not check out or the archive cannot be written.
pub fn write(keys: &OrgKeys, passphrase: Option<&str>) -> Result<Vec<u8>> {
    if passphrase.is_some_and(str::is_empty) {
        return Err(Error::KeysZip("the passphrase must not be empty".into()));
    }
    let json = keys.to_json();
    OrgKeys::from_json(&json)
        .map_err(|e| Error::KeysZip(format!("refusing to write keys that do not validate: {e}")))?;
    let mut zw = zip::ZipWriter::new_stream(Vec::new());
    let plain = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o600);
    let secret = match passphrase {
        Some(p) => plain.with_aes_encryption(zip::AesMode::Aes256, p),
        None => plain,
    };
    let zerr = |e: zip::result::ZipError| Error::KeysZip(format!("cannot write: {e}"));
    zw.start_file(README_ENTRY, plain).map_err(zerr)?;
    zw.write_all(readme(keys).as_bytes()).map_err(|e| Error::Io(e.to_string()))?;
    zw.start_file(KEYS_ENTRY, secret).map_err(zerr)?;
    zw.write_all(json.as_bytes()).map_err(|e| Error::Io(e.to_string()))?;
    Ok(zw.finish().map_err(zerr)?.into_inner())
}

fn open_archive(bytes: &[u8]) -> Result<zip::ZipArchive<Cursor<&[u8]>>> {
    if bytes.len() > MAX_ZIP_LEN {
        return Err(Error::KeysZip(format!("file is larger than {} MiB: not a keys.zip", MAX_ZIP_LEN >> 20)));
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|_| Error::KeysZip("this file is not a keys.zip: it is not a zip archive at all".into()))?;
    if archive.len() > MAX_ENTRIES {
        return Err(Error::KeysZip("too many entries: not a keys.zip".into()));
    }
    // Two entries of one name (each reader could pick a different one), overlapping
    // entries, or local headers that disagree with the central directory: refused.
    if archive.has_duplicate_names() {
        return Err(Error::KeysZip("an entry name appears twice: not a keys.zip".into()));
    }
    archive
        .validate_header_consistency()
        .map_err(|_| Error::KeysZip("this keys.zip is damaged: its zip structure does not hold together".into()))?;
    for name in archive.file_names() {
        let name = name.map_err(|e| Error::KeysZip(format!("unreadable entry name ({e})")))?;
        if name != KEYS_ENTRY && name != README_ENTRY {
            return Err(Error::KeysZip(format!(
                "unexpected entry {name:?}: a keys.zip holds only {KEYS_ENTRY} and {README_ENTRY}"
            )));
        }
    }
    Ok(archive)
}

fn keys_index(archive: &zip::ZipArchive<Cursor<&[u8]>>) -> Result<usize> {
    archive
        .index_for_name(KEYS_ENTRY)
        .ok_or_else(|| Error::KeysZip(format!("{KEYS_ENTRY} is missing: not an fxe keys.zip")))
}

/// Whether `fxe-keys.json` is encrypted; an encrypted one must use AES-256 (not ZipCrypto).
fn keys_encryption(archive: &mut zip::ZipArchive<Cursor<&[u8]>>, idx: usize) -> Result<bool> {
    let encrypted = archive.by_index_raw(idx).map_err(|e| Error::KeysZip(e.to_string()))?.encrypted();
    if !encrypted {
        return Ok(false);
    }
    match archive.get_aes_verification_key_and_salt(idx) {
        Ok(Some(info)) if matches!(info.aes_mode, zip::AesMode::Aes256) => Ok(true),
        Ok(Some(_)) => {
            Err(Error::KeysZip(format!("{KEYS_ENTRY} is encrypted with a weaker AES key size; keys.zip uses AES-256")))
        }
        Ok(None) => Err(Error::KeysZip(format!(
            "{KEYS_ENTRY} is encrypted with legacy ZipCrypto, which is not secure; keys.zip uses AES-256"
        ))),
        Err(e) => Err(Error::KeysZip(format!("cannot read the encryption header of {KEYS_ENTRY} ({e})"))),
    }
}

/// Whether the keys entry is passphrase-protected.
/// Fails with [`Error::KeysZip`] when `bytes` is not a keys.zip.
pub fn is_protected(bytes: &[u8]) -> Result<bool> {
    let mut archive = open_archive(bytes)?;
    let idx = keys_index(&archive)?;
    keys_encryption(&mut archive, idx)
}

/// Reads and validates keys.zip. A protected one needs its passphrase.
/// Fails with [`Error::PassphraseRequired`], [`Error::WrongPassphrase`], or [`Error::KeysZip`] saying what does not check out.
pub fn read(bytes: &[u8], passphrase: Option<&str>) -> Result<OrgKeys> {
    let mut archive = open_archive(bytes)?;
    let idx = keys_index(&archive)?;
    let encrypted = keys_encryption(&mut archive, idx)?;
    let mut json = Zeroizing::new(Vec::new());
    {
        let file = match (encrypted, passphrase) {
            (true, None) => return Err(Error::PassphraseRequired),
            (true, Some(p)) => archive.by_index_decrypt(idx, p.as_bytes()).map_err(|e| match e {
                zip::result::ZipError::InvalidPassword => Error::WrongPassphrase,
                e => Error::KeysZip(format!("cannot decrypt {KEYS_ENTRY}: {e}")),
            })?,
            (false, _) => {
                archive.by_index(idx).map_err(|e| Error::KeysZip(format!("cannot read {KEYS_ENTRY}: {e}")))?
            }
        };
        // The decompressed size is bounded here, whatever the headers claim.
        file.take(MAX_JSON_LEN + 1).read_to_end(&mut json).map_err(|e| {
            if encrypted {
                // AES: the authentication code failed (a 1-in-65536 wrong passphrase gets this far).
                Error::KeysZip(format!(
                    "{KEYS_ENTRY} does not authenticate: the passphrase is wrong or the file is damaged ({e})"
                ))
            } else {
                Error::KeysZip(format!("{KEYS_ENTRY} is damaged ({e})"))
            }
        })?;
    }
    if json.len() as u64 > MAX_JSON_LEN {
        return Err(Error::KeysZip(format!("{KEYS_ENTRY} is too large")));
    }
    let text = std::str::from_utf8(&json).map_err(|_| Error::KeysZip(format!("{KEYS_ENTRY} is not UTF-8")))?;
    OrgKeys::from_json(text)
}
