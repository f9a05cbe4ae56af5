//! A strict pull reader for tracking XML: elements, text, CDATA and references, checked for
//! well-formedness, nothing more.
//!
//! Why not an XML crate: the sync's CPU budget is per shipment in wasm, and quick-xml's
//! tokenising alone cost about 10 µs per shipment there, the whole budget (see the README's
//! benchmarks). Blue Dart's answers need no DTDs, namespaces or encodings other than UTF-8, so a
//! reader that finds markup with `memchr` (and the end of text eight bytes at a time) and slices
//! the input is enough. Text is handed over raw; only the values the caller keeps are decoded
//! ([`decode`]).

use memchr::{memchr, memchr2, memchr3, memmem};

/// Not well-formed XML: a tag, comment, CDATA section or reference that is broken off or
/// broken, or an end tag that does not close the open element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed;

/// One piece of the document. Declarations, processing instructions, comments and the
/// doctype are read past.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token<'a> {
    /// `<name attributes>`, or `<name attributes/>` when `empty`. The name is the local one,
    /// without its namespace prefix (`bd:Shipment` is `Shipment`; the end tag is checked
    /// against the whole name). The attributes are as written: [`attributes`] reads them.
    Start {
        name: &'a str,
        attributes: &'a str,
        empty: bool,
    },
    /// The end tag of the open element (its name is checked).
    End,
    /// Character data as written: references not yet decoded. `plain` when it has none (no
    /// `&`), found on the way to its end, so that the caller need not look again.
    Text { raw: &'a str, plain: bool },
    /// A CDATA section's content, which needs no decoding.
    CData(&'a str),
}

/// Reads a document token by token.
pub struct Reader<'a> {
    xml: &'a str,
    pos: usize,
    /// The names of the open elements, innermost last.
    open: Vec<&'a str>,
}

/// What each byte is to an element's name, as a table: every byte of every tag name is looked
/// up here, one load where the comparisons took six, and the prefix is found on the same pass.
const NAME_BYTES: [NameByte; 256] = {
    let mut table = [NameByte::Within; 256];
    let mut n = 0;
    while n < SPACES.len() {
        table[SPACES[n] as usize] = NameByte::Ends;
        n += 1;
    }
    table[b'/' as usize] = NameByte::Ends;
    table[b'>' as usize] = NameByte::Ends;
    table[b':' as usize] = NameByte::Colon;
    table
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum NameByte {
    Within,
    /// XML's whitespace, `/` and `>`.
    Ends,
    /// Ends the namespace prefix (the first one does).
    Colon,
}

/// XML's whitespace.
const SPACES: [char; 4] = [' ', '\t', '\n', '\r'];

fn is_space(b: u8) -> bool {
    SPACES.contains(&char::from(b))
}

impl<'a> Reader<'a> {
    pub fn new(xml: &'a str) -> Self {
        Reader {
            // A byte order mark is not content.
            xml: xml.strip_prefix('\u{feff}').unwrap_or(xml),
            pos: 0,
            open: Vec::with_capacity(8),
        }
    }

    /// The next token, or `None` at the end of the input (whether or not elements are still
    /// open: the caller knows what it expected).
    #[allow(clippy::should_implement_trait)] // an iterator of results would hide the end
    pub fn next(&mut self) -> Result<Option<Token<'a>>, Malformed> {
        loop {
            let rest = &self.xml.as_bytes()[self.pos..];
            let Some(&first) = rest.first() else {
                return Ok(None);
            };
            if first != b'<' {
                let (len, plain) = match markup_or_reference(rest) {
                    Some(at) if rest[at] == b'&' => (
                        at + memchr(b'<', &rest[at..]).unwrap_or(rest.len() - at),
                        false,
                    ),
                    found => (found.unwrap_or(rest.len()), true),
                };
                let raw = &self.xml[self.pos..self.pos + len];
                self.pos += len;
                return Ok(Some(Token::Text { raw, plain }));
            }
            match rest.get(1) {
                Some(b'/') => return self.end_tag().map(Some),
                Some(b'?') => self.skip_past(2, b"?>")?,
                Some(b'!') if rest[2..].starts_with(b"--") => self.skip_past(4, b"-->")?,
                Some(b'!') if rest[2..].starts_with(b"[CDATA[") => {
                    let start = self.pos + 9;
                    self.skip_past(9, b"]]>")?;
                    return Ok(Some(Token::CData(&self.xml[start..self.pos - 3])));
                }
                // HTML pages write it in lower case.
                Some(b'!') if rest.len() >= 9 && rest[2..9].eq_ignore_ascii_case(b"DOCTYPE") => {
                    self.skip_doctype()?
                }
                Some(b'!') => return Err(Malformed),
                _ => return self.start_tag().map(Some),
            }
        }
    }

    /// Moves past the first `end` found `from` bytes into the current markup.
    fn skip_past(&mut self, from: usize, end: &[u8]) -> Result<(), Malformed> {
        let start = self.pos + from;
        let at = memmem::find(&self.xml.as_bytes()[start..], end).ok_or(Malformed)?;
        self.pos = start + at + end.len();
        Ok(())
    }

    /// Moves past `<!DOCTYPE …>`, with its internal subset `[…]` if it has one.
    fn skip_doctype(&mut self) -> Result<(), Malformed> {
        let bytes = self.xml.as_bytes();
        let mut i = self.pos + 9;
        let at = memchr2(b'[', b'>', &bytes[i..]).ok_or(Malformed)?;
        i += at;
        if bytes[i] == b'[' {
            i += memchr(b']', &bytes[i..]).ok_or(Malformed)?;
            i += memchr(b'>', &bytes[i..]).ok_or(Malformed)?;
        }
        self.pos = i + 1;
        Ok(())
    }

    fn start_tag(&mut self) -> Result<Token<'a>, Malformed> {
        let bytes = self.xml.as_bytes();
        let name_start = self.pos + 1;
        let mut local_start = name_start;
        let mut i = name_start;
        // Eight bytes at a time past letters: the bytes that end the name or its prefix
        // (whitespace, `/`, `>`, `:`) are all below `?`; from the first byte below it (digits,
        // `-` and `.` too), byte by byte.
        while let Some(word) = bytes.get(i..i + 8) {
            if has_byte_below(
                u64::from_le_bytes(word.try_into().expect("eight bytes")),
                b'?',
            ) {
                break;
            }
            i += 8;
        }
        while i < bytes.len() {
            match NAME_BYTES[usize::from(bytes[i])] {
                NameByte::Within => {}
                NameByte::Ends => break,
                NameByte::Colon if local_start == name_start => local_start = i + 1,
                NameByte::Colon => {}
            }
            i += 1;
        }
        if i == name_start || i == bytes.len() {
            return Err(Malformed);
        }
        let full_name = &self.xml[name_start..i];
        let name = &self.xml[local_start..i];
        // Most tags have no attributes: `<Name>` ends where its name does.
        if bytes[i] == b'>' {
            self.pos = i + 1;
            self.open.push(full_name);
            return Ok(Token::Start {
                name,
                attributes: "",
                empty: false,
            });
        }
        // The tag ends at the first `>` outside a quoted attribute value.
        let attributes_start = i;
        loop {
            i += memchr3(b'>', b'"', b'\'', &bytes[i..]).ok_or(Malformed)?;
            let quote = bytes[i];
            if quote == b'>' {
                break;
            }
            i += 1 + memchr(quote, &bytes[i + 1..]).ok_or(Malformed)? + 1;
        }
        // Past the fast path, the tag's last byte before `>` is inside it: `/` makes it empty.
        let empty = bytes[i - 1] == b'/';
        let attributes = &self.xml[attributes_start..if empty { i - 1 } else { i }];
        self.pos = i + 1;
        if !empty {
            self.open.push(full_name);
        }
        Ok(Token::Start {
            name,
            attributes,
            empty,
        })
    }

    fn end_tag(&mut self) -> Result<Token<'a>, Malformed> {
        let name = self.open.pop().ok_or(Malformed)?;
        let bytes = self.xml.as_bytes();
        let mut i = self.pos + 2;
        if !bytes
            .get(i..i + name.len())
            .is_some_and(|b| same(b, name.as_bytes()))
        {
            return Err(Malformed);
        }
        i += name.len();
        while bytes.get(i).is_some_and(|&b| is_space(b)) {
            i += 1;
        }
        if bytes.get(i) != Some(&b'>') {
            return Err(Malformed);
        }
        self.pos = i + 1;
        Ok(Token::End)
    }
}

const LOW: u64 = 0x0101_0101_0101_0101;

/// The high bit of each byte of `word` below `limit` (at most 0x80; bytes from 0x80 up are
/// not), and maybe of bytes above the first such one (a borrow): exact as a yes or no, and in
/// its lowest set bit.
fn bytes_below(word: u64, limit: u8) -> u64 {
    word.wrapping_sub(LOW * u64::from(limit)) & !word & (LOW << 7)
}

/// Whether a byte of `word` is below `limit` (at most 0x80).
fn has_byte_below(word: u64, limit: u8) -> bool {
    bytes_below(word, limit) != 0
}

/// Where the first `<` or `&` is: eight bytes at a time, where `memchr2` in wasm (no SIMD)
/// takes four.
fn markup_or_reference(bytes: &[u8]) -> Option<usize> {
    // Zero bytes once XORed with the byte sought: below 1.
    let zeros = |x: u64| bytes_below(x, 1);
    let mut words = bytes.chunks_exact(8);
    for (n, word) in (&mut words).enumerate() {
        let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let found = zeros(word ^ (LOW * u64::from(b'<'))) | zeros(word ^ (LOW * u64::from(b'&')));
        if found != 0 {
            return Some(n * 8 + found.trailing_zeros() as usize / 8);
        }
    }
    let tail = bytes.len() - words.remainder().len();
    words
        .remainder()
        .iter()
        .position(|&b| b == b'<' || b == b'&')
        .map(|at| tail + at)
}

/// `a == b`, eight bytes at a time: every end tag and field name is compared, and the byte
/// loop wasm gets for `memcmp` (names of ten to twenty bytes) showed in a sync's profile.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut a8, mut b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let word = |c: &[u8]| u64::from_le_bytes(c.try_into().expect("eight bytes"));
    (&mut a8).zip(&mut b8).all(|(x, y)| word(x) == word(y))
        && a8
            .remainder()
            .iter()
            .zip(b8.remainder())
            .all(|(x, y)| x == y)
}

/// The attributes of a start tag, as `(name, value as written)`, each checked as it is read.
pub fn attributes(raw: &str) -> impl Iterator<Item = Result<(&str, &str), Malformed>> {
    let mut rest = raw;
    std::iter::from_fn(move || {
        rest = rest.trim_start_matches(SPACES);
        if rest.is_empty() {
            return None;
        }
        let attribute = next_attribute(rest);
        match attribute {
            Ok((name, value, after)) => {
                rest = after;
                Some(Ok((name, value)))
            }
            Err(e) => {
                rest = "";
                Some(Err(e))
            }
        }
    })
}

/// `name = "value"` at the start of `raw`: the name, the value as written, and what follows.
fn next_attribute(raw: &str) -> Result<(&str, &str, &str), Malformed> {
    let bytes = raw.as_bytes();
    let name_end = bytes
        .iter()
        .position(|&b| b == b'=' || is_space(b))
        .ok_or(Malformed)?;
    let name = &raw[..name_end];
    let rest = raw[name_end..].trim_start_matches(SPACES);
    let rest = rest.strip_prefix('=').ok_or(Malformed)?;
    let rest = rest.trim_start_matches(SPACES);
    let quote = *rest.as_bytes().first().ok_or(Malformed)?;
    if name.is_empty() || !matches!(quote, b'"' | b'\'') {
        return Err(Malformed);
    }
    let len = memchr(quote, &rest.as_bytes()[1..]).ok_or(Malformed)?;
    let value = &rest[1..1 + len];
    let after = &rest[len + 2..];
    // Attributes are separated by whitespace, and `<` is never in a value.
    if value.contains('<') || after.bytes().next().is_some_and(|b| !is_space(b)) {
        return Err(Malformed);
    }
    Ok((name, value, after))
}

/// Decodes the references in `raw` (text or an attribute value as written), appending the
/// result to `out`; with no `out`, only checks them, since an unknown reference is malformed
/// wherever it stands.
pub fn decode(raw: &str, mut out: Option<&mut String>) -> Result<(), Malformed> {
    let mut rest = raw;
    while let Some(amp) = memchr(b'&', rest.as_bytes()) {
        let after = &rest[amp + 1..];
        let semicolon = memchr(b';', after.as_bytes()).ok_or(Malformed)?;
        let reference = &after[..semicolon];
        if let Some(out) = out.as_deref_mut() {
            out.push_str(&rest[..amp]);
            out.push(resolve(reference)?);
        } else {
            resolve(reference)?;
        }
        rest = &after[semicolon + 1..];
    }
    if let Some(out) = out {
        out.push_str(rest);
    }
    Ok(())
}

/// The character a reference (between `&` and `;`) stands for.
fn resolve(reference: &str) -> Result<char, Malformed> {
    let (digits, radix) = match reference {
        "lt" => return Ok('<'),
        "gt" => return Ok('>'),
        "amp" => return Ok('&'),
        "quot" => return Ok('"'),
        "apos" => return Ok('\''),
        _ => match reference.strip_prefix('#') {
            Some(hex) if hex.starts_with('x') => (&hex[1..], 16),
            Some(decimal) => (decimal, 10),
            None => return Err(Malformed),
        },
    };
    // `from_str_radix` would also take a sign.
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(Malformed);
    }
    u32::from_str_radix(digits, radix)
        .ok()
        .filter(|&n| n != 0)
        .and_then(char::from_u32)
        .ok_or(Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every token of `xml`, or the error that stopped the reader.
    fn tokens(xml: &str) -> Result<Vec<Token<'_>>, Malformed> {
        let mut reader = Reader::new(xml);
        let mut out = Vec::new();
        while let Some(token) = reader.next()? {
            out.push(token);
        }
        Ok(out)
    }

    fn text(raw: &str) -> Token<'_> {
        Token::Text { raw, plain: true }
    }

    fn start<'a>(name: &'a str, attributes: &'a str, empty: bool) -> Token<'a> {
        Token::Start {
            name,
            attributes,
            empty,
        }
    }

    #[test]
    fn reads_elements_text_and_cdata_and_skips_the_rest() {
        let xml = "\u{feff}<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY x \"y\">]><!-- c -->\
                   <a k=\"v>\" j='w'><b/>t &amp; u<![CDATA[<x>]]><c >1</c ></a>";
        assert_eq!(
            tokens(xml),
            Ok(vec![
                text("\n"),
                start("a", " k=\"v>\" j='w'", false),
                start("b", "", true),
                Token::Text {
                    raw: "t &amp; u",
                    plain: false
                },
                Token::CData("<x>"),
                start("c", " ", false),
                text("1"),
                Token::End,
                Token::End,
            ])
        );
        assert_eq!(
            tokens("<!doctype html><p/>"),
            Ok(vec![start("p", "", true)])
        );
        assert_eq!(tokens(""), Ok(vec![]));
    }

    #[test]
    fn a_name_ends_at_any_whitespace_a_slash_or_the_tag_end() {
        for space in SPACES {
            let xml = format!("<a{space}k=\"v\"><b{space}/></a{space}>");
            assert_eq!(
                tokens(&xml),
                Ok(vec![
                    start("a", &format!("{space}k=\"v\""), false),
                    start("b", &space.to_string(), true),
                    Token::End,
                ]),
                "{space:?}"
            );
        }
        assert_eq!(
            tokens("<a-b.c_d:e-f.1/>"),
            Ok(vec![start("e-f.1", "", true)])
        );
    }

    #[test]
    fn broken_markup_is_malformed() {
        for xml in [
            "<",
            "<a",
            "< a>",
            "<>",
            "<a k=\"v>",
            "<a></b>",
            "<a></ab>",
            "<a></a",
            "<a></a x>",
            "</a>",
            "<a><!-- open",
            "<a><![CDATA[ open",
            "<?xml ",
            "<!DOCTYPE a",
            "<!DOCTYPE a [ x",
            "<!ELEMENT a>",
        ] {
            assert_eq!(tokens(xml), Err(Malformed), "{xml:?}");
        }
        // What a reader cannot know is wrong: an element left open, checked by the caller.
        assert_eq!(tokens("<a>x"), Ok(vec![start("a", "", false), text("x")]));
    }

    #[test]
    fn attributes_are_read_and_checked() {
        let read = |raw| attributes(raw).collect::<Result<Vec<_>, _>>();
        assert_eq!(
            read(" a=\"1\"\tb = '2 &amp; 3'\n"),
            Ok(vec![("a", "1"), ("b", "2 &amp; 3")])
        );
        assert_eq!(read(""), Ok(vec![]));
        for raw in [
            " a",
            " a=1",
            " =\"1\"",
            " a=\"1\"b=\"2\"",
            " a=\"<\"",
            " a=\"1",
        ] {
            assert_eq!(read(raw), Err(Malformed), "{raw:?}");
        }
    }

    #[test]
    fn references_are_decoded_or_refused() {
        let decoded = |raw| {
            let mut out = String::from(">");
            decode(raw, Some(&mut out)).map(|()| out)
        };
        assert_eq!(
            decoded("a&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&#x1F69A;z"),
            Ok(">a<>&\"'AB\u{1F69A}z".into())
        );
        assert_eq!(decoded("plain"), Ok(">plain".into()));
        for raw in [
            "&bogus;",
            "&amp",
            "&#;",
            "&#x;",
            "&#0;",
            "&#xD800;",
            "&#+65;",
            "&#x+41;",
            "&#65a;",
            "&#1114112;",
        ] {
            assert_eq!(decoded(raw), Err(Malformed), "{raw:?}");
            assert_eq!(decode(raw, None), Err(Malformed), "{raw:?}");
        }
        assert_eq!(decode("&amp; &#65;", None), Ok(()));
    }

    #[test]
    fn start_tags_give_local_names_and_end_tags_are_checked_against_whole_ones() {
        assert_eq!(
            tokens("<bd:Shipment a:x=\"1\"><c:d:e/><f:></f:></bd:Shipment>"),
            Ok(vec![
                start("Shipment", " a:x=\"1\"", false),
                // Up to the first colon is the prefix.
                start("d:e", "", true),
                start("", "", false),
                Token::End,
                Token::End,
            ])
        );
        assert_eq!(tokens("<bd:Shipment></Shipment>"), Err(Malformed));
        assert_eq!(tokens("<bd:Shipment></xx:Shipment>"), Err(Malformed));
    }

    /// Found eight bytes at a time where a byte-by-byte search finds it, among bytes one bit
    /// away from `<` and `&`, multi-byte characters, and either one at every place.
    #[test]
    fn markup_is_found_where_a_byte_search_finds_it() {
        let alphabet = [
            "<", "&", "=", "$", "'", "%", "a", " ", "\n", "é", "\u{1}", "\u{7f}",
        ];
        let mut next = crate::numbers::numbers(0x9e37_79b9_7f4a_7c15_u64);
        for _ in 0..20_000 {
            let len = (next() % 42) as usize;
            let text: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let expected = text.bytes().position(|b| b == b'<' || b == b'&');
            assert_eq!(markup_or_reference(text.as_bytes()), expected, "{text:?}");
        }
        // Far in, after bytes one bit from either.
        for at in 0..48 {
            for found in ["<", "&"] {
                let text = format!("{}{found}<", "=$".repeat(at).split_at(at).0);
                assert_eq!(markup_or_reference(text.as_bytes()), Some(at), "{text:?}");
            }
            assert_eq!(markup_or_reference("=$".repeat(at).as_bytes()), None);
        }
    }

    #[test]
    fn a_byte_below_a_limit_is_found_as_byte_by_byte() {
        let bytes = [
            0x00, 0x20, 0x2f, 0x3a, 0x3e, 0x3f, 0x40, 0x41, 0x7f, 0x80, 0xc3, 0xff,
        ];
        let mut next = crate::numbers::numbers(0x2545_f491_4f6c_dd1d_u64);
        for _ in 0..20_000 {
            let word: [u8; 8] = std::array::from_fn(|_| bytes[(next() % 12) as usize]);
            for limit in [0x01, 0x20, 0x3f, 0x41, 0x80] {
                assert_eq!(
                    has_byte_below(u64::from_le_bytes(word), limit),
                    word.iter().any(|&b| b < limit),
                    "{word:x?} {limit:#x}"
                );
            }
        }
    }

    /// Names past eight bytes, with what ends them or their prefix at every place.
    #[test]
    fn long_names_end_and_lose_their_prefix_wherever_it_is() {
        let name = "ScannedLocationCode";
        for at in 1..name.len() {
            let (prefix, local) = name.split_at(at);
            let prefixed = format!("{prefix}:{local}");
            assert_eq!(
                tokens(&format!("<{prefixed} a='1'/>")),
                Ok(vec![start(local, " a='1'", true)]),
                "{prefixed}"
            );
            let digits = format!("{prefix}9-.{local}");
            assert_eq!(
                tokens(&format!("<{digits}>\n<{prefixed}/></{digits}\n>")),
                Ok(vec![
                    start(&digits, "", false),
                    text("\n"),
                    start(local, "", true),
                    Token::End,
                ]),
                "{digits}"
            );
        }
    }

    #[test]
    fn names_compare_as_byte_slices_do() {
        let name = b"ScannedLocationCodeX";
        for len in 0..=name.len() {
            let a = &name[..len];
            assert!(same(a, a));
            for at in 0..len {
                let mut b = a.to_vec();
                b[at] ^= 0x20;
                assert!(!same(a, &b), "{len} bytes, differing at {at}");
            }
            assert!(!same(a, &name[..len.saturating_sub(1)]) || len == 0);
        }
    }
}
