//! Address facts shared by the listeners and the client table.

use std::net::IpAddr;

/// Redis's islocalClient for TCP peers: only 127.0.0.1 and ::1 count as
/// local (protected mode, `enable-*-command local`), not the rest of
/// 127.0.0.0/8. An IPv4-mapped 127.0.0.1 on a dual-stack socket is the
/// same peer, so it counts too.
pub fn is_local_peer(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.octets() == [127, 0, 0, 1],
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| v4.octets() == [127, 0, 0, 1])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_local_peer;

    #[test]
    fn only_the_two_loopback_addresses_are_local() {
        for (ip, local) in [
            ("127.0.0.1", true),
            ("::1", true),
            ("::ffff:127.0.0.1", true),
            ("127.0.0.2", false),
            ("127.1.2.3", false),
            ("::ffff:127.0.0.2", false),
            ("10.0.0.1", false),
        ] {
            assert_eq!(is_local_peer(ip.parse().unwrap()), local, "{ip}");
        }
    }
}
