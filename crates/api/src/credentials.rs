//! Who may read what.
//!
//! - Admins present a bearer token kept as a Worker secret, compared in constant time.
//! - Customers present either a storefront-issued JWT (HS256, `sub` = the customer id, `aud` =
//!   this service's audience, `exp` required and at most a configured lifetime away, no
//!   critical extensions) or a signed, expiring per-order tracking link
//!   (`?exp=<unix>&sig=<hmac>`), as e-mails carry, whose expiry is also capped. Both are checked
//!   without a database round trip.

use std::cell::RefCell;

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tracking_core::base64::{Form, decode, encode};

/// Longest token accepted, so that a hostile header costs little to reject.
const MAX_TOKEN_LEN: usize = 4096;

/// The audience customer tokens must name unless `CUSTOMER_TOKEN_AUDIENCE` says otherwise.
pub const DEFAULT_AUDIENCE: &str = "shipment-tracker";
/// Longest a customer token may be valid for, unless configured otherwise: 7 days.
pub const DEFAULT_MAX_TOKEN_LIFETIME_SECS: u64 = 7 * 24 * 3600;
/// Longest a signed tracking link may be valid for, unless configured otherwise: 30 days.
pub const DEFAULT_MAX_LINK_LIFETIME_SECS: u64 = 30 * 24 * 3600;
/// Clock difference tolerated between the storefront that mints and this worker that checks.
const CLOCK_SKEW: Duration = Duration::minutes(5);

/// What a credential must satisfy besides its signature (`[vars]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRules {
    /// The `aud` every customer token must carry (a string, or one of a list).
    pub audience: String,
    /// The furthest a customer token's `exp` may lie ahead (and, with `iat`, after it).
    pub max_token_lifetime: Duration,
    /// The furthest a tracking link's `exp` may lie ahead.
    pub max_link_lifetime: Duration,
}

impl Default for TokenRules {
    fn default() -> Self {
        TokenRules {
            audience: DEFAULT_AUDIENCE.into(),
            max_token_lifetime: Duration::seconds(DEFAULT_MAX_TOKEN_LIFETIME_SECS as i64),
            max_link_lifetime: Duration::seconds(DEFAULT_MAX_LINK_LIFETIME_SECS as i64),
        }
    }
}

/// Why a credential was refused. The messages are safe to return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialError {
    Malformed,
    WrongAlgorithm,
    BadSignature,
    Expired,
    /// The token names no audience, or not this service's.
    WrongAudience,
    /// Valid for longer than the configured maximum (`exp = i64::MAX` and the like).
    LifetimeTooLong,
    /// The header lists critical extensions, none of which this verifier implements.
    UnsupportedCritical,
}

impl CredentialError {
    pub fn message(self) -> &'static str {
        match self {
            CredentialError::Malformed => "Malformed credentials",
            CredentialError::WrongAlgorithm => "Token algorithm not accepted",
            CredentialError::BadSignature => "Invalid signature",
            CredentialError::Expired => "Credentials have expired",
            CredentialError::WrongAudience => "Token audience not accepted",
            CredentialError::LifetimeTooLong => "Credentials are valid for longer than allowed",
            CredentialError::UnsupportedCritical => "Token uses unsupported critical extensions",
        }
    }
}

/// Why a customer's request was refused before the order was looked at: it carried no
/// credentials (what was missing), or ones that do not hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Missing(&'static str),
    Bad(CredentialError),
}

fn mac(secret: &str, message: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(message);
    mac
}

fn sign(secret: &str, message: &[u8]) -> String {
    encode(mac(secret, message).finalize().into_bytes(), Form::UrlSafe)
}

/// Checks an HMAC-SHA256 signature in constant time.
fn verify_signature(secret: &str, message: &[u8], signature: &str) -> Result<(), CredentialError> {
    let signature = decode(signature, Form::UrlSafe).ok_or(CredentialError::Malformed)?;
    mac(secret, message)
        .verify_slice(&signature)
        .map_err(|_| CredentialError::BadSignature)
}

/// Whether `presented` is the admin token.
pub fn is_admin_token(presented: &str, expected: &str) -> bool {
    secret_matches(presented, expected)
}

/// Whether `presented` is the secret `expected` (never, when no secret is set). Hashing both
/// first makes the comparison constant-time in their lengths too.
pub fn secret_matches(presented: &str, expected: &str) -> bool {
    if expected.is_empty() {
        return false;
    }
    let a = Sha256::digest(presented.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    a.ct_eq(&b).into()
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    crit: Option<Value>,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    iat: Option<i64>,
    /// A string or a list of strings (RFC 7519).
    #[serde(default)]
    aud: Option<Value>,
}

impl Claims {
    fn names_audience(&self, audience: &str) -> bool {
        match &self.aud {
            Some(Value::String(aud)) => aud == audience,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(audience)),
            _ => false,
        }
    }
}

/// A storefront token for `customer_id` with audience `audience`, expiring at `exp` (for the
/// storefront's backend, the dev tools and tests; the worker only verifies).
pub fn customer_token(
    secret: &str,
    audience: &str,
    customer_id: &str,
    exp: DateTime<Utc>,
) -> String {
    let header = encode(br#"{"alg":"HS256","typ":"JWT"}"#, Form::UrlSafe);
    let claims = serde_json::json!({"sub": customer_id, "aud": audience, "exp": exp.timestamp()});
    let payload = encode(claims.to_string(), Form::UrlSafe);
    let signing_input = format!("{header}.{payload}");
    let signature = sign(secret, signing_input.as_bytes());
    format!("{signing_input}.{signature}")
}

/// The most signed tokens remembered at once; past it the memory starts again.
const VERIFIED_MAX: usize = 256;

/// Customer tokens whose signature this isolate has checked, by their exact text, with their
/// claims and the secret they were checked against. A token seen again skips its decoding and
/// HMAC (a customer's page, widget and refreshes present the same one); its claims are still
/// checked on every request, as time and the rules move on. Only tokens that passed are kept,
/// each beside its FNV-1a hash: a scan of a few hundred hashes costs no more than a hash map's
/// lookup, and without hash maps the wasm holds no hash table code (std's, 3 KB gzip).
#[derive(Default)]
struct Verified {
    secret: String,
    claims: Vec<(u64, String, Claims)>,
}

impl Verified {
    fn get(&self, hash: u64, token: &str) -> Option<&Claims> {
        self.claims
            .iter()
            .find(|(h, t, _)| *h == hash && t == token)
            .map(|(_, _, claims)| claims)
    }
}

thread_local! {
    static VERIFIED: RefCell<Verified> = RefCell::default();
}

/// The customer id of a valid storefront token. Only HS256 is accepted: `none` and every other
/// algorithm are refused before the signature is looked at, as are critical extensions. The
/// token must name `rules.audience` and expire no further ahead than `rules.max_token_lifetime`.
pub fn verify_customer_token(
    secret: &str,
    rules: &TokenRules,
    token: &str,
    now: DateTime<Utc>,
) -> Result<String, CredentialError> {
    if secret.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(CredentialError::Malformed);
    }
    let hash = crate::conditional::fnv1a(token);
    let remembered = VERIFIED.with_borrow(|v| {
        (v.secret == secret)
            .then(|| {
                v.get(hash, token)
                    .map(|claims| check_claims(claims, rules, now))
            })
            .flatten()
    });
    if let Some(checked) = remembered {
        return checked;
    }
    let claims = signed_claims(secret, token)?;
    let sub = check_claims(&claims, rules, now)?;
    VERIFIED.with_borrow_mut(|v| {
        if v.secret != secret || v.claims.len() >= VERIFIED_MAX {
            v.claims.clear();
            secret.clone_into(&mut v.secret);
        }
        v.claims.push((hash, token.to_owned(), claims));
    });
    Ok(sub)
}

/// The claims of a token whose header and signature hold.
fn signed_claims(secret: &str, token: &str) -> Result<Claims, CredentialError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(CredentialError::Malformed);
    };
    let part_bytes = |part: &str| decode(part, Form::UrlSafe).ok_or(CredentialError::Malformed);
    let header: Header =
        serde_json::from_slice(&part_bytes(header)?).map_err(|_| CredentialError::Malformed)?;
    if header.alg != "HS256" {
        return Err(CredentialError::WrongAlgorithm);
    }
    // RFC 7515 §4.1.11: an extension listed as critical must be understood; none is here.
    match &header.crit {
        None => {}
        Some(Value::Array(list)) if list.is_empty() => {}
        Some(_) => return Err(CredentialError::UnsupportedCritical),
    }
    let signing_input = &token[..token.len() - signature.len() - 1];
    verify_signature(secret, signing_input.as_bytes(), signature)?;
    serde_json::from_slice(&part_bytes(payload)?).map_err(|_| CredentialError::Malformed)
}

/// The customer id, if the claims hold now under `rules`.
fn check_claims(
    claims: &Claims,
    rules: &TokenRules,
    now: DateTime<Utc>,
) -> Result<String, CredentialError> {
    let now = now.timestamp();
    if now >= claims.exp || claims.nbf.is_some_and(|nbf| now < nbf) {
        return Err(CredentialError::Expired);
    }
    let max = (rules.max_token_lifetime + CLOCK_SKEW).num_seconds();
    let issued = claims.iat.unwrap_or(now).min(now);
    if claims.exp.saturating_sub(issued) > max {
        return Err(CredentialError::LifetimeTooLong);
    }
    if !claims.names_audience(&rules.audience) {
        return Err(CredentialError::WrongAudience);
    }
    if claims.sub.is_empty() {
        return Err(CredentialError::Malformed);
    }
    Ok(claims.sub.clone())
}

fn link_message(order_id: &str, exp: i64) -> String {
    format!("track:{order_id}:{exp}")
}

/// The `sig` of a tracking link for `order_id` that expires at `exp`.
pub fn link_signature(secret: &str, order_id: &str, exp: DateTime<Utc>) -> String {
    sign(secret, link_message(order_id, exp.timestamp()).as_bytes())
}

/// Checks a tracking link's `exp` and `sig` for `order_id`; `exp` may lie at most
/// `rules.max_link_lifetime` ahead.
pub fn verify_link(
    secret: &str,
    rules: &TokenRules,
    order_id: &str,
    exp: &str,
    sig: &str,
    now: DateTime<Utc>,
) -> Result<(), CredentialError> {
    if secret.is_empty() || sig.len() > MAX_TOKEN_LEN {
        return Err(CredentialError::Malformed);
    }
    let exp: i64 = exp.parse().map_err(|_| CredentialError::Malformed)?;
    verify_signature(secret, link_message(order_id, exp).as_bytes(), sig)?;
    if now.timestamp() >= exp {
        return Err(CredentialError::Expired);
    }
    if exp.saturating_sub(now.timestamp()) > (rules.max_link_lifetime + CLOCK_SKEW).num_seconds() {
        return Err(CredentialError::LifetimeTooLong);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conditional::fnv1a;
    // Tokens are built with the reference base64, not the module these tests check.
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap()
    }

    fn later() -> DateTime<Utc> {
        now() + chrono::Duration::hours(1)
    }

    const AUD: &str = "shipment-tracker";

    fn rules() -> TokenRules {
        TokenRules::default()
    }

    /// A token signed with "s3cret" whatever its header and claims say.
    fn signed(header: &str, claims: &str) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        format!("{input}.{}", sign("s3cret", input.as_bytes()))
    }

    const HS256: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

    #[test]
    fn a_remembered_token_has_its_claims_checked_afresh_every_time() {
        let token = customer_token("s3cret", AUD, "cust-1", later());
        assert_eq!(
            verify_customer_token("s3cret", &rules(), &token, now()),
            Ok("cust-1".into())
        );
        assert!(VERIFIED.with_borrow(|v| v.get(fnv1a(&token), &token).is_some()));
        let after_expiry = later() + chrono::Duration::seconds(1);
        assert_eq!(
            verify_customer_token("s3cret", &rules(), &token, after_expiry),
            Err(CredentialError::Expired)
        );
        let other_audience = TokenRules {
            audience: "another-service".into(),
            ..rules()
        };
        assert_eq!(
            verify_customer_token("s3cret", &other_audience, &token, now()),
            Err(CredentialError::WrongAudience)
        );
        let shorter = TokenRules {
            max_token_lifetime: chrono::Duration::minutes(1),
            ..rules()
        };
        assert_eq!(
            verify_customer_token("s3cret", &shorter, &token, now()),
            Err(CredentialError::LifetimeTooLong)
        );
        // Another secret: the memory does not vouch for it.
        assert_eq!(
            verify_customer_token("another-secret", &rules(), &token, now()),
            Err(CredentialError::BadSignature)
        );
        assert_eq!(
            verify_customer_token("s3cret", &rules(), &token, now()),
            Ok("cust-1".into())
        );
        // One character changed is another token, checked in full.
        let mut tampered = token.clone();
        let at = tampered.len() - 10;
        let other = if &tampered[at..=at] == "A" { "B" } else { "A" };
        tampered.replace_range(at..=at, other);
        assert_eq!(
            verify_customer_token("s3cret", &rules(), &tampered, now()),
            Err(CredentialError::BadSignature)
        );
        assert!(VERIFIED.with_borrow(|v| v.get(fnv1a(&tampered), &tampered).is_none()));
    }

    #[test]
    fn a_token_seen_again_is_taken_from_memory() {
        let token = customer_token("s3cret", AUD, "cust-1", later());
        verify_customer_token("s3cret", &rules(), &token, now()).unwrap();
        // What memory says is what is answered: the token was not decoded again.
        VERIFIED.with_borrow_mut(|v| {
            let (_, _, claims) = v.claims.iter_mut().find(|(_, t, _)| *t == token).unwrap();
            claims.sub = "remembered".into();
        });
        assert_eq!(
            verify_customer_token("s3cret", &rules(), &token, now()),
            Ok("remembered".into())
        );
    }

    #[test]
    fn the_memory_of_tokens_is_bounded() {
        for n in 0..=VERIFIED_MAX {
            let token = customer_token("s3cret", AUD, &format!("cust-{n}"), later());
            verify_customer_token("s3cret", &rules(), &token, now()).unwrap();
            // Every token is kept until the memory is full; then it starts again.
            let kept = if n < VERIFIED_MAX { n + 1 } else { 1 };
            assert_eq!(VERIFIED.with_borrow(|v| v.claims.len()), kept);
        }
    }

    #[test]
    fn a_valid_customer_token_names_its_customer() {
        let token = customer_token("s3cret", AUD, "cust-1", later());
        assert_eq!(
            verify_customer_token("s3cret", &rules(), &token, now()),
            Ok("cust-1".into())
        );
    }

    #[test]
    fn expired_tampered_and_foreign_tokens_are_refused() {
        let token = customer_token("s3cret", AUD, "cust-1", later());
        assert_eq!(
            verify_customer_token("s3cret", &rules(), &token, later()),
            Err(CredentialError::Expired)
        );
        assert_eq!(
            verify_customer_token("other", &rules(), &token, now()),
            Err(CredentialError::BadSignature)
        );
        // Swap the payload for another customer's, keeping the signature.
        let other = customer_token("s3cret", AUD, "cust-2", later());
        let mut parts: Vec<&str> = token.split('.').collect();
        parts[1] = other.split('.').nth(1).unwrap();
        assert_eq!(
            verify_customer_token("s3cret", &rules(), &parts.join("."), now()),
            Err(CredentialError::BadSignature)
        );
        assert_eq!(
            verify_customer_token("s3cret", &rules(), "a.b", now()),
            Err(CredentialError::Malformed)
        );
        assert_eq!(
            verify_customer_token("", &rules(), &token, now()),
            Err(CredentialError::Malformed)
        );
    }

    #[test]
    fn other_algorithms_are_refused() {
        for alg in ["none", "HS512", "RS256", "hs256"] {
            let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
            let payload = URL_SAFE_NO_PAD.encode(format!(
                r#"{{"sub":"cust-1","aud":"{AUD}","exp":{}}}"#,
                later().timestamp()
            ));
            let input = format!("{header}.{payload}");
            let token = format!("{input}.{}", sign("s3cret", input.as_bytes()));
            assert_eq!(
                verify_customer_token("s3cret", &rules(), &token, now()),
                Err(CredentialError::WrongAlgorithm),
                "{alg}"
            );
        }
    }

    #[test]
    fn a_token_must_name_this_services_audience() {
        let exp = later().timestamp();
        let verify = |claims: String| {
            verify_customer_token("s3cret", &rules(), &signed(HS256, &claims), now())
        };
        assert_eq!(
            verify(format!(r#"{{"sub":"cust-1","exp":{exp}}}"#)),
            Err(CredentialError::WrongAudience),
            "no aud"
        );
        assert_eq!(
            verify(format!(r#"{{"sub":"cust-1","aud":"billing","exp":{exp}}}"#)),
            Err(CredentialError::WrongAudience),
            "another service's token"
        );
        assert_eq!(
            verify(format!(
                r#"{{"sub":"cust-1","aud":["billing"],"exp":{exp}}}"#
            )),
            Err(CredentialError::WrongAudience)
        );
        assert_eq!(
            verify(format!(
                r#"{{"sub":"cust-1","aud":["billing","{AUD}"],"exp":{exp}}}"#
            )),
            Ok("cust-1".into()),
            "one of a list"
        );
        let custom = TokenRules {
            audience: "shop-tracking".into(),
            ..rules()
        };
        let token = customer_token("s3cret", AUD, "cust-1", later());
        assert_eq!(
            verify_customer_token("s3cret", &custom, &token, now()),
            Err(CredentialError::WrongAudience),
            "the audience is configurable"
        );
    }

    #[test]
    fn a_token_may_not_outlive_the_configured_lifetime() {
        let verify = |exp: i64, iat: Option<i64>| {
            let iat = iat.map(|i| format!(r#","iat":{i}"#)).unwrap_or_default();
            let claims = format!(r#"{{"sub":"cust-1","aud":"{AUD}","exp":{exp}{iat}}}"#);
            verify_customer_token("s3cret", &rules(), &signed(HS256, &claims), now())
        };
        let t = now().timestamp();
        let week = 7 * 24 * 3600;
        assert_eq!(
            verify(i64::MAX, None),
            Err(CredentialError::LifetimeTooLong)
        );
        assert_eq!(
            verify(t + 8 * 24 * 3600, None),
            Err(CredentialError::LifetimeTooLong)
        );
        assert_eq!(
            verify(t + week, None),
            Ok("cust-1".into()),
            "7 days is the cap"
        );
        // Issued long ago and valid for long: refused even though little of it is left.
        assert_eq!(
            verify(t + 3600, Some(t - 30 * 24 * 3600)),
            Err(CredentialError::LifetimeTooLong)
        );
        assert_eq!(verify(t + 3600, Some(t - 3600)), Ok("cust-1".into()));
        let short = TokenRules {
            max_token_lifetime: chrono::Duration::hours(1),
            ..rules()
        };
        let token = customer_token("s3cret", AUD, "cust-1", now_plus_days(1));
        assert_eq!(
            verify_customer_token("s3cret", &short, &token, now()),
            Err(CredentialError::LifetimeTooLong),
            "the cap is configurable"
        );
    }

    fn now_plus_days(days: i64) -> DateTime<Utc> {
        now() + chrono::Duration::days(days)
    }

    #[test]
    fn critical_header_extensions_are_refused() {
        let claims = format!(
            r#"{{"sub":"cust-1","aud":"{AUD}","exp":{}}}"#,
            later().timestamp()
        );
        for header in [
            r#"{"alg":"HS256","crit":["exp-policy"],"exp-policy":"lenient"}"#,
            r#"{"alg":"HS256","crit":"b64"}"#,
        ] {
            assert_eq!(
                verify_customer_token("s3cret", &rules(), &signed(header, &claims), now()),
                Err(CredentialError::UnsupportedCritical),
                "{header}"
            );
        }
        assert_eq!(
            verify_customer_token(
                "s3cret",
                &rules(),
                &signed(r#"{"alg":"HS256","crit":[]}"#, &claims),
                now()
            ),
            Ok("cust-1".into())
        );
    }

    #[test]
    fn a_link_may_not_outlive_the_configured_lifetime() {
        let check = |exp: DateTime<Utc>| {
            let sig = link_signature("k", "ORD-1", exp);
            verify_link(
                "k",
                &rules(),
                "ORD-1",
                &exp.timestamp().to_string(),
                &sig,
                now(),
            )
        };
        assert_eq!(check(now_plus_days(30)), Ok(()));
        assert_eq!(
            check(now_plus_days(31)),
            Err(CredentialError::LifetimeTooLong)
        );
        // The limit itself, clock skew included, still passes; a second more does not.
        let longest = now() + rules().max_link_lifetime + CLOCK_SKEW;
        assert_eq!(check(longest), Ok(()));
        assert_eq!(
            check(longest + Duration::seconds(1)),
            Err(CredentialError::LifetimeTooLong)
        );
        let forever = i64::MAX.to_string();
        let sig = sign("k", link_message("ORD-1", i64::MAX).as_bytes());
        assert_eq!(
            verify_link("k", &rules(), "ORD-1", &forever, &sig, now()),
            Err(CredentialError::LifetimeTooLong)
        );
    }

    #[test]
    fn links_are_bound_to_their_order_and_expire() {
        let sig = link_signature("k", "ORD-1", later());
        let exp = later().timestamp().to_string();
        assert_eq!(
            verify_link("k", &rules(), "ORD-1", &exp, &sig, now()),
            Ok(())
        );
        assert_eq!(
            verify_link("k", &rules(), "ORD-2", &exp, &sig, now()),
            Err(CredentialError::BadSignature)
        );
        assert_eq!(
            verify_link("k", &rules(), "ORD-1", &exp, &sig, later()),
            Err(CredentialError::Expired)
        );
        let stretched = (later().timestamp() + 3600).to_string();
        assert_eq!(
            verify_link("k", &rules(), "ORD-1", &stretched, &sig, now()),
            Err(CredentialError::BadSignature)
        );
        assert_eq!(
            verify_link("k", &rules(), "ORD-1", "soon", &sig, now()),
            Err(CredentialError::Malformed)
        );
        // Without a secret nothing is verified; a signature longer than any token is not read.
        assert_eq!(
            verify_link("", &rules(), "ORD-1", &exp, &sig, now()),
            Err(CredentialError::Malformed)
        );
        let longest = "A".repeat(MAX_TOKEN_LEN);
        assert_eq!(
            verify_link("k", &rules(), "ORD-1", &exp, &longest, now()),
            Err(CredentialError::BadSignature)
        );
        assert_eq!(
            verify_link("k", &rules(), "ORD-1", &exp, &format!("{longest}A"), now()),
            Err(CredentialError::Malformed)
        );
    }

    #[test]
    fn admin_token_comparison() {
        assert!(is_admin_token("t0ken", "t0ken"));
        assert!(!is_admin_token("t0ken ", "t0ken"));
        assert!(!is_admin_token("", ""));
    }
}
