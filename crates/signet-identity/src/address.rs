//! The address rule (docs/protocol.md, *The address rule*): Signet connects only to
//! addresses that the IANA IPv4 and IPv6 special-purpose address registries mark
//! globally reachable, so a claim cannot make a server reach into its own network.
//!
//! The IPv6 side is an allow list (global unicast, `2000::/3`) with the registry's
//! not-globally-reachable blocks inside it taken out; an IPv4 address carried in an IPv6
//! one (IPv4-mapped, IPv4-compatible, 6to4, NAT64) is judged as that IPv4 address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused: the name of the block it is in, for the reason a reader
/// sees ("… resolves to 10.0.0.1, a private address").
pub type Refusal = &'static str;

/// IPv4 blocks that are not globally reachable: (first address, prefix length, name).
/// From the IANA IPv4 Special-Purpose Address Registry, plus multicast (224.0.0.0/4),
/// which is not a unicast destination at all.
const V4_REFUSED: &[([u8; 4], u8, &str)] = &[
    ([0, 0, 0, 0], 8, "this-network"),
    ([10, 0, 0, 0], 8, "private"),
    ([100, 64, 0, 0], 10, "shared (CGNAT)"),
    ([127, 0, 0, 0], 8, "loopback"),
    ([169, 254, 0, 0], 16, "link-local"),
    ([172, 16, 0, 0], 12, "private"),
    ([192, 0, 0, 0], 24, "IETF protocol assignment"),
    ([192, 0, 2, 0], 24, "documentation"),
    ([192, 88, 99, 0], 24, "deprecated 6to4 relay"),
    ([192, 168, 0, 0], 16, "private"),
    ([198, 18, 0, 0], 15, "benchmarking"),
    ([198, 51, 100, 0], 24, "documentation"),
    ([203, 0, 113, 0], 24, "documentation"),
    ([224, 0, 0, 0], 4, "multicast"),
    ([240, 0, 0, 0], 4, "reserved"),
];

/// IPv4 addresses inside a refused block that the registry marks globally reachable.
const V4_GLOBAL_EXCEPTIONS: &[[u8; 4]] = &[
    [192, 0, 0, 9],  // Port Control Protocol anycast
    [192, 0, 0, 10], // Traversal Using Relays around NAT anycast
];

/// IPv6 blocks inside 2000::/3 that are not globally reachable.
const V6_REFUSED: &[(u128, u8, &str)] = &[
    (0x2001_0000 << 96, 23, "IETF protocol assignment"),
    (0x2001_0db8 << 96, 32, "documentation"),
    (0x3fff_0000 << 96, 20, "documentation"),
    (0x2002_0000 << 96, 16, "6to4"), // judged by its IPv4 address before this table
];

/// IPv6 blocks inside 2001::/23 that the registry marks globally reachable.
const V6_GLOBAL_EXCEPTIONS: &[(u128, u8)] = &[
    ((0x2001_0001 << 96) | 1, 128), // Port Control Protocol anycast
    ((0x2001_0001 << 96) | 2, 128), // TURN anycast
    ((0x2001_0001 << 96) | 3, 128), // DNS-SD service registration anycast
    (0x2001_0003 << 96, 32),        // AMT
    (0x2001_0004_0112 << 80, 48),   // AS112-v6
    (0x2001_0020 << 96, 28),        // ORCHIDv2
    (0x2001_0030 << 96, 28),        // Drone Remote ID
];

fn in_v4(ip: u32, base: [u8; 4], len: u8) -> bool {
    let mask = if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    };
    ip & mask == u32::from_be_bytes(base) & mask
}

fn in_v6(ip: u128, base: u128, len: u8) -> bool {
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    };
    ip & mask == base & mask
}

/// Checks an IPv4 address against the rule.
pub fn check_v4(ip: Ipv4Addr) -> Result<(), Refusal> {
    if ip.is_broadcast() {
        return Err("broadcast");
    }
    let bits = u32::from(ip);
    if V4_GLOBAL_EXCEPTIONS.contains(&ip.octets()) {
        return Ok(());
    }
    match V4_REFUSED
        .iter()
        .find(|(base, len, _)| in_v4(bits, *base, *len))
    {
        Some((_, _, name)) => Err(name),
        None => Ok(()),
    }
}

/// Checks an IPv6 address against the rule.
pub fn check_v6(ip: Ipv6Addr) -> Result<(), Refusal> {
    let bits = u128::from(ip);
    if ip.is_unspecified() {
        return Err("unspecified");
    }
    if ip.is_loopback() {
        return Err("loopback");
    }
    // The forms that carry an IPv4 address are judged by that address; a refused one is
    // refused in every form.
    let low32 = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    if in_v6(bits, 0xffff << 32, 96) || in_v6(bits, 0, 96) || in_v6(bits, 0x64_ff9b << 96, 96) {
        return check_v4(low32);
    }
    if in_v6(bits, 0x2002 << 112, 16) {
        let embedded = Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32);
        return check_v4(embedded);
    }
    if !in_v6(bits, 0x2 << 124, 3) {
        return Err(if in_v6(bits, 0xfc << 120, 7) {
            "unique-local"
        } else if in_v6(bits, 0xfe80 << 112, 10) {
            "link-local"
        } else if in_v6(bits, 0xfec0 << 112, 10) {
            "site-local"
        } else if in_v6(bits, 0xff << 120, 8) {
            "multicast"
        } else if in_v6(bits, 0x64_ff9b_0001 << 80, 48) {
            "local-use translation"
        } else if in_v6(bits, 0x0100 << 112, 64) || in_v6(bits, (0x0100 << 112) | (1 << 64), 64) {
            "discard-only"
        } else {
            "reserved"
        });
    }
    if V6_GLOBAL_EXCEPTIONS
        .iter()
        .any(|(base, len)| in_v6(bits, *base, *len))
    {
        return Ok(());
    }
    match V6_REFUSED
        .iter()
        .find(|(base, len, _)| in_v6(bits, *base, *len))
    {
        Some((_, _, name)) => Err(name),
        None => Ok(()),
    }
}

/// Checks an address against the rule: `Ok` when it is globally reachable, else the
/// name of the block that makes it not.
pub fn check(ip: IpAddr) -> Result<(), Refusal> {
    match ip {
        IpAddr::V4(v4) => check_v4(v4),
        IpAddr::V6(v6) => check_v6(v6),
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn check_table(cases: &[(&str, Result<(), &str>)]) {
        for (text, want) in cases {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(check(ip), *want, "{text}");
        }
    }

    #[test]
    fn ipv4_special_purpose() {
        check_table(&[
            ("0.0.0.0", Err("this-network")),
            ("0.1.2.3", Err("this-network")),
            ("10.0.0.1", Err("private")),
            ("10.255.255.255", Err("private")),
            ("100.64.0.1", Err("shared (CGNAT)")),
            ("100.127.255.255", Err("shared (CGNAT)")),
            ("100.128.0.1", Ok(())),
            ("127.0.0.1", Err("loopback")),
            ("127.77.1.2", Err("loopback")),
            ("169.254.169.254", Err("link-local")),
            ("172.16.0.1", Err("private")),
            ("172.31.255.255", Err("private")),
            ("172.32.0.1", Ok(())),
            ("192.0.0.1", Err("IETF protocol assignment")),
            ("192.0.0.9", Ok(())),
            ("192.0.0.10", Ok(())),
            ("192.0.2.1", Err("documentation")),
            ("192.88.99.1", Err("deprecated 6to4 relay")),
            ("192.168.1.1", Err("private")),
            ("198.18.0.1", Err("benchmarking")),
            ("198.19.255.255", Err("benchmarking")),
            ("198.20.0.1", Ok(())),
            ("198.51.100.7", Err("documentation")),
            ("203.0.113.9", Err("documentation")),
            ("224.0.0.1", Err("multicast")),
            ("239.255.255.255", Err("multicast")),
            ("240.0.0.1", Err("reserved")),
            ("255.255.255.254", Err("reserved")),
            ("255.255.255.255", Err("broadcast")),
            ("1.1.1.1", Ok(())),
            ("8.8.8.8", Ok(())),
            ("140.82.112.3", Ok(())),
            ("192.31.196.1", Ok(())),
            ("192.175.48.1", Ok(())),
        ]);
    }

    #[test]
    fn ipv6_special_purpose() {
        check_table(&[
            ("::", Err("unspecified")),
            ("::1", Err("loopback")),
            ("fe80::1", Err("link-local")),
            ("febf::1", Err("link-local")),
            ("fec0::1", Err("site-local")),
            ("fc00::1", Err("unique-local")),
            ("fd12:3456::1", Err("unique-local")),
            ("ff02::1", Err("multicast")),
            ("100::1", Err("discard-only")),
            ("100:0:0:1::1", Err("discard-only")),
            ("64:ff9b:1::1", Err("local-use translation")),
            ("2001:db8::1", Err("documentation")),
            ("3fff::1", Err("documentation")),
            ("2001::1", Err("IETF protocol assignment")),
            ("2001:2::1", Err("IETF protocol assignment")),
            ("2001:10::1", Err("IETF protocol assignment")),
            ("2001:1::1", Ok(())),
            ("2001:3::1", Ok(())),
            ("2001:4:112::1", Ok(())),
            ("2001:20::1", Ok(())),
            ("2001:30::1", Ok(())),
            ("2606:4700::1111", Ok(())),
            ("2a00:1450::1", Ok(())),
            ("4000::1", Err("reserved")),
            ("1::1", Err("reserved")),
        ]);
    }

    #[test]
    fn ipv4_inside_ipv6() {
        check_table(&[
            // IPv4-mapped.
            ("::ffff:127.0.0.1", Err("loopback")),
            ("::ffff:10.1.2.3", Err("private")),
            ("::ffff:169.254.169.254", Err("link-local")),
            ("::ffff:8.8.8.8", Ok(())),
            // IPv4-compatible (deprecated).
            ("::127.0.0.1", Err("loopback")),
            ("::192.168.0.1", Err("private")),
            ("::8.8.8.8", Ok(())),
            // 6to4: the IPv4 address in bits 16..48.
            ("2002:7f00:1::1", Err("loopback")),
            ("2002:a9fe:a9fe::1", Err("link-local")),
            ("2002:c0a8:101::1", Err("private")),
            ("2002:808:808::1", Ok(())),
            // NAT64 well-known prefix.
            ("64:ff9b::7f00:1", Err("loopback")),
            ("64:ff9b::a00:1", Err("private")),
            ("64:ff9b::a9fe:a9fe", Err("link-local")),
            ("64:ff9b::808:808", Ok(())),
        ]);
    }
}
