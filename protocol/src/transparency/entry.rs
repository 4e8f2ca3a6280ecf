//! The log's entries (docs/transparency.md §2): one directory fact each, as a
//! PROTOCOL.md transcript with one label per kind. Decoding accepts exactly
//! the bytes encoding would produce, so an entry has one form.

use super::LogError;
use crate::bundle::{Bundle, KEM_ALG};
use crate::transcript::{self, Transcript};
use crate::{e164, encoding, ids, kem, sign};

/// The largest entry (entry bundles use a u16 length prefix).
pub const MAX_ENTRY_LEN: usize = 65_535;

const IDENTITY: &str = "fxe/v1 log identity";
const BUNDLE: &str = "fxe/v1 log bundle";
const NUMBER_BOUND: &str = "fxe/v1 log number bound";
const NUMBER_RELEASED: &str = "fxe/v1 log number released";
const IDENTITY_RETIRED: &str = "fxe/v1 log identity retired";

/// One directory fact the relay attests. `time` is when the relay sequenced it (unix seconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// An org's identity key was registered (its org id is the identity's).
    Identity {
        /// Sequencing time.
        time: u64,
        /// `ids::org_id(identity_pub)`.
        org_id: String,
        /// The identity's Ed25519 public key.
        identity_pub: [u8; 32],
    },
    /// An org published a bundle (its own signed bytes); the newest is the org's active bundle.
    Bundle {
        /// Sequencing time.
        time: u64,
        /// The bundle, checkable against the org's logged identity.
        bundle: Bundle,
    },
    /// A number was bound to an org. `seq` counts this number's bound/released entries from 1.
    NumberBound {
        /// Sequencing time.
        time: u64,
        /// E.164.
        number: String,
        /// The org it now belongs to.
        org_id: String,
        /// This number's sequence.
        seq: u64,
    },
    /// A number was released by the org that held it.
    NumberReleased {
        /// Sequencing time.
        time: u64,
        /// E.164.
        number: String,
        /// The org that held it.
        org_id: String,
        /// This number's sequence.
        seq: u64,
    },
    /// An org's identity was retired (at a re-invite): nothing is sealed to it again.
    IdentityRetired {
        /// Sequencing time.
        time: u64,
        /// The retired org.
        org_id: String,
    },
}

fn bad(why: impl Into<String>) -> LogError {
    LogError::malformed("log entry", why.into())
}

fn text<'a>(field: &'a [u8], what: &str) -> Result<&'a str, LogError> {
    std::str::from_utf8(field).map_err(|_| bad(format!("{what} is not UTF-8")))
}

fn int(field: &[u8], what: &str) -> Result<u64, LogError> {
    let b: [u8; 8] = field.try_into().map_err(|_| bad(format!("{what} is not 8 bytes")))?;
    Ok(u64::from_be_bytes(b))
}

fn org(field: &[u8]) -> Result<String, LogError> {
    let s = text(field, "org_id")?;
    encoding::validate_id32("org_id", s).map_err(|e| bad(e.to_string()))?;
    Ok(s.to_owned())
}

fn number(field: &[u8]) -> Result<String, LogError> {
    let s = text(field, "number")?;
    e164::validate("number", s).map_err(|e| bad(e.to_string()))?;
    Ok(s.to_owned())
}

fn key32(field: &[u8], what: &str) -> Result<[u8; 32], LogError> {
    field.try_into().map_err(|_| bad(format!("{what} is not 32 bytes")))
}

impl Entry {
    /// The entry's canonical bytes (the Merkle leaf's data).
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Entry::Identity { time, org_id, identity_pub } => {
                Transcript::new(IDENTITY).u64(*time).str(org_id).bytes(identity_pub).finish()
            }
            Entry::Bundle { time, bundle } => Transcript::new(BUNDLE)
                .u64(*time)
                .str(&bundle.org_id)
                .u64(bundle.created_at)
                .str(&bundle.kem_alg)
                .bytes(&bundle.kem_pub)
                .bytes(&bundle.sign_pub)
                .bytes(&bundle.sig)
                .finish(),
            Entry::NumberBound { time, number, org_id, seq } => {
                Transcript::new(NUMBER_BOUND).u64(*time).str(number).str(org_id).u64(*seq).finish()
            }
            Entry::NumberReleased { time, number, org_id, seq } => {
                Transcript::new(NUMBER_RELEASED).u64(*time).str(number).str(org_id).u64(*seq).finish()
            }
            Entry::IdentityRetired { time, org_id } => {
                Transcript::new(IDENTITY_RETIRED).u64(*time).str(org_id).finish()
            }
        }
    }

    /// Parses an entry; fails unless `bytes` is exactly an entry's canonical encoding with valid fields.
    /// (Whether it is consistent with the rest of the log is [`super::LogState::apply`]'s business.)
    pub fn decode(bytes: &[u8]) -> Result<Entry, LogError> {
        if bytes.len() > MAX_ENTRY_LEN {
            return Err(bad("longer than 65,535 bytes"));
        }
        let (label, f) = transcript::split(bytes).ok_or_else(|| bad("not a transcript"))?;
        let entry = match (label, f.as_slice()) {
            (IDENTITY, [time, org_id, identity_pub]) => {
                let identity_pub = key32(identity_pub, "identity_pub")?;
                sign::parse_public("identity_pub", &identity_pub).map_err(|e| bad(e.to_string()))?;
                let org_id = org(org_id)?;
                if ids::org_id(&identity_pub) != org_id {
                    return Err(bad("the org id is not the identity's"));
                }
                Entry::Identity { time: int(time, "time")?, org_id, identity_pub }
            }
            (BUNDLE, [time, org_id, created_at, kem_alg, kem_pub, sign_pub, sig]) => {
                if *kem_alg != KEM_ALG.as_bytes() {
                    return Err(bad("the bundle's algorithm is not X-Wing"));
                }
                if kem_pub.len() != kem::PUBLIC_LEN {
                    return Err(bad("kem_pub has the wrong length"));
                }
                let sig: [u8; 64] = (*sig).try_into().map_err(|_| bad("the bundle signature is not 64 bytes"))?;
                let mut bundle = Bundle {
                    org_id: org(org_id)?,
                    created_at: int(created_at, "created_at")?,
                    kem_alg: KEM_ALG.to_owned(),
                    kem_pub: kem_pub.to_vec(),
                    sign_pub: key32(sign_pub, "sign_pub")?,
                    bundle_id: String::new(),
                    sig,
                };
                bundle.bundle_id = encoding::hex_encode(&transcript::sha256(&bundle.tbs())[..16]);
                bundle.check_shape().map_err(|e| bad(e.to_string()))?;
                Entry::Bundle { time: int(time, "time")?, bundle }
            }
            (NUMBER_BOUND, [time, n, org_id, seq]) => Entry::NumberBound {
                time: int(time, "time")?,
                number: number(n)?,
                org_id: org(org_id)?,
                seq: int(seq, "seq")?,
            },
            (NUMBER_RELEASED, [time, n, org_id, seq]) => Entry::NumberReleased {
                time: int(time, "time")?,
                number: number(n)?,
                org_id: org(org_id)?,
                seq: int(seq, "seq")?,
            },
            (IDENTITY_RETIRED, [time, org_id]) => {
                Entry::IdentityRetired { time: int(time, "time")?, org_id: org(org_id)? }
            }
            (IDENTITY | BUNDLE | NUMBER_BOUND | NUMBER_RELEASED | IDENTITY_RETIRED, _) => {
                return Err(bad(format!("{label:?} has the wrong number of fields")));
            }
            _ => return Err(bad(format!("unknown kind {label:?}"))),
        };
        Ok(entry)
    }

    /// When the relay sequenced it.
    pub fn time(&self) -> u64 {
        match self {
            Entry::Identity { time, .. }
            | Entry::Bundle { time, .. }
            | Entry::NumberBound { time, .. }
            | Entry::NumberReleased { time, .. }
            | Entry::IdentityRetired { time, .. } => *time,
        }
    }

    /// The org the entry is about.
    pub fn org_id(&self) -> &str {
        match self {
            Entry::Identity { org_id, .. }
            | Entry::NumberBound { org_id, .. }
            | Entry::NumberReleased { org_id, .. }
            | Entry::IdentityRetired { org_id, .. } => org_id,
            Entry::Bundle { bundle, .. } => &bundle.org_id,
        }
    }
}

/// An entry bundle (c2sp.org/tlog-tiles): each entry as `u16be(len) || entry`.
pub fn encode_bundle(entries: &[Vec<u8>]) -> Result<Vec<u8>, LogError> {
    let mut out = Vec::new();
    for e in entries {
        let len = u16::try_from(e.len()).map_err(|_| bad("longer than 65,535 bytes"))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Splits an entry bundle into its entries; fails on a truncated one.
pub fn decode_bundle(mut bytes: &[u8]) -> Result<Vec<Vec<u8>>, LogError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes.split_first_chunk::<2>().ok_or_else(|| bad("a truncated entry bundle"))?;
        let len = usize::from(u16::from_be_bytes(*len));
        if rest.len() < len {
            return Err(bad("a truncated entry bundle"));
        }
        out.push(rest[..len].to_vec());
        bytes = &rest[len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::BundleKeys;
    use crate::ids::IdentityKey;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn samples() -> Vec<Entry> {
        let id = IdentityKey::from_seed(&[3; 32]);
        let b = BundleKeys::generate(&id, 1_700_000_000).unwrap().bundle;
        vec![
            Entry::Identity { time: 1, org_id: id.org_id(), identity_pub: id.public() },
            Entry::Bundle { time: 2, bundle: b },
            Entry::NumberBound { time: 3, number: "+15550100001".into(), org_id: id.org_id(), seq: 1 },
            Entry::NumberReleased { time: 4, number: "+15550100001".into(), org_id: id.org_id(), seq: 2 },
            Entry::IdentityRetired { time: 5, org_id: id.org_id() },
        ]
    }

    #[test]
    fn entries_round_trip_in_one_form() {
        for e in samples() {
            let bytes = e.encode();
            assert_eq!(Entry::decode(&bytes).unwrap(), e);
            assert!(bytes.len() <= MAX_ENTRY_LEN);
            // Truncated, extended, or one field dropped: refused.
            assert!(Entry::decode(&bytes[..bytes.len() - 1]).is_err());
            assert!(Entry::decode(&[&bytes[..], &[0, 0, 0, 0]].concat()).is_err());
        }
        // The sizes docs/transparency.md §5 counts the replica's cost with.
        let sizes: Vec<usize> = samples().iter().map(|e| e.encode().len()).collect();
        assert_eq!(sizes, [104, 1412, 100, 103, 76]);
    }

    #[test]
    fn invalid_fields_are_refused() {
        let s = samples();
        let Entry::Identity { org_id, identity_pub, .. } = &s[0] else { unreachable!() };
        let wrong_org = Transcript::new(IDENTITY).u64(1).str(&"0".repeat(32)).bytes(identity_pub).finish();
        assert!(Entry::decode(&wrong_org).is_err());
        let bad_number = Transcript::new(NUMBER_BOUND).u64(1).str("15550100001").str(org_id).u64(1).finish();
        assert!(Entry::decode(&bad_number).is_err());
        let unknown = Transcript::new("fxe/v1 log other").u64(1).finish();
        assert!(Entry::decode(&unknown).is_err());
        let short_time = Transcript::new(IDENTITY_RETIRED).bytes(&[0; 7]).str(org_id).finish();
        assert!(Entry::decode(&short_time).is_err());
    }

    #[test]
    fn entry_bundles_round_trip() {
        let entries: Vec<Vec<u8>> = samples().iter().map(Entry::encode).collect();
        let b = encode_bundle(&entries).unwrap();
        assert_eq!(decode_bundle(&b).unwrap(), entries);
        assert!(decode_bundle(&b[..b.len() - 1]).is_err());
        assert!(encode_bundle(&[vec![0; 65_536]]).is_err());
    }
}
