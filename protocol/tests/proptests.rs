//! Property tests (native only): sealing and opening around chunk boundaries, in
//! memory and streamed through readers that return short reads; canonical lengths;
//! transcripts parsed back by an independent decoder; strict encodings.
#![cfg(not(target_arch = "wasm32"))]
// The helpers here, not being #[test] fns themselves, unwrap too: a failure is the test's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use fxe_protocol::encoding;
use fxe_protocol::envelope::{self, Envelope, Recipient};
use fxe_protocol::stream;
use fxe_protocol::transcript::Transcript;
use proptest::prelude::*;
use std::io::Read;
use std::sync::OnceLock;

const MID: &str = "0d6f1c2e-3b4a-4c5d-9e8f-7a6b5c4d3e2f";

fn parties() -> &'static (Party, Party) {
    static P: OnceLock<(Party, Party)> = OnceLock::new();
    P.get_or_init(|| (Party::seeded(30, "+15550000030"), Party::seeded(40, "+15550000040")))
}

/// A reader that hands out at most `pattern[i]` bytes per call, cycling through the
/// pattern, and reports `Interrupted` every `interrupt_every`-th call.
struct ShortReader<'a> {
    data: &'a [u8],
    pos: usize,
    pattern: Vec<usize>,
    calls: usize,
    interrupt_every: usize,
}

impl Read for ShortReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.calls += 1;
        if self.interrupt_every > 0 && self.calls.is_multiple_of(self.interrupt_every) {
            return Err(std::io::ErrorKind::Interrupted.into());
        }
        let max = self.pattern[self.calls % self.pattern.len()];
        let n = max.min(buf.len()).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn short_reader(data: &[u8], pattern: Vec<usize>, interrupt_every: usize) -> ShortReader<'_> {
    ShortReader { data, pos: 0, pattern, calls: 0, interrupt_every }
}

/// Lengths around the chunk boundaries of chunk size `c`.
fn length_for(c: u64, which: u8, extra: u64) -> u64 {
    match which {
        0 => 0,
        1 => 1,
        2 => c - 1,
        3 => c,
        4 => c + 1,
        5 => 2 * c - 1,
        6 => 2 * c,
        7 => 2 * c + 1,
        _ => 3 * c + extra % c,
    }
}

fn content(len: u64, seed: u8) -> Vec<u8> {
    (0..len).map(|i| i.to_le_bytes()[0].wrapping_mul(31).wrapping_add(seed) ^ (i >> 8).to_le_bytes()[0]).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn seal_open_round_trip_around_chunk_boundaries(
        big in any::<bool>(),
        which in 0u8..9,
        extra in any::<u64>(),
        seed in any::<u8>(),
        cek in any::<[u8; 32]>(),
        eseed_a in any::<[u8; 32]>(),
        eseed_b in any::<[u8; 32]>(),
        pattern in prop::collection::vec(prop_oneof![1usize..17, 1usize..4096, 16_000usize..70_000], 1..6),
        interrupt_every in prop_oneof![Just(0usize), 2usize..7],
    ) {
        let c: u64 = if big { 32768 } else { 16384 };
        let len = length_for(c, which, extra);
        let pt = content(len, seed);
        let (s, r) = parties();
        let r_pub = r.identity.public();
        let req = request(s, r, &r_pub, MID, c);
        let mut eseed = [0u8; 64];
        eseed[..32].copy_from_slice(&eseed_a);
        eseed[32..].copy_from_slice(&eseed_b);

        // In memory.
        let (env, ct) = envelope::seal_with(&req, fixed_rnd(cek, eseed), &pt).unwrap();
        prop_assert_eq!(ct.len() as u64, stream::ciphertext_len(len, c));
        prop_assert_eq!(env.ciphertext_len, ct.len() as u64);
        prop_assert_eq!(stream::plaintext_len(env.ciphertext_len, c).unwrap(), len);
        prop_assert_eq!(env.plaintext_len().unwrap(), len);
        let opened = open_as(r, s, &env, &ct).unwrap();
        prop_assert!(*opened == pt);

        // Streamed, from a reader with short reads, with the same randomness: the same bytes.
        let mut streamed = Vec::new();
        let env2 = envelope::seal_stream(&req, fixed_rnd(cek, eseed), short_reader(&pt, pattern.clone(), interrupt_every), &mut streamed).unwrap();
        prop_assert_eq!(&env2, &env);
        prop_assert!(streamed == ct);

        // The JSON form round-trips exactly.
        prop_assert_eq!(&Envelope::from_json(&env.to_json()).unwrap(), &env);

        // Opened as a stream, from a reader with short reads.
        let org = r.org_id();
        let bundles = vec![r.bundle.clone()];
        let rec = Recipient { org_id: &org, numbers: &r.numbers, bundles: &bundles };
        let mut out = Vec::new();
        envelope::open_stream(&env, &s.identity.public(), &s.bundle.bundle, &rec, short_reader(&ct, pattern, interrupt_every), &mut out).unwrap();
        prop_assert!(out == pt);
    }

    #[test]
    fn fresh_randomness_round_trips(len in 0usize..40_000, seed in any::<u8>()) {
        let (s, r) = parties();
        let r_pub = r.identity.public();
        let req = request(s, r, &r_pub, MID, 16384);
        let pt = content(len as u64, seed);
        let (env, ct) = envelope::seal(&req, &pt).unwrap();
        prop_assert!(*open_as(r, s, &env, &ct).unwrap() == pt);
    }

    #[test]
    fn canonical_lengths_are_a_bijection(
        exp in 14u32..=24,
        pt_len in 0u64..=fxe_protocol::MAX_CIPHERTEXT_LEN,
        ct_len in prop_oneof![0u64..100_000, 0u64..=fxe_protocol::MAX_CIPHERTEXT_LEN, any::<u64>()],
    ) {
        let c = 1u64 << exp;
        prop_assert_eq!(stream::plaintext_len(stream::ciphertext_len(pt_len, c), c).unwrap(), pt_len);
        if let Ok(p) = stream::plaintext_len(ct_len, c) {
            prop_assert_eq!(stream::ciphertext_len(p, c), ct_len);
        }
    }

    #[test]
    fn invalid_chunk_sizes_are_refused(c in any::<u64>(), ct_len in any::<u64>()) {
        let valid = c.is_power_of_two() && (16384..=16 * 1024 * 1024).contains(&c);
        prop_assert_eq!(stream::valid_chunk_size(c), valid);
        if !valid {
            prop_assert!(stream::plaintext_len(ct_len, c).is_err());
        }
    }
}

// ---------------------------------------------------------------------------------------
// Transcripts, parsed back by a decoder written from PROTOCOL.md §2 alone.

#[derive(Clone, Debug, PartialEq)]
enum Field {
    Str(String),
    U64(u64),
    Bytes(Vec<u8>),
}

impl Field {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Field::Str(s) => s.as_bytes().to_vec(),
            Field::U64(n) => n.to_be_bytes().to_vec(),
            Field::Bytes(b) => b.clone(),
        }
    }
}

fn encode(label: &str, fields: &[Field]) -> Vec<u8> {
    fields
        .iter()
        .fold(Transcript::new(label), |t, f| match f {
            Field::Str(s) => t.str(s),
            Field::U64(n) => t.u64(*n),
            Field::Bytes(b) => t.bytes(b),
        })
        .finish()
}

/// `ascii(label) || 0x00 || (u32be(len) || bytes)*`, refusing anything left over.
fn decode(t: &[u8]) -> Option<(String, Vec<Vec<u8>>)> {
    let nul = t.iter().position(|&b| b == 0)?;
    let label = std::str::from_utf8(&t[..nul]).ok()?.to_owned();
    let mut rest = &t[nul + 1..];
    let mut fields = Vec::new();
    while !rest.is_empty() {
        if rest.len() < 4 {
            return None;
        }
        let len = u32::from_be_bytes(rest[..4].try_into().ok()?) as usize;
        rest = &rest[4..];
        if rest.len() < len {
            return None;
        }
        fields.push(rest[..len].to_vec());
        rest = &rest[len..];
    }
    Some((label, fields))
}

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![
        ".{0,40}".prop_map(Field::Str),
        any::<u64>().prop_map(Field::U64),
        prop::collection::vec(any::<u8>(), 0..300).prop_map(Field::Bytes),
    ]
}

fn label() -> impl Strategy<Value = String> {
    "fxe/v1 [a-z-]{1,12}"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn transcripts_decode_to_their_label_and_fields(label in label(), fields in prop::collection::vec(field(), 0..10)) {
        let t = encode(&label, &fields);
        let (l, decoded) = decode(&t).expect("a transcript always decodes");
        prop_assert_eq!(l, label);
        prop_assert_eq!(decoded, fields.iter().map(Field::bytes).collect::<Vec<_>>());
    }

    #[test]
    fn transcripts_are_injective(
        l1 in label(), f1 in prop::collection::vec(field(), 0..5),
        l2 in label(), f2 in prop::collection::vec(field(), 0..5),
    ) {
        let same_input = l1 == l2 && f1.iter().map(Field::bytes).eq(f2.iter().map(Field::bytes));
        prop_assert_eq!(encode(&l1, &f1) == encode(&l2, &f2), same_input);
    }

    #[test]
    fn b64u_is_canonical(bytes in prop::collection::vec(any::<u8>(), 0..100), s in "[A-Za-z0-9_=+/-]{0,40}") {
        let e = encoding::b64u_encode(&bytes);
        prop_assert!(!e.contains('='));
        prop_assert_eq!(encoding::b64u_decode("f", &e).unwrap(), bytes);
        // Whatever decodes is the one encoding of its bytes.
        if let Ok(d) = encoding::b64u_decode("f", &s) {
            prop_assert_eq!(encoding::b64u_encode(&d), s);
        }
    }

    #[test]
    fn hex_is_lowercase_and_canonical(bytes in prop::collection::vec(any::<u8>(), 0..64), s in "[0-9a-fA-Fg]{0,20}") {
        let e = encoding::hex_encode(&bytes);
        prop_assert_eq!(encoding::hex_decode("f", &e).unwrap(), bytes);
        if let Ok(d) = encoding::hex_decode("f", &s) {
            prop_assert_eq!(encoding::hex_encode(&d), s);
        }
    }

    #[test]
    fn e164_validation_matches_the_regex(s in "\\+?[0-9]{0,17}", t in ".{0,20}") {
        for x in [&s, &t] {
            let b = x.as_bytes();
            let regex = b.len() >= 3 && b.len() <= 16 && b[0] == b'+' && (b'1'..=b'9').contains(&b[1]) && b[2..].iter().all(u8::is_ascii_digit);
            prop_assert_eq!(fxe_protocol::e164::is_valid(x), regex);
            // A valid number that passes the real-number check normalises to itself; one that fails it is refused.
            if regex {
                match fxe_protocol::e164::check(x) {
                    Ok(()) => prop_assert_eq!(&fxe_protocol::e164::normalize(x).unwrap(), x),
                    Err(_) => prop_assert!(fxe_protocol::e164::normalize(x).is_err()),
                }
            }
        }
    }

    #[test]
    fn uuid_validation_matches_the_regex(s in "[0-9a-fA-F-]{30,40}") {
        let b = s.as_bytes();
        let hex = |c: u8| c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
        let regex = b.len() == 36 && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            14 => c == b'4',
            19 => b"89ab".contains(&c),
            _ => hex(c),
        });
        prop_assert_eq!(encoding::validate_uuid_v4("id", &s).is_ok(), regex);
    }
}
