//! Checks on what people type about themselves, shared by redemption, the
//! team and operator accounts.

/// A plausible e-mail address: one `@`, no spaces, at most 254 characters.
pub fn is_email(s: &str) -> bool {
    s.len() <= 254
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && s.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.contains('@') && !d.starts_with('.') && !d.ends_with('.')
        })
}
