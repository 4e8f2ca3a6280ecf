//! The endpoint guard (API.md, Webhooks): endpoint URLs must be https and
//! reach public addresses only. The host is resolved and every address
//! checked; the HTTP client connects only to checked addresses (its DNS
//! resolver is [`GuardResolver`], so there is no second, unchecked lookup).
//! `allow_private_webhooks` lifts both rules (development and tests).

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
};

use url::{Host, Url};

/// Longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Why a URL or an address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("{0}")]
    Url(String),
    #[error("{host} resolves to {ip}, a {range} address; webhooks go to public addresses only")]
    Blocked { host: String, ip: IpAddr, range: &'static str },
    #[error("cannot resolve {host}: {reason}")]
    Resolve { host: String, reason: String },
}

/// Which blocked range `ip` is in, or `None` for a public address.
pub fn blocked_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => blocked_v4(v4),
        IpAddr::V6(v6) => blocked_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], bits: u32) -> bool {
    let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn blocked_v4(ip: Ipv4Addr) -> Option<&'static str> {
    const RANGES: &[([u8; 4], u32, &str)] = &[
        ([0, 0, 0, 0], 8, "unspecified (this network)"),
        ([10, 0, 0, 0], 8, "private"),
        ([100, 64, 0, 0], 10, "carrier-grade NAT"),
        ([127, 0, 0, 0], 8, "loopback"),
        ([169, 254, 0, 0], 16, "link-local (cloud metadata)"),
        ([172, 16, 0, 0], 12, "private"),
        ([192, 0, 0, 0], 24, "IETF protocol assignment"),
        ([192, 0, 2, 0], 24, "documentation"),
        ([192, 88, 99, 0], 24, "6to4 relay"),
        ([192, 168, 0, 0], 16, "private"),
        ([198, 18, 0, 0], 15, "benchmarking"),
        ([198, 51, 100, 0], 24, "documentation"),
        ([203, 0, 113, 0], 24, "documentation"),
        ([224, 0, 0, 0], 4, "multicast"),
        ([240, 0, 0, 0], 4, "reserved or broadcast"),
    ];
    RANGES.iter().find(|(net, bits, _)| in_v4(ip, *net, *bits)).map(|(_, _, name)| *name)
}

fn in_v6(ip: Ipv6Addr, net: [u16; 8], bits: u32) -> bool {
    let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
    u128::from(ip) & mask == u128::from(Ipv6Addr::from(net)) & mask
}

fn embedded_v4(ip: Ipv6Addr) -> Ipv4Addr {
    let o = ip.octets();
    Ipv4Addr::new(o[12], o[13], o[14], o[15])
}

fn blocked_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    // ::ffff:a.b.c.d and the NAT64 prefix carry an IPv4 address: judge that.
    if in_v6(ip, [0, 0, 0, 0, 0, 0xffff, 0, 0], 96) || in_v6(ip, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96) {
        return blocked_v4(embedded_v4(ip)).map(|_| "IPv4-mapped non-public");
    }
    const RANGES: &[([u16; 8], u32, &str)] = &[
        ([0, 0, 0, 0, 0, 0, 0, 0], 96, "IPv4-compatible (deprecated)"),
        ([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, "local-use NAT64"),
        ([0x100, 0, 0, 0, 0, 0, 0, 0], 64, "discard-only"),
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, "IETF protocol assignment"),
        ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, "documentation"),
        ([0x2002, 0, 0, 0, 0, 0, 0, 0], 16, "6to4"),
        ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, "documentation"),
        ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, "unique local (private)"),
        ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, "link-local"),
        ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, "site-local (deprecated)"),
        ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, "multicast"),
    ];
    RANGES.iter().find(|(net, bits, _)| in_v6(ip, *net, *bits)).map(|(_, _, name)| *name)
}

/// Checks a URL's form: absolute, https (http only when `allow_private`),
/// a host, no user name or password, no fragment, at most 2048 characters.
/// Literal addresses are checked here; names when resolved ([`resolve`]).
pub fn check_url(raw: &str, allow_private: bool) -> Result<Url, GuardError> {
    let bad = |m: &str| GuardError::Url(m.to_owned());
    if raw.len() > MAX_URL_LEN {
        return Err(bad("url is longer than 2048 characters"));
    }
    let url = Url::parse(raw.trim()).map_err(|e| GuardError::Url(format!("url is not a valid URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err(bad("url must start with https://")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("url must not hold a user name or password"));
    }
    if url.fragment().is_some() {
        return Err(bad("url must not have a #fragment"));
    }
    let host = url.host().ok_or_else(|| bad("url needs a host"))?;
    if !allow_private {
        let ip = match host {
            Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
            Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
            Host::Domain(_) => None,
        };
        if let Some(ip) = ip {
            check_ip(&ip.to_string(), ip)?;
        }
    }
    Ok(url)
}

fn check_ip(host: &str, ip: IpAddr) -> Result<(), GuardError> {
    match blocked_range(ip) {
        Some(range) => Err(GuardError::Blocked { host: host.to_owned(), ip, range }),
        None => Ok(()),
    }
}

/// Refuses the whole answer if any address is non-public (a name that
/// resolves to one private address is not trusted with the others).
pub fn check_resolved(host: &str, addrs: &[SocketAddr], allow_private: bool) -> Result<(), GuardError> {
    if addrs.is_empty() {
        return Err(GuardError::Resolve { host: host.to_owned(), reason: "no addresses".into() });
    }
    if !allow_private {
        for a in addrs {
            check_ip(host, a.ip())?;
        }
    }
    Ok(())
}

/// Resolves `host` and checks every address.
pub async fn resolve(host: &str, port: u16, allow_private: bool) -> Result<Vec<SocketAddr>, GuardError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((bare, port))
            .await
            .map_err(|e| GuardError::Resolve { host: bare.to_owned(), reason: e.to_string() })?
            .collect(),
    };
    check_resolved(bare, &addrs, allow_private)?;
    Ok(addrs)
}

/// Checks a URL completely: its form and the addresses its host resolves to.
pub async fn check(raw: &str, allow_private: bool) -> Result<Url, GuardError> {
    let url = check_url(raw, allow_private)?;
    let host = url.host_str().unwrap_or_default();
    resolve(host, url.port_or_known_default().unwrap_or(443), allow_private).await?;
    Ok(url)
}

/// The webhook client's DNS resolver: resolves, checks, and hands the client
/// only checked addresses.
pub struct GuardResolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for GuardResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs = resolve(name.as_str(), 0, allow_private)
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl GuardResolver {
    pub fn shared(allow_private: bool) -> Arc<GuardResolver> {
        Arc::new(GuardResolver { allow_private })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_and_public_addresses() {
        for ip in [
            "127.0.0.1",
            "127.9.9.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "3fff::1",
            "2002:a00:1::1",
            "100::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(blocked_range(ip).is_some(), "{ip} must be blocked");
        }
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(blocked_range(ip), None, "{ip} is public");
        }
    }

    #[test]
    fn url_forms() {
        assert!(check_url("https://hooks.example.com/x?y=1", false).is_ok());
        for bad in [
            "http://hooks.example.com/",
            "ftp://x",
            "https://u:p@hooks.example.com/",
            "https://hooks.example.com/#f",
            "not a url",
            "https://127.0.0.1/",
            "https://[::1]/",
            "https://[::ffff:7f00:1]/",
            "https://169.254.169.254/latest",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
        assert!(check_url("http://127.0.0.1:9/", true).is_ok());
    }

    #[test]
    fn resolved_answers_are_checked_as_a_whole() {
        let public: SocketAddr = "93.184.216.34:443".parse().unwrap();
        let private: SocketAddr = "10.0.0.1:443".parse().unwrap();
        assert!(check_resolved("h", &[public], false).is_ok());
        assert!(check_resolved("h", &[public, private], false).is_err());
        assert!(check_resolved("h", &[private], true).is_ok());
        assert!(check_resolved("h", &[], true).is_err());
    }

    #[tokio::test]
    async fn the_client_connects_only_to_checked_addresses() {
        use std::error::Error;
        // The URL check is bypassed here on purpose: the client's own resolver still refuses.
        let client = crate::webhooks::worker::client(false).unwrap();
        let err = client.post("http://localhost:9/hook").send().await.unwrap_err();
        let mut chain = err.to_string();
        let mut source = err.source();
        while let Some(s) = source {
            chain.push_str(&format!(": {s}"));
            source = s.source();
        }
        assert!(chain.contains("loopback"), "{chain}");
        let name = || "localhost".parse::<reqwest::dns::Name>().unwrap();
        assert!(reqwest::dns::Resolve::resolve(&GuardResolver { allow_private: false }, name()).await.is_err());
        let addrs: Vec<SocketAddr> =
            reqwest::dns::Resolve::resolve(&GuardResolver { allow_private: true }, name()).await.unwrap().collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()) && !addrs.is_empty());
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused() {
        let err = check("https://localhost/hook", false).await.unwrap_err();
        assert!(matches!(err, GuardError::Blocked { .. }), "{err}");
        assert!(check("http://localhost:9/hook", true).await.is_ok());
    }
}
