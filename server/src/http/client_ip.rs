//! Who the client is, by address: the TCP peer, or behind a trusted reverse
//! proxy (`--trusted-proxy`) the nearest `X-Forwarded-For` address that is not
//! itself a trusted proxy. Without trusted proxies `X-Forwarded-For` is
//! ignored (anyone can send it). The limits ([`crate::http::rate_limit`]) and
//! the audit trail's addresses use this.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{HeaderMap, request::Parts},
};
use ipnet::IpNet;

/// The resolved client address of a request (an extension set by
/// [`crate::http::auth::authenticate`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// The request's client: as resolved, else the TCP peer.
    pub fn of(parts: &Parts) -> Option<IpAddr> {
        match parts.extensions.get::<ClientIp>() {
            Some(ClientIp(ip)) => Some(*ip),
            None => parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(a)| a.ip().to_canonical()),
        }
    }
}

/// The [`limit_key`] of the request's client, when known (handlers that cap
/// something per client take it).
#[derive(Clone, Debug)]
pub struct ClientKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientKey {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientKey(ClientIp::of(parts).map(limit_key)))
    }
}

/// The client of a request from `peer` with `headers`, given the trusted proxies.
///
/// The `X-Forwarded-For` list is read from the right (the hop nearest to the
/// relay): as long as the address at hand is a trusted proxy, the one it
/// forwarded for is taken next. The first address that is not a trusted
/// proxy is the client; a malformed entry ends the walk at the trusted hop
/// before it. The left-most entries are never believed on their own: a
/// client can write anything there.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if trusted.is_empty() || !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for entry in forwarded.iter().rev() {
        if !is_trusted(&client) {
            break;
        }
        match parse_entry(entry) {
            Some(ip) => client = ip,
            None => break,
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, possibly `[v6]:port` or `v4:port`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    entry.parse::<SocketAddr>().ok().map(|a| a.ip().to_canonical())
}

/// The key a per-address limit counts under: the address itself for IPv4,
/// its /64 for IPv6 (one host usually holds a whole /64).
pub fn limit_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{}/64", Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        assert_eq!(resolve(ip("192.0.2.1"), &xff(&["203.0.113.9"]), &[]), ip("192.0.2.1"));
        // A trusted list that does not name the peer changes nothing either.
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        assert_eq!(resolve(ip("192.0.2.1"), &xff(&["203.0.113.9"]), &trusted), ip("192.0.2.1"));
    }

    #[test]
    fn behind_trusted_proxies_the_nearest_untrusted_address() {
        let trusted: Vec<IpNet> = ["10.0.0.0/8".parse().unwrap(), "127.0.0.1/32".parse().unwrap()].into();
        // haproxy appended the client it saw.
        assert_eq!(resolve(ip("10.0.0.2"), &xff(&["203.0.113.9"]), &trusted), ip("203.0.113.9"));
        // A forged left-most entry is not believed.
        assert_eq!(resolve(ip("10.0.0.2"), &xff(&["198.51.100.1, 203.0.113.9"]), &trusted), ip("203.0.113.9"));
        // Two trusted hops, as two headers.
        assert_eq!(
            resolve(ip("127.0.0.1"), &xff(&["198.51.100.1, 203.0.113.9", "10.0.0.7"]), &trusted),
            ip("203.0.113.9")
        );
        // Ports and IPv6 brackets.
        assert_eq!(resolve(ip("10.0.0.2"), &xff(&["[2001:db8::1]:443"]), &trusted), ip("2001:db8::1"));
        assert_eq!(resolve(ip("10.0.0.2"), &xff(&["203.0.113.9:5000"]), &trusted), ip("203.0.113.9"));
        // Garbage ends the walk at the trusted hop; no header: the proxy itself.
        assert_eq!(resolve(ip("10.0.0.2"), &xff(&["203.0.113.9, nonsense"]), &trusted), ip("10.0.0.2"));
        assert_eq!(resolve(ip("10.0.0.2"), &HeaderMap::new(), &trusted), ip("10.0.0.2"));
        // Only trusted addresses: the left-most of them.
        assert_eq!(resolve(ip("10.0.0.2"), &xff(&["10.9.9.9"]), &trusted), ip("10.9.9.9"));
        // IPv4-mapped IPv6 peers (dual-stack listeners) count as IPv4.
        assert_eq!(resolve(ip("::ffff:10.0.0.2"), &xff(&["203.0.113.9"]), &trusted), ip("203.0.113.9"));
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        assert_eq!(limit_key(ip("2001:db8:1:2:3:4:5:6")), "2001:db8:1:2::/64");
        assert_eq!(limit_key(ip("2001:db8:1:2::ffff")), "2001:db8:1:2::/64");
        assert_eq!(limit_key(ip("192.0.2.1")), "192.0.2.1");
        assert_eq!(limit_key(ip("::ffff:192.0.2.1")), "192.0.2.1");
    }
}
