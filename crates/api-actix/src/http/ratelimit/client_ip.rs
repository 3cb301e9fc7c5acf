//! Which IP address a request counts against: the peer, unless the peer is one of the
//! configured proxies, in which case X-Forwarded-For is read from the right, where the
//! proxies append, never from the left, which the client writes itself.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The proxies whose X-Forwarded-For entries are believed (`rate_limit.trusted_proxies`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses CIDRs (`10.0.0.0/8`) or single addresses (`127.0.0.1`); the error names
    /// the first entry that is neither.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        entries
            .iter()
            .map(|entry| {
                let entry = entry.as_ref().trim();
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!(
                            "rate_limit.trusted_proxies: {entry:?} is neither a CIDR (10.0.0.0/8) nor an IP address"
                        )
                    })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address. `peer` is the TCP peer; without one (never the case on a
    /// real connection) every such request shares one key, so it is limited, not exempt.
    pub fn client_ip(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> IpAddr {
        let Some(peer) = peer.map(|ip| ip.to_canonical()) else {
            return IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        };
        if !self.contains(peer) {
            return peer;
        }
        // Several X-Forwarded-For headers form one list, in order.
        let mut entries = Vec::new();
        for value in headers.get_all(X_FORWARDED_FOR) {
            match value.to_str() {
                Ok(value) => entries.extend(value.split(',')),
                // Unreadable: nothing in it can be trusted, so the walk cannot start.
                Err(_) => return peer,
            }
        }
        let mut last_trusted = peer;
        for entry in entries.iter().rev() {
            match parse_entry(entry) {
                Some(ip) if self.contains(ip) => last_trusted = ip,
                Some(ip) => return ip,
                // Garbage ends the walk at the last hop known to be honest.
                None => return last_trusted,
            }
        }
        last_trusted
    }
}

/// An X-Forwarded-For entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(
                HeaderName::from_static(X_FORWARDED_FOR),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        map
    }

    fn proxies() -> TrustedProxies {
        TrustedProxies::parse(&["10.0.0.0/8", "127.0.0.1", "fd00::/8"]).unwrap()
    }

    fn walk(peer: &str, values: &[&[u8]]) -> IpAddr {
        proxies().client_ip(Some(ip(peer)), &headers(values))
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(walk("203.0.113.9", &[b"198.51.100.1"]), ip("203.0.113.9"));
        assert_eq!(walk("203.0.113.9", &[b"garbage"]), ip("203.0.113.9"));
        let nobody_trusted = TrustedProxies::default();
        let forwarded = headers(&[b"198.51.100.1"]);
        assert_eq!(
            nobody_trusted.client_ip(Some(ip("10.0.0.1")), &forwarded),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn the_first_untrusted_address_from_the_right_is_the_client() {
        // The client wrote the leftmost entry itself; the proxy appended the real one.
        assert_eq!(
            walk("10.0.0.1", &[b"1.1.1.1, 198.51.100.7"]),
            ip("198.51.100.7")
        );
        // Two proxies in a row are both skipped.
        assert_eq!(
            walk("10.0.0.1", &[b"1.1.1.1, 198.51.100.7, 10.2.3.4"]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn several_headers_form_one_list() {
        assert_eq!(
            walk("10.0.0.1", &[b"1.1.1.1", b"198.51.100.7, 10.2.3.4"]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn garbage_stops_the_walk_at_the_last_trusted_hop() {
        assert_eq!(walk("10.0.0.1", &[b"not-an-ip"]), ip("10.0.0.1"));
        assert_eq!(walk("10.0.0.1", &[b""]), ip("10.0.0.1"));
        assert_eq!(
            walk("10.0.0.1", &[b"198.51.100.7,,10.9.9.9"]),
            ip("10.9.9.9")
        );
        assert_eq!(walk("10.0.0.1", &[b"unknown, 10.9.9.9"]), ip("10.9.9.9"));
        assert_eq!(walk("10.0.0.1", &[b"1.1.1.1", b"\xff"]), ip("10.0.0.1"));
    }

    #[test]
    fn without_a_header_or_with_only_proxies_the_last_trusted_hop_is_used() {
        assert_eq!(walk("10.0.0.1", &[]), ip("10.0.0.1"));
        assert_eq!(walk("10.0.0.1", &[b"10.7.7.7, 10.8.8.8"]), ip("10.7.7.7"));
    }

    #[test]
    fn ports_ipv6_and_mapped_addresses_are_understood() {
        assert_eq!(
            walk("10.0.0.1", &[b"198.51.100.7:4711"]),
            ip("198.51.100.7")
        );
        assert_eq!(walk("fd00::1", &[b"[2001:db8::5]:443"]), ip("2001:db8::5"));
        assert_eq!(walk("10.0.0.1", &[b"2001:db8::5"]), ip("2001:db8::5"));
        // An IPv4 peer seen through a dual-stack socket is still the trusted proxy.
        assert_eq!(
            walk("::ffff:10.0.0.1", &[b"198.51.100.7"]),
            ip("198.51.100.7")
        );
        assert_eq!(walk("10.0.0.1", &[b"::ffff:10.3.3.3"]), ip("10.3.3.3"));
    }

    #[test]
    fn a_missing_peer_shares_one_key() {
        assert_eq!(
            proxies().client_ip(None, &headers(&[b"198.51.100.7"])),
            ip("0.0.0.0")
        );
    }

    #[test]
    fn parse_accepts_cidrs_and_addresses_and_names_a_bad_entry() {
        assert!(TrustedProxies::parse(&["10.0.0.0/8", " 192.168.1.1 ", "::1/128"]).is_ok());
        let error = TrustedProxies::parse(&["10.0.0.0/8", "proxy.local"]).unwrap_err();
        assert!(error.contains("proxy.local"), "{error}");
        assert!(TrustedProxies::parse(&["10.0.0.0/33"]).is_err());
    }
}
