//! Shared fixtures: parties built from seeds, sealing requests, opening helpers.
#![allow(dead_code)]

pub mod proof;

use fxe_protocol::bundle::BundleKeys;
use fxe_protocol::envelope::{Envelope, Recipient, SealRandomness, SealRequest};
use fxe_protocol::ids::IdentityKey;
use zeroize::Zeroizing;

pub fn h32(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

/// Byte i of a vector plaintext is `i % 251`.
pub fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251).to_le_bytes()[0]).collect()
}

pub struct Party {
    pub identity: IdentityKey,
    pub bundle: BundleKeys,
    pub numbers: Vec<String>,
}

impl Party {
    pub fn from_seeds(identity: [u8; 32], kem: [u8; 32], sign: [u8; 32], created_at: u64, number: &str) -> Party {
        let identity = IdentityKey::from_seed(&identity);
        let bundle = BundleKeys::from_seeds(&identity, created_at, &kem, &sign);
        Party { identity, bundle, numbers: vec![number.to_owned()] }
    }

    pub fn seeded(tag: u8, number: &str) -> Party {
        Party::from_seeds([tag; 32], [tag.wrapping_add(1); 32], [tag.wrapping_add(2); 32], 1_700_000_000, number)
    }

    pub fn org_id(&self) -> String {
        self.identity.org_id()
    }
}

pub fn request<'a>(
    s: &'a Party, r: &'a Party, r_pub: &'a [u8; 32], message_id: &'a str, chunk_size: u64,
) -> SealRequest<'a> {
    SealRequest {
        message_id,
        created_at: 1_700_000_100,
        sender: &s.bundle,
        recipient_identity_pub: r_pub,
        recipient_bundle: &r.bundle.bundle,
        from_number: &s.numbers[0],
        from_name: "Clinic",
        to_number: &r.numbers[0],
        content_type: "application/pdf",
        chunk_size,
    }
}

pub fn fixed_rnd(cek: [u8; 32], eseed: [u8; 64]) -> SealRandomness {
    SealRandomness { cek: Zeroizing::new(cek), kem_eseed: Zeroizing::new(eseed) }
}

pub fn open_as(r: &Party, s: &Party, env: &Envelope, ct: &[u8]) -> fxe_protocol::Result<Zeroizing<Vec<u8>>> {
    let org = r.org_id();
    let bundles = vec![r.bundle.clone()];
    let rec = Recipient { org_id: &org, numbers: &r.numbers, bundles: &bundles };
    fxe_protocol::envelope::open(env, &s.identity.public(), &s.bundle.bundle, &rec, ct)
}
