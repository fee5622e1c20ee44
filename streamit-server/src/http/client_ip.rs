//! Who is calling, behind a reverse proxy: the address per-IP limits and logs use.
//!
//! `X-Forwarded-For`, or `Forwarded` (RFC 7239) with `--forwarded-header forwarded`, is
//! whatever the sender wrote, so it is believed only from peers in `--trusted-proxies`, and only
//! as far as trusted hops go: read from the right (the hop nearest this server), the first
//! address outside the trusted set is the client. Anything a client put further left is its
//! own claim and is ignored. Only the one header is read: proxies that append to one pass a
//! client's copy of the other through untouched. IPv4 addresses mapped into IPv6
//! (`::ffff:10.0.0.1`, as a dual-stack listener reports them) count as the IPv4 address.

use std::net::IpAddr;

use http::HeaderMap;
use http::header::FORWARDED;

use crate::config::{ForwardedHeader, TrustedProxy};

fn is_trusted(ip: IpAddr, trusted: &[TrustedProxy]) -> bool {
    trusted.iter().any(|net| net.contains(ip))
}

/// The client's address: `peer` itself unless it is a trusted proxy, else the nearest hop the
/// forwarding headers name that is not one.
pub(crate) fn client_ip(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &[TrustedProxy],
    header: ForwardedHeader,
) -> IpAddr {
    let peer = peer.to_canonical();
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_hops(headers, header).into_iter().rev() {
        // A hop nobody can read (`unknown`, an obfuscated name): nothing past it can be trusted.
        let Some(ip) = hop.map(|ip| ip.to_canonical()) else {
            return client;
        };
        client = ip;
        if !is_trusted(ip, trusted) {
            break;
        }
    }
    client
}

/// The addresses `header` lists, client side first.
fn forwarded_hops(headers: &HeaderMap, header: ForwardedHeader) -> Vec<Option<IpAddr>> {
    let values = |name| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    match header {
        ForwardedHeader::Forwarded => values(FORWARDED)
            .iter()
            .map(|element| forwarded_for(element))
            .collect(),
        ForwardedHeader::XForwardedFor => values(http::HeaderName::from_static("x-forwarded-for"))
            .iter()
            .map(|hop| address(hop.trim()))
            .collect(),
    }
}

/// The `for=` of one `Forwarded` element (`for=192.0.2.60;proto=http`).
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("for")
            .then(|| address(value.trim().trim_matches('"')))
            .flatten()
    })
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1` or
/// `[2001:db8::1]:4711`.
fn address(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    hop.rsplit_once(':')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const XFF: ForwardedHeader = ForwardedHeader::XForwardedFor;

    fn trusted(list: &[&str]) -> Vec<TrustedProxy> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let claims = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            client_ip(ip("198.51.100.1"), &claims, &[], XFF),
            ip("198.51.100.1")
        );
        let only_lan = trusted(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(ip("198.51.100.1"), &claims, &only_lan, XFF),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn the_first_untrusted_hop_from_the_right_is_the_client() {
        let proxies = trusted(&["10.0.0.0/8", "127.0.0.1"]);
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.1.2.3")]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &chain, &proxies, XFF),
            ip("203.0.113.9")
        );
        let split = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &split, &proxies, XFF),
            ip("203.0.113.9")
        );
        let all_proxies = headers(&[("x-forwarded-for", "10.9.9.9")]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &all_proxies, &proxies, XFF),
            ip("10.9.9.9")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), &HeaderMap::new(), &proxies, XFF),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn only_the_chosen_header_is_read() {
        let proxies = trusted(&["127.0.0.0/8"]);
        let both = headers(&[
            ("x-forwarded-for", "198.51.100.7"),
            (
                "forwarded",
                r#"for=6.6.6.6, for="[2001:db8::1]:4711";proto=https, for=127.0.0.2"#,
            ),
        ]);
        let fwd = ForwardedHeader::Forwarded;
        let loopback = ip("127.0.0.1");
        assert_eq!(client_ip(loopback, &both, &proxies, fwd), ip("2001:db8::1"));
        assert_eq!(
            client_ip(loopback, &both, &proxies, XFF),
            ip("198.51.100.7"),
            "a client's own Forwarded is not read when the proxy writes X-Forwarded-For"
        );
        let unknown = headers(&[("forwarded", "for=203.0.113.9, for=unknown")]);
        assert_eq!(client_ip(loopback, &unknown, &proxies, fwd), loopback);
        let ported = headers(&[("x-forwarded-for", "203.0.113.9:5555")]);
        assert_eq!(
            client_ip(loopback, &ported, &proxies, XFF),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn ipv4_mapped_peers_count_as_ipv4() {
        let proxies = trusted(&["10.0.0.0/8"]);
        let chain = headers(&[("x-forwarded-for", "203.0.113.9")]);
        let mapped_proxy = ip("::ffff:10.0.0.1");
        assert_eq!(
            client_ip(mapped_proxy, &chain, &proxies, XFF),
            ip("203.0.113.9")
        );
        let mapped_client = ip("::ffff:198.51.100.1");
        assert_eq!(
            client_ip(mapped_client, &chain, &proxies, XFF),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn proxies_parse_as_cidrs_or_addresses() {
        assert!("10.0.0.0/8".parse::<TrustedProxy>().is_ok());
        assert!("::1".parse::<TrustedProxy>().is_ok());
        assert!("fd00::/8".parse::<TrustedProxy>().is_ok());
        assert!("proxy.local".parse::<TrustedProxy>().is_err());
    }
}
