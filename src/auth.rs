//! Who may read what.
//!
//! - Admins present a bearer token kept as a Worker secret, compared in constant time.
//! - Customers present either a storefront-issued JWT (HS256, `sub` = the customer id, `exp`
//!   required) or a signed, expiring per-order tracking link (`?exp=<unix>&sig=<hmac>`), as
//!   e-mails carry. Both are checked without a database round trip.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::tracking::model::Order;

/// Longest token accepted, so that a hostile header costs little to reject.
const MAX_TOKEN_LEN: usize = 4096;

/// A verified caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    Admin,
    /// A customer, by the id their storefront token names.
    Customer(String),
    /// Whoever holds a valid signed link for this order.
    Link(String),
}

impl Access {
    pub fn may_read(&self, order: &Order) -> bool {
        match self {
            Access::Admin => true,
            Access::Customer(id) => *id == order.customer_id,
            Access::Link(order_id) => *order_id == order.id,
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
}

impl CredentialError {
    pub fn message(self) -> &'static str {
        match self {
            CredentialError::Malformed => "Malformed credentials",
            CredentialError::WrongAlgorithm => "Token algorithm not accepted",
            CredentialError::BadSignature => "Invalid signature",
            CredentialError::Expired => "Credentials have expired",
        }
    }
}

fn mac(secret: &str, message: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(message);
    mac
}

fn sign(secret: &str, message: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(mac(secret, message).finalize().into_bytes())
}

/// Checks an HMAC-SHA256 signature in constant time.
fn verify_signature(secret: &str, message: &[u8], signature: &str) -> Result<(), CredentialError> {
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| CredentialError::Malformed)?;
    mac(secret, message)
        .verify_slice(&signature)
        .map_err(|_| CredentialError::BadSignature)
}

/// Whether `presented` is the admin token. Hashing both first makes the comparison constant-time
/// in their lengths too.
pub fn is_admin_token(presented: &str, expected: &str) -> bool {
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
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    #[serde(default)]
    nbf: Option<i64>,
}

/// A storefront token for `customer_id`, expiring at `exp` (for the storefront's backend, the
/// dev tools and tests; the worker only verifies).
pub fn customer_token(secret: &str, customer_id: &str, exp: DateTime<Utc>) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = serde_json::json!({"sub": customer_id, "exp": exp.timestamp()});
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{payload}");
    let signature = sign(secret, signing_input.as_bytes());
    format!("{signing_input}.{signature}")
}

/// The customer id of a valid storefront token. Only HS256 is accepted: `none` and every other
/// algorithm are refused before the signature is looked at.
pub fn verify_customer_token(
    secret: &str,
    token: &str,
    now: DateTime<Utc>,
) -> Result<String, CredentialError> {
    if secret.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(CredentialError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(CredentialError::Malformed);
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| CredentialError::Malformed)
    };
    let header: Header =
        serde_json::from_slice(&decode(header)?).map_err(|_| CredentialError::Malformed)?;
    if header.alg != "HS256" {
        return Err(CredentialError::WrongAlgorithm);
    }
    let signing_input = &token[..token.len() - signature.len() - 1];
    verify_signature(secret, signing_input.as_bytes(), signature)?;
    let claims: Claims =
        serde_json::from_slice(&decode(payload)?).map_err(|_| CredentialError::Malformed)?;
    let now = now.timestamp();
    if now >= claims.exp || claims.nbf.is_some_and(|nbf| now < nbf) {
        return Err(CredentialError::Expired);
    }
    if claims.sub.is_empty() {
        return Err(CredentialError::Malformed);
    }
    Ok(claims.sub)
}

fn link_message(order_id: &str, exp: i64) -> String {
    format!("track:{order_id}:{exp}")
}

/// The `sig` of a tracking link for `order_id` that expires at `exp`.
pub fn link_signature(secret: &str, order_id: &str, exp: DateTime<Utc>) -> String {
    sign(secret, link_message(order_id, exp.timestamp()).as_bytes())
}

/// Checks a tracking link's `exp` and `sig` for `order_id`.
pub fn verify_link(
    secret: &str,
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap()
    }

    fn later() -> DateTime<Utc> {
        now() + chrono::Duration::hours(1)
    }

    #[test]
    fn a_valid_customer_token_names_its_customer() {
        let token = customer_token("s3cret", "cust-1", later());
        assert_eq!(
            verify_customer_token("s3cret", &token, now()),
            Ok("cust-1".into())
        );
    }

    #[test]
    fn expired_tampered_and_foreign_tokens_are_refused() {
        let token = customer_token("s3cret", "cust-1", later());
        assert_eq!(
            verify_customer_token("s3cret", &token, later()),
            Err(CredentialError::Expired)
        );
        assert_eq!(
            verify_customer_token("other", &token, now()),
            Err(CredentialError::BadSignature)
        );
        // Swap the payload for another customer's, keeping the signature.
        let other = customer_token("s3cret", "cust-2", later());
        let mut parts: Vec<&str> = token.split('.').collect();
        parts[1] = other.split('.').nth(1).unwrap();
        assert_eq!(
            verify_customer_token("s3cret", &parts.join("."), now()),
            Err(CredentialError::BadSignature)
        );
        assert_eq!(
            verify_customer_token("s3cret", "a.b", now()),
            Err(CredentialError::Malformed)
        );
        assert_eq!(
            verify_customer_token("", &token, now()),
            Err(CredentialError::Malformed)
        );
    }

    #[test]
    fn other_algorithms_are_refused() {
        for alg in ["none", "HS512", "RS256", "hs256"] {
            let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
            let payload = URL_SAFE_NO_PAD.encode(format!(
                r#"{{"sub":"cust-1","exp":{}}}"#,
                later().timestamp()
            ));
            let input = format!("{header}.{payload}");
            let token = format!("{input}.{}", sign("s3cret", input.as_bytes()));
            assert_eq!(
                verify_customer_token("s3cret", &token, now()),
                Err(CredentialError::WrongAlgorithm),
                "{alg}"
            );
        }
    }

    #[test]
    fn links_are_bound_to_their_order_and_expire() {
        let sig = link_signature("k", "ORD-1", later());
        let exp = later().timestamp().to_string();
        assert_eq!(verify_link("k", "ORD-1", &exp, &sig, now()), Ok(()));
        assert_eq!(
            verify_link("k", "ORD-2", &exp, &sig, now()),
            Err(CredentialError::BadSignature)
        );
        assert_eq!(
            verify_link("k", "ORD-1", &exp, &sig, later()),
            Err(CredentialError::Expired)
        );
        let stretched = (later().timestamp() + 3600).to_string();
        assert_eq!(
            verify_link("k", "ORD-1", &stretched, &sig, now()),
            Err(CredentialError::BadSignature)
        );
        assert_eq!(
            verify_link("k", "ORD-1", "soon", &sig, now()),
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
