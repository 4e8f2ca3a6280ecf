//! E.164 numbers: strict validation for signed fields, loose normalisation for
//! what people type (`+1 (555) 123-4567`). Signed fields are never normalised.

use crate::{Error, Result};

/// `^\+[1-9][0-9]{1,14}$`
/// Fails with [`Error::Invalid`] naming `field` for anything else.
pub fn validate(field: &'static str, s: &str) -> Result<()> {
    let b = s.as_bytes();
    let ok = b.len() >= 3
        && b.len() <= 16
        && b[0] == b'+'
        && (b'1'..=b'9').contains(&b[1])
        && b[2..].iter().all(u8::is_ascii_digit);
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(field, format!("{s:?} is not an E.164 number (+ then 2 to 15 digits, no leading 0)")))
    }
}

/// Whether `s` is already a valid E.164 number (see [`validate`]).
pub fn is_valid(s: &str) -> bool {
    validate("number", s).is_ok()
}

/// Normalises loosely formatted input to E.164: keeps a leading `+` (or an
/// international `00` prefix) and digits, drops spaces, dots, dashes, slashes and
/// parentheses. Anything else (letters, extensions, a missing country code) is an
/// error rather than a guess.
pub fn normalize(input: &str) -> Result<String> {
    let trimmed = input.trim();
    let (rest, had_prefix) = if let Some(r) = trimmed.strip_prefix('+') {
        (r, true)
    } else if let Some(r) = trimmed.strip_prefix("00") {
        (r, true)
    } else {
        (trimmed, false)
    };
    if !had_prefix {
        return Err(Error::invalid(
            "number",
            format!("{input:?} has no country code: start it with + (for example +1 555 123 4567)"),
        ));
    }
    let mut out = String::from("+");
    for c in rest.chars() {
        match c {
            '0'..='9' => out.push(c),
            ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' => {}
            _ => {
                return Err(Error::invalid(
                    "number",
                    format!("{input:?} contains {c:?}, which is not part of a fax number"),
                ));
            }
        }
    }
    validate("number", &out)?;
    Ok(out)
}

/// Normalises a comma-separated list of numbers, rejecting duplicates.
pub fn normalize_list(input: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for part in input.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let n = normalize(part)?;
        if out.contains(&n) {
            return Err(Error::invalid("numbers", format!("{n} is listed twice")));
        }
        out.push(n);
    }
    if out.is_empty() {
        return Err(Error::invalid("numbers", "at least one number is required"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn strict_validation() {
        for ok in ["+15551234567", "+10000000000", "+44", "+123456789012345"] {
            assert!(is_valid(ok), "{ok}");
        }
        for bad in ["15551234567", "+05551234567", "+1", "+1234567890123456", "+1 555", "+1555123456a", "", "+"] {
            assert!(!is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn loose_normalisation() {
        assert_eq!(normalize("+1 (555) 123-4567").unwrap(), "+15551234567");
        assert_eq!(normalize(" 0049 30 1234.5678 ").unwrap(), "+493012345678");
        assert!(normalize("555-1234").is_err());
        assert!(normalize("+1 555 CALL NOW").is_err());
        assert_eq!(normalize_list("+1 555 123 4567, +1-555-123-4568").unwrap().len(), 2);
        assert!(normalize_list("+15551234567,+1 555 123 4567").is_err());
    }
}
