//! IP addresses read from text (`BLUEDART_PUSH_ALLOWED_IPS`, `CF-Connecting-IP`) exactly as
//! the standard library's `IpAddr::from_str` reads them (tests hold the two equal), written
//! here because that parser is generic over its number types and took 3 KB of the wasm: IPv4
//! as four decimal numbers up to 255 without leading zeros; IPv6 as eight groups of up to four
//! hex digits, one `::` standing for one or more groups of zeros, and an IPv4 address in place
//! of the last two groups.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The address `text` spells, all of it; `None` if it is not one.
pub fn parse(text: &str) -> Option<IpAddr> {
    let mut v4 = Cursor(text.as_bytes());
    if let Some(address) = v4.ipv4() {
        return v4.0.is_empty().then_some(IpAddr::V4(address));
    }
    let mut v6 = Cursor(text.as_bytes());
    let address = v6.ipv6()?;
    v6.0.is_empty().then_some(IpAddr::V6(address))
}

/// What is left to read. Every reading step either succeeds or leaves it as it was.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn atomically<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let before = self.0;
        let read = read(self);
        if read.is_none() {
            self.0 = before;
        }
        read
    }

    fn given(&mut self, c: u8) -> Option<()> {
        let (&first, rest) = self.0.split_first()?;
        (first == c).then(|| self.0 = rest)
    }

    /// `read`, after `separator` unless it is the first of its kind (`index` 0).
    fn separated<T>(
        &mut self,
        separator: u8,
        index: usize,
        read: impl FnOnce(&mut Self) -> Option<T>,
    ) -> Option<T> {
        self.atomically(|p| {
            if index > 0 {
                p.given(separator)?;
            }
            read(p)
        })
    }

    /// A number of at most `max_digits` digits in `radix`, at most `max`, and with a leading
    /// zero only if `zero_prefix` allows it or it is the only digit.
    fn number(
        &mut self,
        radix: u32,
        max_digits: usize,
        max: u32,
        zero_prefix: bool,
    ) -> Option<u32> {
        self.atomically(|p| {
            let leading_zero = p.0.first() == Some(&b'0');
            let (mut value, mut digits) = (0u32, 0);
            while let Some(digit) = p.0.first().and_then(|&c| char::from(c).to_digit(radix)) {
                p.0 = &p.0[1..];
                value = value * radix + digit;
                digits += 1;
                if digits > max_digits || value > max {
                    return None;
                }
            }
            let refused = digits == 0 || (leading_zero && digits > 1 && !zero_prefix);
            (!refused).then_some(value)
        })
    }

    fn ipv4(&mut self) -> Option<Ipv4Addr> {
        self.atomically(|p| {
            let mut octets = [0u8; 4];
            for (i, octet) in octets.iter_mut().enumerate() {
                *octet = p.separated(b'.', i, |p| p.number(10, 3, 255, false))? as u8;
            }
            Some(Ipv4Addr::from(octets))
        })
    }

    /// Groups into `groups` while they read; how many, and whether the last two were an IPv4
    /// address.
    fn groups(&mut self, groups: &mut [u16]) -> (usize, bool) {
        let limit = groups.len();
        for i in 0..limit {
            // An embedded IPv4 address needs two groups' room.
            if i + 1 < limit
                && let Some(v4) = self.separated(b':', i, Cursor::ipv4)
            {
                let [a, b, c, d] = v4.octets();
                groups[i] = u16::from_be_bytes([a, b]);
                groups[i + 1] = u16::from_be_bytes([c, d]);
                return (i + 2, true);
            }
            match self.separated(b':', i, |p| p.number(16, 4, 0xffff, true)) {
                Some(group) => groups[i] = group as u16,
                None => return (i, false),
            }
        }
        (limit, false)
    }

    fn ipv6(&mut self) -> Option<Ipv6Addr> {
        self.atomically(|p| {
            let mut head = [0u16; 8];
            let (head_size, head_ipv4) = p.groups(&mut head);
            if head_size == 8 {
                return Some(Ipv6Addr::from(head));
            }
            // An IPv4 address only ends an address, and short of eight groups `::` follows.
            if head_ipv4 {
                return None;
            }
            p.given(b':')?;
            p.given(b':')?;
            // `::` stands for at least one group.
            let mut tail = [0u16; 7];
            let (tail_size, _) = p.groups(&mut tail[..7 - head_size]);
            head[8 - tail_size..].copy_from_slice(&tail[..tail_size]);
            Some(Ipv6Addr::from(head))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standard(text: &str) -> Option<IpAddr> {
        text.parse().ok()
    }

    #[test]
    fn reads_what_the_standard_library_reads() {
        for text in [
            "192.0.2.1",
            "0.0.0.0",
            "255.255.255.255",
            "256.0.0.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1.2.3.4 ",
            "0255.1.1.1",
            "::",
            "::1",
            "1::",
            "2001:db8::8a2e:370:7334",
            "2001:DB8:0:0:0:0:0:1",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1:2:3:4:5:6::7:8",
            "::ffff:192.0.2.1",
            "64:ff9b::192.0.2.33",
            "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5:6:7:1.2.3.4",
            "1.2.3.4::",
            "::1.2.3.4:5",
            "12345::",
            "0001:2::",
            ":1::",
            "1:::2",
            "1::2::3",
            "fe80::1%eth0",
            "",
            ":",
            ".",
        ] {
            assert_eq!(parse(text), standard(text), "{text:?}");
        }
    }

    #[test]
    fn reads_near_addresses_as_the_standard_library_does() {
        let characters = b"0123459af:.:.F0:1";
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) as usize
        };
        for _ in 0..200_000 {
            let len = next() % 24;
            let text: String = (0..len)
                .map(|_| char::from(characters[next() % characters.len()]))
                .collect();
            assert_eq!(parse(&text), standard(&text), "{text:?}");
        }
        // Every address std writes, in both families, reads back.
        for _ in 0..20_000 {
            let bits = (next() as u128) << 96 | (next() as u128) << 64 | (next() as u128) >> 3;
            for address in [
                IpAddr::V6(Ipv6Addr::from(bits >> (next() % 128))),
                IpAddr::V4(Ipv4Addr::from(bits as u32)),
            ] {
                assert_eq!(parse(&address.to_string()), Some(address));
            }
        }
    }
}
