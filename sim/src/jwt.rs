//! The gateway's login token: an HS256 JWT signed with the simulator's own key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: i64,
    exp: i64,
}

/// Why a presented token was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    BadSignature,
    Expired,
}

fn sign(key: &[u8], signing_input: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(signing_input.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// A token for `subject`, valid from `now` (seconds since the epoch) for `ttl_secs`.
pub fn issue(key: &[u8], subject: &str, now: i64, ttl_secs: i64) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = Claims {
        sub: subject.to_owned(),
        iat: now,
        exp: now + ttl_secs,
    };
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims serialise"));
    let signing_input = format!("{header}.{payload}");
    let signature = URL_SAFE_NO_PAD.encode(sign(key, &signing_input));
    format!("{signing_input}.{signature}")
}

/// Checks signature and expiry at `now`.
pub fn verify(key: &[u8], token: &str, now: i64) -> Result<(), TokenError> {
    let (signing_input, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let (_, payload) = signing_input.split_once('.').ok_or(TokenError::Malformed)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Malformed)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(signing_input.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| TokenError::BadSignature)?;
    let claims: Claims = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(TokenError::Malformed)?;
    if now >= claims.exp {
        return Err(TokenError::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_token_verifies_until_it_expires() {
        let token = issue(b"k", "client", 1_000, 86_400);
        assert_eq!(verify(b"k", &token, 1_000), Ok(()));
        assert_eq!(verify(b"k", &token, 87_399), Ok(()));
        assert_eq!(verify(b"k", &token, 87_400), Err(TokenError::Expired));
    }

    #[test]
    fn tampered_or_foreign_tokens_are_refused() {
        let token = issue(b"k", "client", 1_000, 86_400);
        assert_eq!(
            verify(b"other", &token, 1_000),
            Err(TokenError::BadSignature)
        );
        let mut tampered = token.clone();
        tampered.insert(token.find('.').unwrap() + 2, 'x');
        assert!(verify(b"k", &tampered, 1_000).is_err());
        assert_eq!(verify(b"k", "not-a-jwt", 1_000), Err(TokenError::Malformed));
    }
}
