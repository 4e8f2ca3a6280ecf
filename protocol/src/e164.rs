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
/// error rather than a guess, and so is a number no country uses ([`check`]).
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
    check(&out)?;
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

/// The relay's echo number (API.md): not a number in use anywhere, accepted all the same.
const ECHO: &str = "+10000000000";

/// Whether `number` is in the fictional range `+1 555 XXX XXXX` (the `555` area code is not assigned), kept for
/// tests, demonstrations and examples: ten digits after `+1`, like any number of the North American plan.
pub fn is_fictional(number: &str) -> bool {
    number.len() == 12 && number.starts_with("+1555") && is_valid(number)
}

/// Checks that a well-formed E.164 `number` (see [`validate`]) can be a real fax number: the length and
/// leading digits its country code allows. With the `numbering` feature (the relay, the CLI) that is
/// libphonenumber's metadata through the `phonenumber` crate; without it (the browser build, where the
/// metadata would add about 2 MB) the North American plan's rules (+1: ten digits, area code and exchange
/// starting 2 to 9) and the general limit of 15 digits, so a number the browser accepts may still be refused
/// by the relay. The fictional `+1 555` range ([`is_fictional`]) and the echo number pass.
/// Fails with [`Error::Invalid`] (field `number`) saying what is wrong, in words for people.
pub fn check(number: &str) -> Result<()> {
    validate("number", number)?;
    if number == ECHO || is_fictional(number) {
        return Ok(());
    }
    let digits = &number.as_bytes()[1..];
    if digits[0] == b'1' {
        let national = &digits[1..];
        if national.len() != 10 {
            return Err(Error::invalid(
                "number",
                format!(
                    "{} has {} digits after +1; numbers of the North American plan have 10",
                    display(number),
                    national.len()
                ),
            ));
        }
        if national[0] < b'2' || national[3] < b'2' {
            return Err(Error::invalid(
                "number",
                format!(
                    "{} is not a North American number: its area code and exchange cannot start with 0 or 1",
                    display(number)
                ),
            ));
        }
    }
    check_with_metadata(number)
}

#[cfg(feature = "numbering")]
fn check_with_metadata(number: &str) -> Result<()> {
    let shown = || display(number);
    let parsed = phonenumber::parse(None, number)
        .map_err(|_| Error::invalid("number", format!("{} is not a number any country uses", shown())))?;
    if phonenumber::is_valid(&parsed) {
        Ok(())
    } else {
        let country = parsed.country().id().map(|c| format!(" in {c:?}")).unwrap_or_default();
        Err(Error::invalid(
            "number",
            format!("{} is not a number in use{country}: check its length and digits", shown()),
        ))
    }
}

#[cfg(not(feature = "numbering"))]
fn check_with_metadata(_number: &str) -> Result<()> {
    Ok(())
}

/// The length of the ITU-T E.164 country code `digits` starts with (1 to 3 digits): 1 (NANP) and 7 (Russia,
/// Kazakhstan) are one digit; the two-digit codes are listed; every other code has three.
fn country_code_len(digits: &[u8]) -> usize {
    const TWO_DIGIT: [&[u8]; 43] = [
        b"20", b"27", b"30", b"31", b"32", b"33", b"34", b"36", b"39", b"40", b"41", b"43", b"44", b"45", b"46", b"47",
        b"48", b"49", b"51", b"52", b"53", b"54", b"55", b"56", b"57", b"58", b"60", b"61", b"62", b"63", b"64", b"65",
        b"66", b"81", b"82", b"84", b"86", b"90", b"91", b"92", b"93", b"94", b"95",
    ];
    match digits {
        [b'1' | b'7', ..] => 1,
        [a, b, ..] if TWO_DIGIT.contains(&&[*a, *b][..]) || [*a, *b] == *b"98" => 2,
        _ => 3,
    }
}

/// An E.164 number as people read it: the country code, then the national number in groups
/// (`+15551230001` is `+1 555 123 0001`, `+442071838750` is `+44 2071 838 750`). A string that is not a valid
/// number is returned as it is. For showing only: what is signed and sent stays the E.164 form.
pub fn display(number: &str) -> String {
    if !is_valid(number) {
        return number.to_owned();
    }
    let digits = &number.as_bytes()[1..];
    let cc = country_code_len(digits).min(digits.len() - 1);
    let (code, national) = digits.split_at(cc);
    // NANP: area code, exchange, line (3-3-4); elsewhere groups of 4 then 3 from the left, the last at least 3.
    let groups: Vec<usize> = match (code, national.len()) {
        (b"1", 10) => vec![3, 3, 4],
        (_, n) if n <= 4 => vec![n],
        (_, n) => {
            let mut sizes = vec![];
            let mut left = n;
            let mut first = true;
            while left > 4 {
                let take = if first && left >= 8 { 4 } else { 3 };
                sizes.push(take);
                left -= take;
                first = false;
            }
            sizes.push(left);
            sizes
        }
    };
    let mut out = format!("+{}", String::from_utf8_lossy(code));
    let mut at = 0;
    for g in groups {
        out.push(' ');
        out.push_str(&String::from_utf8_lossy(&national[at..at + g]));
        at += g;
    }
    out
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

    #[test]
    fn numbers_are_displayed_in_groups() {
        assert_eq!(display("+15551230001"), "+1 555 123 0001");
        assert_eq!(display("+10000000000"), "+1 000 000 0000");
        assert_eq!(display("+442071838750"), "+44 2071 838 750");
        assert_eq!(display("+4930123456"), "+49 3012 3456");
        assert_eq!(display("+35312345678"), "+353 1234 5678");
        assert_eq!(display("+74951234567"), "+7 4951 234 567");
        assert_eq!(display("+12345"), "+1 2345");
        assert_eq!(display("+12"), "+1 2");
        assert_eq!(display("+123456789012345"), "+1 2345 678 901 2345");
        assert_eq!(display("not a number"), "not a number");
        assert_eq!(display(""), "");
        for n in ["+15551230001", "+442071838750", "+4930123456", "+12025550143"] {
            assert_eq!(normalize(&display(n)).ok().as_deref(), Some(n), "display then normalise gives {n} back");
        }
    }

    #[test]
    fn real_numbers_pass_the_check_and_typos_do_not() {
        for ok in ["+15551230001", "+10000000000", "+12025550143", "+442071838750", "+33142685300", "+4930123456"] {
            assert!(check(ok).is_ok(), "{ok}: {:?}", check(ok));
        }
        // The examples: too short and too long for +1.
        for bad in ["+155598", "+155512300001", "+10125550143", "+12021550143", "+1202555014"] {
            let e = check(bad).expect_err(bad).to_string();
            assert!(e.contains("+1"), "{bad}: {e}");
        }
        assert!(check("+4412").is_err() || cfg!(not(feature = "numbering")));
        assert!(check("not a number").is_err());
    }
}
