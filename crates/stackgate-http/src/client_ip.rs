//! The client's address as the audit log records it: the connection's peer, or — behind
//! proxies the operator trusts (`--trusted-proxies`) — the nearest `X-Forwarded-For` hop
//! that is not one of them. The API and the console both record it, so it lives here.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use ipnet::IpNet;

/// The client's address: the connection's peer, or — when the peer is a trusted proxy —
/// the nearest address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn source_ip(parts: &Parts, trusted: &[IpNet]) -> String {
    // In-process tests have no connection; they count as loopback.
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |ConnectInfo(addr)| addr.ip());
    client_ip(
        peer,
        parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok()),
        trusted,
    )
    .to_string()
}

/// Walks `X-Forwarded-For` from the right while the hop is trusted.
pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded: impl Iterator<Item = &'a str>,
    trusted: &[IpNet],
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            // A garbled hop ends what can be believed.
            Err(_) => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().filter_map(|n| n.parse().ok()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let trusted = nets(&["10.0.0.0/8"]);
        let got = client_ip(ip("203.0.113.9"), ["1.2.3.4"].into_iter(), &trusted);
        assert_eq!(got, ip("203.0.113.9"));
        assert_eq!(
            client_ip(ip("10.0.0.5"), ["1.2.3.4"].into_iter(), &[]),
            ip("10.0.0.5")
        );
    }

    #[test]
    fn forwarded_for_is_walked_through_trusted_hops() {
        let trusted = nets(&["10.0.0.0/8", "192.168.1.1/32"]);
        // client, then a trusted inner proxy, then the peer.
        let got = client_ip(
            ip("10.0.0.5"),
            ["198.51.100.7, 192.168.1.1"].into_iter(),
            &trusted,
        );
        assert_eq!(got, ip("198.51.100.7"));
        // A spoofed left-most entry is not believed past an untrusted hop.
        let got = client_ip(
            ip("10.0.0.5"),
            ["6.6.6.6", "198.51.100.7"].into_iter(),
            &trusted,
        );
        assert_eq!(got, ip("198.51.100.7"));
        // Garbage stops the walk at the last good hop.
        let got = client_ip(ip("10.0.0.5"), ["nonsense"].into_iter(), &trusted);
        assert_eq!(got, ip("10.0.0.5"));
        let v6 = client_ip(ip("10.0.0.5"), ["2001:db8::1"].into_iter(), &trusted);
        assert_eq!(v6, ip("2001:db8::1"));
    }
}
