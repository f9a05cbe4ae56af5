//! Conditional GETs (RFC 9110 §13): a strong `ETag` on an answer, derived from its exact body,
//! and `If-None-Match` answered with `304 Not Modified` when the caller already has it.

/// A strong entity tag for `body`: its 64-bit FNV-1a hash, hex, quoted. It changes whenever a
/// byte of the answer does (two versions of one answer share a tag with a chance of 2^-64) and
/// says nothing the body does not. Not a cryptographic hash: nothing rests on a tag being hard
/// to forge, and a SHA-256 of every answer was a fifth of a cached track's CPU.
pub fn etag(body: &str) -> String {
    format!("\"{:016x}\"", fnv1a(body))
}

/// The 64-bit FNV-1a hash of `text`.
pub fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The opaque tags of an `If-None-Match` field value (`*` is handled by the caller), weak or
/// not, or `None` if it is not a list of entity tags (RFC 9110 §8.8.3: `W/"…"` or `"…"`,
/// separated by commas and optional whitespace; a tag may itself hold a comma).
fn tags(value: &str) -> Option<Vec<&str>> {
    let mut tags = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return Some(tags);
        }
        rest = rest.strip_prefix("W/").unwrap_or(rest);
        let quoted = rest.strip_prefix('"')?;
        let end = quoted.find('"')?;
        let tag = &quoted[..end];
        // etagc: %x21 / %x23-7E / obs-text (not a quote, space or control).
        if tag.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return None;
        }
        tags.push(tag);
        rest = &quoted[end + 1..];
        if !(rest.is_empty() || rest.starts_with([' ', '\t', ','])) {
            return None;
        }
    }
}

/// Whether the `If-None-Match` fields (every line of them) match `etag`, a strong tag as
/// [`etag`] makes: `*`, or any listed tag equal to it by the weak comparison (RFC 9110
/// §8.8.3.2: `W/"x"` matches `"x"`), as §13.1.2 asks of `If-None-Match`. A malformed field
/// matches nothing, so the caller gets the full answer.
pub fn none_match<'a>(fields: impl IntoIterator<Item = &'a http::HeaderValue>, etag: &str) -> bool {
    let opaque = etag.trim_matches('"');
    fields.into_iter().any(|field| {
        let Ok(value) = field.to_str() else {
            return false;
        };
        if value.trim() == "*" {
            return true;
        }
        tags(value).is_some_and(|tags| tags.contains(&opaque))
    })
}

/// Adds `etag` to a `200` answer; if the request's `If-None-Match` matches it, the answer
/// becomes `304 Not Modified` with no body, keeping the headers a cache needs to refresh what it
/// holds (`ETag`, `Cache-Control`, and whatever `Vary` and CORS the caller adds after).
pub fn conditional(
    request: &http::HeaderMap,
    mut response: http::Response<String>,
    etag: &str,
) -> http::Response<String> {
    if response.status() != http::StatusCode::OK {
        return response;
    }
    let Ok(value) = http::HeaderValue::from_str(etag) else {
        return response;
    };
    let not_modified = none_match(request.get_all(http::header::IF_NONE_MATCH), etag);
    response.headers_mut().insert(http::header::ETAG, value);
    if not_modified {
        *response.status_mut() = http::StatusCode::NOT_MODIFIED;
        response.body_mut().clear();
        // No representation follows, so nothing describes one.
        response.headers_mut().remove(http::header::CONTENT_TYPE);
        response.headers_mut().remove(http::header::RETRY_AFTER);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(values: &[&str]) -> Vec<http::HeaderValue> {
        values
            .iter()
            .map(|v| http::HeaderValue::from_str(v).unwrap())
            .collect()
    }

    fn matches(values: &[&str], etag: &str) -> bool {
        none_match(&fields(values), etag)
    }

    #[test]
    fn an_etag_is_strong_quoted_and_follows_the_body() {
        let a = etag(r#"{"success":true}"#);
        assert!(a.starts_with('"') && a.ends_with('"') && !a.starts_with("W/"));
        assert_eq!(a.len(), 18, "{a}");
        // FNV-1a's published 64-bit test vectors, as tags.
        assert_eq!(etag(""), "\"cbf29ce484222325\"");
        assert_eq!(etag("a"), "\"af63dc4c8601ec8c\"");
        assert_eq!(etag("foobar"), "\"85944171f73967e8\"");
        assert_eq!(a, etag(r#"{"success":true}"#));
        assert_ne!(a, etag(r#"{"success":false}"#));
        assert!(http::HeaderValue::from_str(&a).is_ok());
    }

    #[test]
    fn if_none_match_uses_the_weak_comparison() {
        let tag = "\"abc\"";
        assert!(matches(&["\"abc\""], tag));
        assert!(matches(&["W/\"abc\""], tag), "weak matches strong");
        assert!(matches(&["\"x\", W/\"abc\""], tag));
        assert!(matches(&["\"x\",\"abc\""], tag));
        assert!(matches(&["\"x\"", "\"abc\""], tag), "on a second line");
        assert!(matches(&["*"], tag));
        assert!(matches(&[" * "], tag));
        assert!(!matches(&["\"abcd\""], tag));
        assert!(!matches(&["\"ABC\""], tag), "tags are case-sensitive");
        assert!(!matches(&["abc"], tag), "unquoted is not a tag");
        assert!(!matches(&["w/\"abc\""], tag), "W/ is case-sensitive");
        assert!(!matches(&[""], tag));
        assert!(!matches(&[], tag));
    }

    #[test]
    fn a_malformed_list_matches_nothing() {
        let tag = "\"abc\"";
        assert!(!matches(&["\"abc"], tag), "unterminated");
        assert!(!matches(&["\"abc\"x"], tag), "junk after a tag");
        assert!(!matches(&["\"x\" \"abc\" junk"], tag));
        assert!(!matches(&["\"a bc\""], "\"a bc\""), "no spaces inside");
        assert!(!matches(&["*, \"abc\""], "\"x\""));
        // A comma inside a tag is part of it, not a separator.
        assert!(matches(&["\"a,b\""], "\"a,b\""));
        assert!(!matches(&["\"a,b\""], "\"a\""));
    }

    fn ok(body: &str) -> http::Response<String> {
        http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .header("cache-control", "private, max-age=30")
            .body(body.to_owned())
            .unwrap()
    }

    #[test]
    fn a_match_is_a_304_without_a_body_keeping_the_caching_headers() {
        let body = r#"{"success":true}"#;
        let tag = etag(body);
        let mut request = http::HeaderMap::new();
        let fresh = conditional(&request, ok(body), &tag);
        assert_eq!(fresh.status(), 200);
        assert_eq!(fresh.headers()["etag"], tag.as_str());
        assert_eq!(fresh.body(), body);

        request.insert("if-none-match", format!("W/{tag}").parse().unwrap());
        let same = conditional(&request, ok(body), &tag);
        assert_eq!(same.status(), 304);
        assert_eq!(same.body(), "");
        assert_eq!(same.headers()["etag"], tag.as_str());
        assert_eq!(same.headers()["cache-control"], "private, max-age=30");
        assert!(same.headers().get("content-type").is_none());

        // Only a 200 is made conditional.
        let mut error = ok(body);
        *error.status_mut() = http::StatusCode::NOT_FOUND;
        let error = conditional(&request, error, &tag);
        assert_eq!(error.status(), 404);
        assert!(error.headers().get("etag").is_none());
    }
}
