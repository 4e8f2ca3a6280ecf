//! Strict encodings and field validations of PROTOCOL.md §1.
//!
//! * b64u: base64url without padding; padding and non-canonical trailing bits are rejected.
//! * hex: lowercase only.
//! * ids: UUIDv4 lowercase hyphenated; org and bundle ids are 32 lowercase hex characters.

use crate::{Error, Result};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// Base64url without padding, the form of every byte field on the wire.
pub fn b64u_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes strict base64url (no padding, canonical); fails with [`Error::Invalid`] naming `field`.
pub fn b64u_decode(field: &'static str, s: &str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).map_err(|e| Error::invalid(field, format!("not canonical unpadded base64url ({e})")))
}

/// Decodes strict base64url of exactly `N` bytes; fails with [`Error::Invalid`] naming `field`.
pub fn b64u_fixed<const N: usize>(field: &'static str, s: &str) -> Result<[u8; N]> {
    let v = b64u_decode(field, s)?;
    v.as_slice().try_into().map_err(|_| Error::invalid(field, format!("must be {N} bytes, got {}", v.len())))
}

/// Standard base64 with padding (the webhook secret's and the CLI's text forms).
pub fn b64_std_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard base64 with padding, canonical; fails with [`Error::Invalid`] naming `field`.
pub fn b64_std_decode(field: &'static str, s: &str) -> Result<Vec<u8>> {
    STANDARD.decode(s).map_err(|e| Error::invalid(field, format!("not canonical base64 ({e})")))
}

/// Lowercase hex.
pub fn hex_encode(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Decodes lowercase hex (upper case is rejected); fails with [`Error::Invalid`] naming `field`.
pub fn hex_decode(field: &'static str, s: &str) -> Result<Vec<u8>> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(Error::invalid(field, "hex must be lowercase"));
    }
    hex::decode(s).map_err(|e| Error::invalid(field, format!("not hex ({e})")))
}

/// Decodes lowercase hex of exactly `N` bytes; fails with [`Error::Invalid`] naming `field`.
pub fn hex_fixed<const N: usize>(field: &'static str, s: &str) -> Result<[u8; N]> {
    if s.len() != 2 * N {
        return Err(Error::invalid(field, format!("must be {} hex characters, got {}", 2 * N, s.len())));
    }
    let v = hex_decode(field, s)?;
    v.as_slice().try_into().map_err(|_| Error::invalid(field, format!("must be {N} bytes")))
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Validates a 32-character lowercase hex id (org_id, bundle_id).
/// Fails with [`Error::Invalid`] naming `field`.
pub fn validate_id32(field: &'static str, s: &str) -> Result<()> {
    if s.len() != 32 || !is_lower_hex(s) {
        return Err(Error::invalid(field, "must be 32 lowercase hex characters"));
    }
    Ok(())
}

/// Validates `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`.
/// Fails with [`Error::Invalid`] naming `field`.
pub fn validate_uuid_v4(field: &'static str, s: &str) -> Result<()> {
    let b = s.as_bytes();
    let ok = b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            14 => c == b'4',
            19 => matches!(c, b'8' | b'9' | b'a' | b'b'),
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
        });
    if ok { Ok(()) } else { Err(Error::invalid(field, "must be a lowercase hyphenated UUIDv4")) }
}

/// A fresh random UUIDv4 (lowercase, hyphenated), e.g. for `message_id`.
/// Fails only with [`Error::Rng`].
pub fn new_uuid_v4() -> Result<String> {
    let mut b: [u8; 16] = crate::random_bytes()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]))
}

/// Parses a decimal unix timestamp `^[1-9][0-9]*$` that fits a u64.
/// Fails with [`Error::Invalid`] naming `field`.
pub fn parse_timestamp(field: &'static str, s: &str) -> Result<u64> {
    let b = s.as_bytes();
    if b.is_empty() || b[0] == b'0' || !b.iter().all(u8::is_ascii_digit) {
        return Err(Error::invalid(field, "must be decimal unix seconds without leading zeros"));
    }
    s.parse::<u64>().map_err(|_| Error::invalid(field, "out of range"))
}

/// A JSON parse of a `what` (e.g. "receipt"), from `serde_json::from_str` or `from_value`,
/// checked with `check` (its `check_shape`); fails with [`Error::Json`] naming `what`, or with the check's error.
pub(crate) fn checked_json<T>(
    what: &'static str, parsed: serde_json::Result<T>, check: impl FnOnce(&T) -> Result<()>,
) -> Result<T> {
    let t = parsed.map_err(|e| Error::json(what, e))?;
    check(&t)?;
    Ok(t)
}

/// Signed objects are JSON objects only. `serde`'s derived `Deserialize` for a
/// struct also accepts a JSON array of its field values in order (`[1,"…",…]`);
/// that form has no field names, so it can be neither "unknown" nor "missing",
/// and other implementations refuse it. `MapOnly` routes a struct to
/// `deserialize_map`, which refuses anything but an object.
pub(crate) struct MapOnly<D>(pub D);

impl<'de, D: serde::Deserializer<'de>> serde::Deserializer<'de> for MapOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(visitor)
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self, _name: &'static str, _fields: &'static [&'static str], visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// Implements `Serialize` and an objects-only `Deserialize` for a struct derived with
/// `#[serde(remote = "Self")]` (see [`MapOnly`]).
macro_rules! object_only_serde {
    ($($t:ty),+ $(,)?) => {$(
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
                <$t>::deserialize(crate::encoding::MapOnly(d))
            }
        }
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
                <$t>::serialize(self, s)
            }
        }
    )+};
}
pub(crate) use object_only_serde;

/// Serde adapters for the JSON forms: fixed-length b64u and lowercase hex byte strings.
pub(crate) mod serde_b64u {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer, const N: usize>(v: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::b64u_encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[u8; N], D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::b64u_fixed::<N>("field", &s).map_err(|e| D::Error::custom(reason(e)))
    }

    pub(crate) fn reason(e: crate::Error) -> String {
        match e {
            crate::Error::Invalid { reason, .. } => reason,
            other => other.to_string(),
        }
    }
}

/// Serde adapter for a b64u byte string of one exact length kept in a `Vec` (the X-Wing keys
/// and ciphertexts): a field's own module names the field and the length for [`deserialize`](serde_b64u_len::deserialize).
pub(crate) mod serde_b64u_len {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::b64u_encode(v))
    }

    /// Decodes the b64u string of `field`, failing unless it is `len` bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D, field: &'static str, len: usize) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let v = super::b64u_decode(field, &s).map_err(D::Error::custom)?;
        if v.len() != len {
            return Err(D::Error::custom(format!("{field} must be {len} bytes")));
        }
        Ok(v)
    }
}

pub(crate) mod serde_hex32 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::hex_encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::hex_fixed::<32>("field", &s).map_err(|e| D::Error::custom(super::serde_b64u::reason(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn b64u_rejects_padding_and_noncanonical() {
        assert_eq!(b64u_decode("f", "AQ").unwrap(), vec![1]);
        assert!(b64u_decode("f", "AQ==").is_err());
        assert!(b64u_decode("f", "AR").is_err(), "non-zero trailing bits");
        assert!(b64u_decode("f", "A+").is_err(), "standard alphabet");
    }

    #[test]
    fn hex_rejects_upper_case() {
        assert!(hex_decode("f", "AB").is_err());
        assert_eq!(hex_decode("f", "ab").unwrap(), vec![0xab]);
        assert!(hex_fixed::<2>("f", "abc").is_err());
    }

    #[test]
    fn uuid_v4_validation() {
        let id = new_uuid_v4().unwrap();
        validate_uuid_v4("id", &id).unwrap();
        assert!(validate_uuid_v4("id", "3F2504E0-4F89-41D3-9A0C-0305E82C3301").is_err());
        assert!(validate_uuid_v4("id", "3f2504e0-4f89-11d3-9a0c-0305e82c3301").is_err(), "v1");
        assert!(validate_uuid_v4("id", "3f2504e0-4f89-41d3-7a0c-0305e82c3301").is_err(), "variant");
        validate_uuid_v4("id", "3f2504e0-4f89-41d3-9a0c-0305e82c3301").unwrap();
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("t", "1700000000").unwrap(), 1_700_000_000);
        for bad in ["", "0", "01", "-1", "1.0", " 1", "99999999999999999999999"] {
            assert!(parse_timestamp("t", bad).is_err(), "{bad}");
        }
    }
}
