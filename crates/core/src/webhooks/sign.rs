//! Standard Webhooks signatures (standardwebhooks.com): a secret is `whsec_` + base64 of its key
//! bytes; a message is signed as `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")),
//! and several signatures (old and new secret during a rotation) go space-separated in one
//! `webhook-signature` header.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::base64::{Form, decode, encode};
use crate::ports::Random;

/// What every secret starts with.
pub const SECRET_PREFIX: &str = "whsec_";

/// Key bytes of a new secret (the specification asks for 24 to 64).
const KEY_BYTES: usize = 32;

/// A new secret, `whsec_` + base64 of 32 random bytes.
pub fn new_secret(random: &dyn Random) -> String {
    let mut key = Vec::with_capacity(KEY_BYTES);
    while key.len() < KEY_BYTES {
        key.extend_from_slice(&random.next_u64().to_le_bytes());
    }
    format!("{SECRET_PREFIX}{}", encode(&key, Form::Standard))
}

/// The key bytes of a `whsec_` secret; `None` for anything else.
fn key(secret: &str) -> Option<Vec<u8>> {
    decode(secret.strip_prefix(SECRET_PREFIX)?, Form::Standard)
}

/// The signature of one message with one secret: `v1,<base64>`; `None` for a malformed secret.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = key(secret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!(
        "v1,{}",
        encode(mac.finalize().into_bytes(), Form::Standard)
    ))
}

/// The `webhook-signature` header: one signature per secret, space-separated.
pub fn signature_header(secrets: &[&str], id: &str, timestamp: i64, body: &str) -> String {
    secrets
        .iter()
        .filter_map(|secret| signature(secret, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Lower-case hex of the SHA-256 of `parts` joined by a unit separator, cut to `len` digits: a
/// deterministic id.
pub fn digest_hex(parts: &[&str], len: usize) -> String {
    let digest = Sha256::digest(parts.join("\u{1f}").as_bytes());
    digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        .chars()
        .take(len)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of the Standard Webhooks specification's reference libraries.
    #[test]
    fn signs_the_reference_vector() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let sig = signature(
            secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(
            sig.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn one_signature_per_secret_and_none_for_a_malformed_one() {
        let a = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let b = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let header = signature_header(&[a, b, "nope"], "msg_1", 1, "{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(Some(parts[0]), signature(a, "msg_1", 1, "{}").as_deref());
        assert_ne!(parts[0], parts[1]);
        assert_eq!(signature("whsec_%%%", "msg_1", 1, "{}"), None);
    }

    #[test]
    fn new_secrets_carry_32_key_bytes() {
        struct Counter(std::cell::Cell<u64>);
        impl Random for Counter {
            fn next_u64(&self) -> u64 {
                self.0.set(self.0.get() + 1);
                self.0.get()
            }
        }
        let secret = new_secret(&Counter(Default::default()));
        assert!(secret.starts_with(SECRET_PREFIX));
        assert_eq!(key(&secret).unwrap().len(), 32);
        assert_eq!(key(&secret).unwrap()[..8], 1u64.to_le_bytes());
        assert_eq!(key(&secret).unwrap()[24..], 4u64.to_le_bytes());
    }
}
