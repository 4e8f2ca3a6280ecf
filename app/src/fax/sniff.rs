//! What an opened fax really is, from its first bytes: a PDF starts with
//! `%PDF-`; anything else is named by its own magic (a few common types) or
//! kept as plain bytes. A file that is not a PDF is never named `.pdf` or
//! shown in the PDF viewer.

/// A file type: its media type and the extension a download gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kind {
    pub mime: &'static str,
    pub extension: &'static str,
    /// In words, for the page.
    pub name: &'static str,
}

pub const PDF: Kind = Kind { mime: "application/pdf", extension: "pdf", name: "a PDF" };
const UNKNOWN: Kind = Kind { mime: "application/octet-stream", extension: "bin", name: "a file of unknown type" };

const MAGIC: &[(&[u8], Kind)] = &[
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", Kind { mime: "image/png", extension: "png", name: "a PNG image" }),
    (b"\xff\xd8\xff", Kind { mime: "image/jpeg", extension: "jpg", name: "a JPEG image" }),
    (b"GIF87a", Kind { mime: "image/gif", extension: "gif", name: "a GIF image" }),
    (b"GIF89a", Kind { mime: "image/gif", extension: "gif", name: "a GIF image" }),
    (b"II*\x00", Kind { mime: "image/tiff", extension: "tif", name: "a TIFF image" }),
    (b"MM\x00*", Kind { mime: "image/tiff", extension: "tif", name: "a TIFF image" }),
    (b"PK\x03\x04", Kind { mime: "application/zip", extension: "zip", name: "a ZIP archive (or an Office document)" }),
];

/// How many leading bytes [`sniff`] looks at.
pub const HEAD_LEN: u64 = 512;

/// The type of a file that starts with `head`.
pub fn sniff(head: &[u8]) -> Kind {
    if let Some((_, kind)) = MAGIC.iter().find(|(magic, _)| head.starts_with(magic)) {
        return *kind;
    }
    // Text, allowing a character cut at the end of `head`.
    let valid = match std::str::from_utf8(head) {
        Ok(s) => Some(s),
        Err(e) if e.error_len().is_none() => head.get(..e.valid_up_to()).and_then(|h| std::str::from_utf8(h).ok()),
        Err(_) => None,
    };
    let text = valid.is_some_and(|s| !s.is_empty() && s.chars().all(|c| !c.is_control() || c.is_whitespace()));
    if text { Kind { mime: "text/plain", extension: "txt", name: "plain text" } } else { UNKNOWN }
}

#[cfg(test)]
mod tests {
    use super::{PDF, sniff};

    #[test]
    fn pdf_only_by_its_magic() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), PDF);
        assert_ne!(sniff(b" %PDF-1.7"), PDF);
        assert_ne!(sniff(b"%PDF"), PDF);
    }

    #[test]
    fn common_types_and_the_rest() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest").mime, "image/png");
        assert_eq!(sniff(b"\xff\xd8\xff\xe0").extension, "jpg");
        assert_eq!(sniff(b"PK\x03\x04").mime, "application/zip");
        assert_eq!(sniff(b"hello, this is not a PDF\n").mime, "text/plain");
        assert_eq!(sniff(b"\x00\x01\x02garbage").mime, "application/octet-stream");
        assert_eq!(sniff(b"").extension, "bin");
        // Text cut in the middle of a character is still text.
        assert_eq!(sniff("fax é".as_bytes().get(..5).unwrap_or_default()).mime, "text/plain");
    }
}
