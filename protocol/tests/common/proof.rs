//! The parties, document and proofs of the proof tests (tests/proof.rs, tests/proof_vectors.rs).

use fxe_protocol::bundle::BundleKeys;
use fxe_protocol::envelope::{CONTENT_TYPE_PDF, Envelope, SealRandomness, SealRequest, seal_with};
use fxe_protocol::ids::IdentityKey;
use fxe_protocol::proof::{Outcome, Party, Proof};
use fxe_protocol::receipt::Receipt;
use zeroize::Zeroizing;

pub const MID: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
pub const OTHER_MID: &str = "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

pub struct World {
    pub s_id: IdentityKey,
    pub s_b: BundleKeys,
    pub r_id: IdentityKey,
    pub r_b: BundleKeys,
    pub r_b2: BundleKeys,
    pub doc: Vec<u8>,
    pub cek: [u8; 32],
}

pub fn world() -> World {
    let s_id = IdentityKey::from_seed(&[21; 32]);
    let r_id = IdentityKey::from_seed(&[24; 32]);
    // Three chunks of 16 KiB, the last one partial.
    let doc: Vec<u8> = b"%PDF-1.7\n".iter().copied().chain((0..40_000u32).map(|i| (i % 251) as u8)).collect();
    World {
        s_b: BundleKeys::from_seeds(&s_id, 1_700_000_000, &[22; 32], &[23; 32]),
        r_b: BundleKeys::from_seeds(&r_id, 1_700_000_000, &[25; 32], &[26; 32]),
        r_b2: BundleKeys::from_seeds(&r_id, 1_700_000_100, &[27; 32], &[28; 32]),
        s_id,
        r_id,
        doc,
        cek: [29; 32],
    }
}

pub fn seal(w: &World, sender: &BundleKeys, message_id: &str, doc: &[u8]) -> Envelope {
    let req = SealRequest {
        message_id,
        created_at: 1_700_000_500,
        sender,
        recipient_identity_pub: &w.r_id.public(),
        recipient_bundle: &w.r_b.bundle,
        from_number: "+15550001111",
        from_name: "Clinic Ä",
        to_number: "+15550002222",
        content_type: CONTENT_TYPE_PDF,
        chunk_size: 16 * 1024,
    };
    let rnd = SealRandomness { cek: Zeroizing::new(w.cek), kem_eseed: Zeroizing::new([30; 64]) };
    seal_with(&req, rnd, doc).unwrap().0
}

pub fn party(id: &IdentityKey, b: &BundleKeys) -> Party {
    Party { identity_pub: id.public(), bundle: b.bundle.clone() }
}

pub fn delivered(w: &World) -> Proof {
    let env = seal(w, &w.s_b, MID, &w.doc);
    let receipt = Receipt::make(&env, std::slice::from_ref(&w.r_b), 1_700_000_600).unwrap();
    Proof::new(env, party(&w.s_id, &w.s_b), party(&w.r_id, &w.r_b), Outcome::Receipt(receipt)).with_opening(&w.cek)
}
