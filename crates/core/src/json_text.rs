//! JSON strings written by hand, for the few documents a sync writes for every shipment (the
//! carrier's answer kept for admins, the D1 batch's rows): serde_json escapes a string a byte
//! at a time and writes object keys through the same path, which was a tenth of a sync batch's
//! CPU. The text is the same as serde_json's.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// `"name":"value",…`: an object's members, without its braces. Names are written as they are:
/// plain ASCII identifiers.
#[inline]
pub fn push_members(out: &mut String, members: &[(&str, &str)]) {
    for (n, (name, value)) in members.iter().enumerate() {
        out.push_str(if n == 0 { "\"" } else { ",\"" });
        out.push_str(name);
        out.push_str("\":");
        push_str(out, value);
    }
}

/// `["value",…]`: an array of strings.
#[inline]
pub fn push_array(out: &mut String, values: &[&str]) {
    out.push('[');
    for (n, value) in values.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        push_str(out, value);
    }
    out.push(']');
}

// Inlined so that each crate writing JSON compiles these for itself: the worker builds most
// crates for size, and the crates that write a sync's JSON for speed.

/// `text` as a quoted JSON string, appended to `out`: `"` and `\` escaped, control characters
/// as `\n`, `\t`… or `\u00XX`, everything else (all of UTF-8 above them) as it is.
#[inline]
pub fn push_str(out: &mut String, text: &str) {
    out.push('"');
    let mut rest = text;
    while let Some(at) = first_to_escape(rest.as_bytes()) {
        // Only ASCII bytes are escaped, so `at` and `at + 1` are character boundaries.
        out.push_str(&rest[..at]);
        push_escape(out, rest.as_bytes()[at]);
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
    out.push('"');
}

#[inline]
fn push_escape(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match byte {
        b'"' => "\\\"",
        b'\\' => "\\\\",
        b'\n' => "\\n",
        b'\r' => "\\r",
        b'\t' => "\\t",
        0x08 => "\\b",
        0x0c => "\\f",
        _ => {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
            return;
        }
    };
    out.push_str(short);
}

/// Where the first byte that JSON escapes is. Most values have none: eight bytes are checked at
/// a time until a word holds one.
#[inline]
fn first_to_escape(bytes: &[u8]) -> Option<usize> {
    let escaped = |b: &u8| *b < 0x20 || *b == b'"' || *b == b'\\';
    let mut words = bytes.chunks_exact(8);
    for (n, word) in (&mut words).enumerate() {
        if word_needs_escape(u64::from_le_bytes(word.try_into().expect("eight bytes"))) {
            return word.iter().position(escaped).map(|at| n * 8 + at);
        }
    }
    let tail = bytes.len() - words.remainder().len();
    // Past a whole word, the last eight bytes are checked as one, overlapping checked ones.
    if let Some(last) = bytes.len().checked_sub(8) {
        let word = &bytes[last..];
        if !word_needs_escape(u64::from_le_bytes(word.try_into().expect("eight bytes"))) {
            return None;
        }
        return word[tail - last..]
            .iter()
            .position(escaped)
            .map(|at| tail + at);
    }
    words
        .remainder()
        .iter()
        .position(escaped)
        .map(|at| tail + at)
}

/// Whether any byte of `word` is below 0x20, `"` or `\` (exact as a yes or no, though not as
/// to which byte).
#[inline]
fn word_needs_escape(word: u64) -> bool {
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    below_space != 0 || has_zero_byte(word ^ (ONES * 0x22)) || has_zero_byte(word ^ (ONES * 0x5c))
}

#[inline]
fn has_zero_byte(word: u64) -> bool {
    word.wrapping_sub(ONES) & !word & HIGHS != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(text: &str) -> String {
        let mut out = String::new();
        push_str(&mut out, text);
        out
    }

    #[test]
    fn every_character_is_written_as_serde_json_writes_it() {
        let chars = (0..0x80u32)
            .chain([0xa0, 0xe9, 0x2028, 0x1f69a])
            .filter_map(char::from_u32);
        for c in chars {
            // Alone, and at every position of a word, so that both the word and the byte
            // checks meet it.
            for at in 0..10 {
                let text: String = "abcdefghi"
                    .chars()
                    .take(at)
                    .chain([c])
                    .chain("jklmnopqrs".chars())
                    .collect();
                assert_eq!(
                    written(&text),
                    serde_json::to_string(&text).unwrap(),
                    "{c:?}"
                );
            }
        }
    }

    #[test]
    fn members_and_arrays_are_written_as_serde_json_writes_them() {
        let members = [("o", "ORD-1"), ("pk", "KOCHI \"HUB\""), ("e", "")];
        let mut out = String::from("{");
        push_members(&mut out, &members);
        out.push('}');
        let map: serde_json::Map<String, serde_json::Value> = members
            .iter()
            .map(|(k, v)| (k.to_string(), (*v).into()))
            .collect();
        assert_eq!(out, serde_json::to_string(&map).unwrap());
        for values in [&["a"][..], &["a", "b\\c", ""], &[]] {
            let mut out = String::new();
            push_array(&mut out, values);
            assert_eq!(out, serde_json::to_string(values).unwrap());
        }
    }

    /// Strings of every length up to three words, with one character JSON escapes at every
    /// place: in a whole word, in the last bytes, in the word that overlaps them.
    #[test]
    fn an_escape_is_found_at_any_place_in_a_string_of_any_length() {
        for len in 1..=24 {
            for at in 0..len {
                for escaped in ['"', '\\', '\n', '\u{1}', '\u{1f}'] {
                    let text: String = (0..len)
                        .map(|n| if n == at { escaped } else { 'a' })
                        .collect();
                    assert_eq!(
                        written(&text),
                        serde_json::to_string(&text).unwrap(),
                        "{text:?}"
                    );
                }
            }
            let plain = "é".repeat(len);
            assert_eq!(written(&plain), serde_json::to_string(&plain).unwrap());
        }
    }

    #[test]
    fn runs_of_escapes_and_plain_text_mix() {
        for text in [
            "",
            "SHIPMENT DELIVERED",
            r#"say "hi" \ bye"#,
            "\"\"\"\"\"\"\"\"\"\\",
            "line\nline\r\n\ttab\u{1}\u{1f}",
            "नई दिल्ली \"गेटवे\"",
        ] {
            assert_eq!(
                written(text),
                serde_json::to_string(text).unwrap(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn a_word_is_flagged_exactly_when_one_of_its_bytes_needs_escaping() {
        // Every byte value in every position of an otherwise plain word, and plain words with
        // bytes just around the flagged ones (borrows between bytes must not flag them).
        for byte in 0..=255u8 {
            for at in 0..8 {
                let mut bytes = *b"abcdefgh";
                bytes[at] = byte;
                let word = u64::from_le_bytes(bytes);
                let expected = byte < 0x20 || byte == b'"' || byte == b'\\';
                assert_eq!(word_needs_escape(word), expected, "{byte:#x} at {at}");
            }
        }
        for bytes in [*b"\x20\x21\x23\x5b\x5d\x7f\x80\xff", [0x20; 8], [0xff; 8]] {
            assert!(!word_needs_escape(u64::from_le_bytes(bytes)), "{bytes:?}");
        }
    }
}
