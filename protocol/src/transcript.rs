//! Transcripts (PROTOCOL.md §2):
//! `T(label, f1, …, fn) = ascii(label) || 0x00 || for each field: u32be(len(fi)) || fi`.

/// Builds one transcript. Strings are UTF-8 bytes, integers u64 big-endian,
/// byte strings themselves, an absent optional field the empty string.
#[derive(Clone, Debug)]
pub struct Transcript(Vec<u8>);

impl Transcript {
    /// A transcript with `label` (ASCII by convention) and no fields yet.
    pub fn new(label: &str) -> Self {
        let mut buf = Vec::with_capacity(label.len() + 64);
        buf.extend_from_slice(label.as_bytes());
        buf.push(0);
        Transcript(buf)
    }

    /// Appends a byte-string field. Fields longer than u32::MAX bytes cannot occur
    /// in this protocol (all are short); the length saturates rather than panics.
    pub fn bytes(mut self, field: &[u8]) -> Self {
        let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(field);
        self
    }

    /// Appends a string field (its UTF-8 bytes).
    pub fn str(self, field: &str) -> Self {
        self.bytes(field.as_bytes())
    }

    /// Appends an integer field (8 bytes, big-endian).
    pub fn u64(self, field: u64) -> Self {
        self.bytes(&field.to_be_bytes())
    }

    /// The transcript's bytes, to sign or hash.
    pub fn finish(self) -> Vec<u8> {
        self.0
    }
}

/// Splits a transcript into its label and fields; `None` unless `bytes` is exactly
/// `label || 0x00 || (u32be(len) || field)*` with an ASCII label and nothing left over.
pub fn split(bytes: &[u8]) -> Option<(&str, Vec<&[u8]>)> {
    let nul = bytes.iter().position(|b| *b == 0)?;
    let label = std::str::from_utf8(&bytes[..nul]).ok().filter(|l| l.is_ascii())?;
    let mut rest = &bytes[nul + 1..];
    let mut fields = Vec::new();
    while !rest.is_empty() {
        let (len, tail) = rest.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
        if tail.len() < len {
            return None;
        }
        let (field, tail) = tail.split_at(len);
        fields.push(field);
        rest = tail;
    }
    Some((label, fields))
}

/// `H(T(...))`: SHA-256 of a transcript.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn encodes_label_nul_and_length_prefixed_fields() {
        let t = Transcript::new("ab").str("xyz").u64(258).bytes(&[]).finish();
        assert_eq!(t, [b'a', b'b', 0, 0, 0, 0, 3, b'x', b'y', b'z', 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0]);
        let (label, fields) = split(&t).unwrap();
        assert_eq!((label, fields), ("ab", vec![&b"xyz"[..], &[0, 0, 0, 0, 0, 0, 1, 2][..], &[][..]]));
        assert!(split(&t[..t.len() - 1]).is_none());
        assert!(split(&t[..2]).is_none());
        assert!(split(&[&t[..], &[0]].concat()).is_none());
    }
}
