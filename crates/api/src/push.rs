//! `POST /api/carrier/bluedart/push` (path configurable): Blue Dart's pushed status updates.
//!
//! Authenticated as Blue Dart push integrations are: a shared secret (`BLUEDART_PUSH_TOKEN`)
//! sent in a header (name configurable, default `token`) or as the HTTP basic-auth password,
//! compared in constant time; optionally only from listed source ranges (`CF-Connecting-IP`).
//! Without the secret the route does not exist (404). The body is size-limited (413), read
//! item by item (a bad item is reported, the others accepted), and answered at once: the
//! updates go to the push queue and are merged by its consumer.

use std::net::IpAddr;

use serde_json::json;
use tracking_core::base64::{Form, decode};
use tracking_core::push::{PushBatch, PushMessage};

use crate::credentials::secret_matches;
use crate::error::ApiError;
use crate::reply::{After, NO_STORE, Reply, json_response};
use crate::requests::{RequestBody, read_body};

/// The path Blue Dart is given unless `BLUEDART_PUSH_PATH` says otherwise.
pub const DEFAULT_PATH: &str = "/api/carrier/bluedart/push";
/// The header carrying the secret unless `BLUEDART_PUSH_HEADER` says otherwise.
pub const DEFAULT_HEADER: &str = "token";
/// The largest push read unless `BLUEDART_PUSH_MAX_BYTES` says otherwise (1 MiB).
pub const DEFAULT_MAX_BYTES: usize = 1024 * 1024;
/// Rejected items listed in an answer, at most (the counts cover all of them).
const ERRORS_LISTED: usize = 100;

/// Reads a push body (the carrier adapter's reader): the items, or why the body is no push.
pub type PushReader = fn(&[u8]) -> Result<PushBatch, String>;

/// An address range, `192.0.2.0/24` or `2001:db8::/32` (a bare address is a range of one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpRange {
    base: IpAddr,
    prefix: u32,
}

impl IpRange {
    pub fn parse(text: &str) -> Option<IpRange> {
        let (address, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u32>().ok()?)),
            None => (text.trim(), None),
        };
        let base = crate::ip::parse(address)?;
        let bits = if base.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        (prefix <= bits).then_some(IpRange { base, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        fn masked(value: u128, bits: u32, prefix: u32) -> u128 {
            if prefix == 0 {
                0
            } else {
                value >> (bits - prefix)
            }
        }
        match (self.base, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                masked(u32::from(a).into(), 32, self.prefix)
                    == masked(u32::from(b).into(), 32, self.prefix)
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                masked(u128::from(a), 128, self.prefix) == masked(u128::from(b), 128, self.prefix)
            }
            _ => false,
        }
    }
}

/// How the push endpoint is set up (`[vars]`; the secret is in `Secrets`).
#[derive(Clone, Debug)]
pub struct PushSettings {
    pub path: String,
    /// Lower-case header name.
    pub header: String,
    pub max_bytes: usize,
    /// Source ranges allowed; empty: any.
    pub allowed_ips: Vec<IpRange>,
    pub read: PushReader,
}

/// The basic-auth password of `Authorization: Basic …`.
fn basic_password(headers: &http::HeaderMap) -> Option<String> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = decode(encoded.trim(), Form::Standard)?;
    let text = String::from_utf8(decoded).ok()?;
    text.split_once(':')
        .map(|(_, password)| password.to_owned())
}

fn unauthorized() -> ApiError {
    ApiError::unauthorized("Missing or invalid push credentials")
}

/// Whether the caller may push: from an allowed range, with the secret.
pub fn authorise(
    settings: &PushSettings,
    secret: &str,
    headers: &http::HeaderMap,
) -> Result<(), ApiError> {
    if !settings.allowed_ips.is_empty() {
        let from = headers
            .get("cf-connecting-ip")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| crate::ip::parse(v.trim()));
        if !from.is_some_and(|ip| settings.allowed_ips.iter().any(|r| r.contains(ip))) {
            return Err(ApiError::new(
                403,
                "PUSH_SOURCE_NOT_ALLOWED",
                "Pushes are not accepted from this address",
            ));
        }
    }
    let presented = headers
        .get(settings.header.as_str())
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| basic_password(headers))
        .ok_or_else(unauthorized)?;
    if secret_matches(presented.trim(), secret) {
        Ok(())
    } else {
        Err(unauthorized())
    }
}

/// Reads an authorised push and answers with its counts; the messages to enqueue go with the
/// reply (the platform sends them before the answer leaves, or answers 503).
pub async fn receive<B: RequestBody>(
    settings: &PushSettings,
    request: http::Request<B>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Reply, ApiError> {
    let (_, bytes) = read_body(request, &["application/json"], settings.max_bytes).await?;
    let batch =
        (settings.read)(&bytes).map_err(|reason| ApiError::bad_request("INVALID_PUSH", reason))?;
    let errors: Vec<_> = batch
        .rejected
        .iter()
        .take(ERRORS_LISTED)
        .map(|e| json!({"item": e.item, "reason": e.reason}))
        .collect();
    let body = json!({
        "success": true,
        "received": batch.items,
        "accepted": batch.accepted(),
        "rejected": batch.rejected.len(),
        "waybills": batch.updates.len(),
        "errors": errors,
    });
    Ok(Reply {
        response: json_response(200, &body, NO_STORE),
        after: Some(After::Push(PushMessage::for_push(batch, now))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn ranges_contain_their_addresses_only() {
        let r = IpRange::parse("192.0.2.0/24").unwrap();
        assert!(r.contains("192.0.2.77".parse().unwrap()));
        assert!(!r.contains("192.0.3.1".parse().unwrap()));
        assert!(!r.contains("::1".parse().unwrap()));
        let one = IpRange::parse("203.0.113.9").unwrap();
        assert!(one.contains("203.0.113.9".parse().unwrap()));
        assert!(!one.contains("203.0.113.8".parse().unwrap()));
        let v6 = IpRange::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!v6.contains("2001:db9::5".parse().unwrap()));
        assert!(
            IpRange::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        for bad in ["10.0.0.0/33", "nope", "10.0.0.0/x", ""] {
            assert_eq!(IpRange::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_password_of_basic_auth_is_read() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            format!("Basic {}", STANDARD.encode("bluedart:s3cret:x"))
                .parse()
                .unwrap(),
        );
        assert_eq!(basic_password(&headers).as_deref(), Some("s3cret:x"));
        headers.insert(http::header::AUTHORIZATION, "Bearer x".parse().unwrap());
        assert_eq!(basic_password(&headers), None);
    }
}
