//! The X-Wing draft's three official test vectors (the file the draft and the RustCrypto crate ship).

// The helpers here, not being #[test] fns themselves, unwrap too: a failure is the test's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use fxe_protocol::kem::{KemPublic, KemSecret};

#[derive(serde::Deserialize)]
struct Kat {
    seed: String,
    eseed: String,
    ss: String,
    sk: String,
    pk: String,
    ct: String,
}

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn official_xwing_vectors() {
    let kats: Vec<Kat> = serde_json::from_str(include_str!("vectors/xwing.json")).unwrap();
    assert_eq!(kats.len(), 3);
    for k in kats {
        let seed: [u8; 32] = hex(&k.seed)[..32].try_into().unwrap();
        assert_eq!(hex(&k.sk), seed.to_vec(), "the secret key is the 32-byte seed");
        let sk = KemSecret::from_seed(&seed);
        assert_eq!(sk.public(), hex(&k.pk));
        let pk = KemPublic::parse(&sk.public()).unwrap();
        let eseed: [u8; 64] = hex(&k.eseed).try_into().unwrap();
        let (ct, ss) = pk.encapsulate_derand(&eseed);
        assert_eq!(ct, hex(&k.ct));
        assert_eq!(ss.to_vec(), hex(&k.ss));
        assert_eq!(sk.decapsulate(&ct).unwrap().to_vec(), hex(&k.ss));
    }
}
