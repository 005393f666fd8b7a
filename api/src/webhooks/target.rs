//! Where a webhook may be sent: `https://` to a public address only, unless the server
//! allows private targets (`ACCORD_WEBHOOKS_ALLOW_PRIVATE`, development and tests). The
//! URL is checked when an endpoint is saved, and the address it resolves to on every
//! attempt, by the resolver the sender connects through, so a name that later
//! resolves to an internal address (DNS rebinding) is refused too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::{Host, Url};

use crate::error::{ApiError, Result};

/// Longest endpoint URL accepted.
pub const MAX_URL_LEN: usize = 2_048;

/// Check an endpoint URL as it is saved; returns it normalised.
pub fn check_url(value: &str, allow_private: bool) -> Result<Url> {
    let bad = |message: &str| ApiError::bad_input("url", message);
    let value = value.trim();
    if value.is_empty() || value.len() > MAX_URL_LEN {
        return Err(bad("give an https:// URL of at most 2,048 characters"));
    }
    let url = Url::parse(value).map_err(|_| bad("is not a URL, such as https://hooks.example.com/accord"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err(bad("must start with https://")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry a user name or password; the signature proves the sender"));
    }
    if url.fragment().is_some() {
        return Err(bad("must not have a #fragment"));
    }
    check_host(&url, allow_private).map_err(|why| bad(&why))?;
    Ok(url)
}

/// The host rules of [`check_url`], also applied before every attempt (an IP literal
/// is never resolved, so the resolver would not see it).
pub fn check_host(url: &Url, allow_private: bool) -> Result<(), String> {
    match url.host() {
        None => Err("must name a host".into()),
        Some(Host::Ipv4(ip)) => check_ip(IpAddr::V4(ip), allow_private),
        Some(Host::Ipv6(ip)) => check_ip(IpAddr::V6(ip), allow_private),
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            let internal = name == "localhost"
                || [".localhost", ".local", ".internal", ".localdomain", ".home.arpa"]
                    .iter()
                    .any(|s| name.ends_with(s))
                || !name.contains('.');
            if internal && !allow_private { Err(format!("{name} is not a public host name")) } else { Ok(()) }
        }
    }
}

fn check_ip(ip: IpAddr, allow_private: bool) -> Result<(), String> {
    if allow_private || is_public(ip) {
        Ok(())
    } else {
        Err(format!("{ip} is a private, loopback, link-local or reserved address"))
    }
}

/// Whether `ip` is a public unicast address: not private, loopback, link-local,
/// shared (CGNAT), documentation, benchmarking, multicast, reserved or unspecified,
/// nor an IPv6 form of one of those IPv4 addresses.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b))
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && (c == 0 || c == 2))
        || (a == 192 && b == 88 && c == 99)
        || (a == 198 && (b == 18 || b == 19))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || a >= 224)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    // IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an
    // IPv4 address a gateway may forward to: judge that address.
    let embedded = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if s[..6] == [0, 0, 0, 0, 0, 0] {
        return !ip.is_unspecified() && !ip.is_loopback() && is_public_v4(embedded(s[6], s[7]));
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return is_public_v4(embedded(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return is_public_v4(embedded(s[1], s[2]));
    }
    !((s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] & 0xff00) == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] < 0x0200) // IETF protocol assignments (Teredo, ORCHID, …)
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0])) // discard-only
}

/// The resolver webhooks connect through: it resolves as the system does and keeps
/// only public addresses (all of them when private targets are allowed); a name with
/// none left fails the attempt with the reason.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> =
                found.iter().copied().filter(|addr| allow_private || is_public(addr.ip())).collect();
            if allowed.is_empty() {
                let why = if found.is_empty() {
                    format!("{host} resolves to no address")
                } else {
                    format!("{host} resolves only to private, loopback or reserved addresses")
                };
                return Err(Box::new(Blocked(why)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// A target refused by the address rules.
#[derive(Debug)]
pub struct Blocked(pub String);

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Blocked {}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn public(ip: &str) -> bool {
        is_public(ip.parse().unwrap())
    }

    #[test]
    fn only_public_unicast_addresses_are_public() {
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "2a00:1450:4001::200e"] {
            assert!(public(ip), "{ip}");
        }
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "fc00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
            "2001:db8::1",
        ] {
            assert!(!public(ip), "{ip}");
        }
    }

    #[test]
    fn urls_must_be_https_to_a_public_host_unless_private_targets_are_allowed() {
        assert!(check_url("https://hooks.example.com/accord?x=1", false).is_ok());
        for url in [
            "http://hooks.example.com/",
            "ftp://hooks.example.com/",
            "https://localhost/",
            "https://intranet/",
            "https://127.0.0.1/",
            "https://[::1]/",
            "https://169.254.169.254/latest/meta-data",
            "https://0x7f000001/",
            "https://2130706433/",
            "https://user:pass@hooks.example.com/",
            "https://hooks.example.com/#x",
            "not a url",
            "",
        ] {
            assert!(check_url(url, false).is_err(), "{url}");
        }
        assert!(check_url("http://127.0.0.1:8080/hook", true).is_ok());
        assert!(check_url("ftp://127.0.0.1/", true).is_err());
        assert!(check_url(&format!("https://example.com/{}", "a".repeat(MAX_URL_LEN)), false).is_err());
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_that_resolves_to_a_private_address() {
        use reqwest::dns::Resolve;
        let name = |host: &str| reqwest::dns::Name::from_str(host).unwrap();
        let refused = GuardedResolver { allow_private: false }.resolve(name("localhost")).await;
        let error = refused.err().expect("localhost is refused").to_string();
        assert!(error.contains("private, loopback or reserved"), "{error}");
        let allowed = GuardedResolver { allow_private: true }.resolve(name("localhost")).await;
        assert!(allowed.expect("allowed in development").any(|addr| addr.ip().is_loopback()));
    }
}
