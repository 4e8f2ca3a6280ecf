//! RFC 3339 UTC timestamps for API objects (`2026-11-22T09:35:34Z`), without a
//! calendar dependency so the browser build stays small.

use crate::{Error, Result};

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Formats unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Formats unix milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ` (for `updated_at`, so pollers can resume exactly).
pub fn format_rfc3339_millis(unix_ms: i64) -> String {
    let s = format_rfc3339(unix_ms.div_euclid(1000));
    format!("{}.{:03}Z", &s[..19], unix_ms.rem_euclid(1000))
}

/// Parses an RFC 3339 timestamp to unix milliseconds (sub-millisecond digits are truncated).
/// Fails with [`crate::Error::Invalid`] for anything that is not RFC 3339.
pub fn parse_rfc3339_millis(s: &str) -> Result<i64> {
    let secs = parse_rfc3339(s)?;
    let ms = s
        .get(19..)
        .and_then(|r| r.strip_prefix('.'))
        .map(|f| {
            let digits: String = f.chars().take_while(char::is_ascii_digit).take(3).collect();
            format!("{digits:0<3}").parse::<i64>().unwrap_or(0)
        })
        .unwrap_or(0);
    Ok(secs * 1000 + ms)
}

/// Parses an RFC 3339 timestamp (`Z` or a numeric offset; fractional seconds are truncated).
/// Fails with [`crate::Error::Invalid`] for anything that is not RFC 3339.
pub fn parse_rfc3339(s: &str) -> Result<i64> {
    let bad = || Error::invalid("time", format!("{s:?} is not an RFC 3339 timestamp like 2026-01-31T12:00:00Z"));
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    let num = |r: core::ops::Range<usize>| -> Result<i64> {
        let t = s.get(r).ok_or_else(bad)?;
        if !t.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        t.parse::<i64>().map_err(|_| bad())
    };
    let (y, mo, d, h, mi, se) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return Err(bad());
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return Err(bad());
        }
        rest = &frac[n..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && o.as_bytes()[3] == b':' => {
            let oh = num(s.len() - 5..s.len() - 3)?;
            let om = num(s.len() - 2..s.len())?;
            let v = oh * 3600 + om * 60;
            if o.starts_with('-') { -v } else { v }
        }
        _ => return Err(bad()),
    };
    Ok(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se.min(59) - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_known_values() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(1_795_340_134), "2026-11-22T09:35:34Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        for t in [0i64, 1, 86_399, 951_782_400, 1_795_340_134, 4_102_444_800] {
            assert_eq!(parse_rfc3339(&format_rfc3339(t)).unwrap(), t);
        }
        assert_eq!(format_rfc3339_millis(1_795_340_134_007), "2026-11-22T09:35:34.007Z");
        assert_eq!(parse_rfc3339_millis("2026-11-22T09:35:34.007Z").unwrap(), 1_795_340_134_007);
        assert_eq!(parse_rfc3339_millis("2026-11-22T09:35:34.5Z").unwrap(), 1_795_340_134_500);
        assert_eq!(parse_rfc3339_millis("2026-11-22T09:35:34Z").unwrap(), 1_795_340_134_000);
        assert_eq!(parse_rfc3339("2026-11-22T10:35:34.123+01:00").unwrap(), 1_795_340_134);
        for bad in ["", "2026-11-22", "2026-13-01T00:00:00Z", "2026-11-22T09:22:14", "yesterday"] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }
}
