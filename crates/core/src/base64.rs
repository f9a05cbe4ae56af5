//! Base64 (RFC 4648) in the two forms this service reads and writes: the standard alphabet with
//! padding (Standard Webhooks' secrets and signatures, CSP hashes, HTTP Basic credentials) and
//! the URL-safe alphabet without it (JWTs). Written here rather than taken from the `base64`
//! crate, whose generic engine was 6 KB of wasm for these few calls. Decoding is as strict as
//! that crate's `STANDARD` and `URL_SAFE_NO_PAD` engines (tests hold the two equal): padding
//! exactly as the form says, no other characters, and no stray bits after the last byte, so
//! that one value has one spelling.

/// Which alphabet, and whether `=` pads the text to a multiple of four.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `A–Z a–z 0–9 + /`, padded.
    Standard,
    /// `A–Z a–z 0–9 - _`, unpadded.
    UrlSafe,
}

impl Form {
    fn alphabet(self) -> &'static [u8; 64] {
        match self {
            Form::Standard => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
            Form::UrlSafe => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        }
    }

    fn value(self, c: u8) -> Option<u32> {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' if self == Form::Standard => 62,
            b'/' if self == Form::Standard => 63,
            b'-' if self == Form::UrlSafe => 62,
            b'_' if self == Form::UrlSafe => 63,
            _ => return None,
        };
        Some(u32::from(value))
    }
}

/// `bytes` as base64 in `form`.
pub fn encode(bytes: impl AsRef<[u8]>, form: Form) -> String {
    let bytes = bytes.as_ref();
    let alphabet = form.alphabet();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let group = chunk.iter().enumerate().fold(0u32, |group, (i, &b)| {
            group | (u32::from(b) << (16 - 8 * i))
        });
        // One byte gives two characters, two give three, three give four.
        for i in 0..=chunk.len() {
            out.push(char::from(
                alphabet[((group >> (18 - 6 * i)) & 63) as usize],
            ));
        }
        if form == Form::Standard {
            for _ in chunk.len()..3 {
                out.push('=');
            }
        }
    }
    out
}

/// The bytes `text` spells in `form`; `None` if it is not base64 in that form exactly.
pub fn decode(text: impl AsRef<[u8]>, form: Form) -> Option<Vec<u8>> {
    let text = text.as_ref();
    let digits = match form {
        Form::Standard => {
            if text.len() % 4 != 0 {
                return None;
            }
            let padding = text.iter().rev().take_while(|&&c| c == b'=').count();
            if padding > 2 {
                return None;
            }
            &text[..text.len() - padding]
        }
        Form::UrlSafe => text,
    };
    // A lone character in the last group cannot spell a byte.
    if digits.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(digits.len() / 4 * 3 + 2);
    for chunk in digits.chunks(4) {
        let mut group = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            group |= form.value(c)? << (18 - 6 * i);
        }
        let bytes = chunk.len() - 1;
        // The bits after the last whole byte must be zero: otherwise several texts would spell
        // the same bytes.
        if group & (0x00ff_ffff >> (8 * bytes)) != 0 {
            return None;
        }
        out.extend_from_slice(&group.to_be_bytes()[1..=bytes]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

    fn theirs(form: Form) -> &'static base64::engine::GeneralPurpose {
        match form {
            Form::Standard => &STANDARD,
            Form::UrlSafe => &URL_SAFE_NO_PAD,
        }
    }

    /// A fixed pseudo-random sequence (a linear congruential generator).
    fn numbers(seed: u64) -> impl Iterator<Item = u64> {
        std::iter::successors(Some(seed), |s| {
            Some(s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1))
        })
        .map(|s| s >> 33)
    }

    #[test]
    fn the_rfc_4648_vectors() {
        for (bytes, text) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(bytes, Form::Standard), text);
            assert_eq!(decode(text, Form::Standard).unwrap(), bytes.as_bytes());
            let unpadded = text.trim_end_matches('=');
            assert_eq!(encode(bytes, Form::UrlSafe), unpadded);
            assert_eq!(decode(unpadded, Form::UrlSafe).unwrap(), bytes.as_bytes());
        }
        // The two characters the alphabets differ in.
        assert_eq!(encode([0xfb, 0xff], Form::Standard), "+/8=");
        assert_eq!(encode([0xfb, 0xff], Form::UrlSafe), "-_8");
    }

    #[test]
    fn encodes_as_the_base64_crate_does() {
        let mut numbers = numbers(7);
        for len in 0..200 {
            let bytes: Vec<u8> = numbers.by_ref().take(len).map(|n| n as u8).collect();
            for form in [Form::Standard, Form::UrlSafe] {
                assert_eq!(encode(&bytes, form), theirs(form).encode(&bytes));
            }
        }
    }

    #[test]
    fn decodes_exactly_what_the_base64_crate_decodes() {
        // Texts near base64 in both forms: either alphabet, padding in and out of place, stray
        // bits, characters of neither.
        let characters = b"AQgw+/-_=*= \nAZaz09";
        let mut numbers = numbers(11);
        for _ in 0..60_000 {
            let len = numbers.next().unwrap() as usize % 11;
            let text: Vec<u8> = numbers
                .by_ref()
                .take(len)
                .map(|n| characters[n as usize % characters.len()])
                .collect();
            for form in [Form::Standard, Form::UrlSafe] {
                assert_eq!(
                    decode(&text, form),
                    theirs(form).decode(&text).ok(),
                    "{:?} in {form:?}",
                    String::from_utf8_lossy(&text)
                );
            }
        }
    }

    #[test]
    fn refuses_stray_bits_and_misplaced_padding() {
        assert_eq!(decode("Zh==", Form::Standard), None);
        assert_eq!(decode("Zm9=", Form::Standard), None);
        assert_eq!(decode("Zh", Form::UrlSafe), None);
        assert_eq!(decode("Zg", Form::Standard), None);
        assert_eq!(decode("Zg==", Form::UrlSafe), None);
        assert_eq!(decode("Z===", Form::Standard), None);
        assert_eq!(decode("Zg=a", Form::Standard), None);
        assert_eq!(decode("Zm9vY", Form::UrlSafe), None);
        assert_eq!(decode("+/8=", Form::UrlSafe), None);
        assert_eq!(decode("-_8=", Form::Standard), None);
    }
}
