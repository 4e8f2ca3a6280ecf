//! Byte counts between Rust's integers and JavaScript's Numbers (and the
//! floats that progress bars and sizes are shown with). The casts live here
//! only, each with why it loses nothing that matters.

/// A JavaScript Number that counts something (a `Blob`'s size, bytes sent,
/// milliseconds) as a `u64`. Such Numbers are whole and at most 2^53
/// (`Number.MAX_SAFE_INTEGER`), which `u64` holds exactly; a fraction is
/// dropped, and NaN or a negative value (which no count is) gives 0.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "Blob sizes and byte counts are whole Numbers in 0..=2^53: exact in u64; `as` saturates anything else"
)]
pub fn count(n: f64) -> u64 {
    n as u64
}

/// A byte count as an `f64` (a JavaScript Number, a progress fraction, a size
/// in MB). Exact up to 2^53 bytes (8 PiB), far beyond any fax or file a
/// browser holds.
#[allow(clippy::cast_precision_loss, reason = "byte counts here are far below 2^53, where f64 is exact")]
pub fn float(n: u64) -> f64 {
    n as f64
}

#[cfg(test)]
mod tests {
    use super::{count, float};

    #[test]
    fn counts_survive_the_round_trip() {
        for n in [0, 1, 5, 104_857_600, 1 << 53] {
            assert_eq!(count(float(n)), n);
        }
        assert_eq!(count(-1.0), 0);
        assert_eq!(count(f64::NAN), 0);
        assert_eq!(count(2.9), 2);
    }
}
