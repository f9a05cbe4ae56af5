//! The Blue Dart API gateway client: token login (cached in KV until shortly before it expires),
//! tracking many waybills per call, and waybill generation. Every call has a timeout; a 401/403
//! drops the cached token, logs in again and retries once.

use std::cell::RefCell;
use std::rc::Rc;

use chrono::{DateTime, Duration, FixedOffset, Timelike, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::events::reply_for;
use crate::parse::{ParseError, parse_tracking};
use tracking_core::base64::{Form, decode};
use tracking_core::carrier::{Carrier, CarrierError, TrackingReply, WaybillRequest};
use tracking_core::ports::{Clock, HttpClient, HttpError, HttpRequest, HttpResponse, KeyValue};

/// The account's credentials (Worker secrets).
#[derive(Clone, PartialEq)]
pub struct Account {
    pub client_id: String,
    pub client_secret: String,
    pub login_id: String,
    pub licence_key: String,
}

/// Says which credentials are set, never what they are, should an `Account` (or the
/// `Gateway` holding it) ever be written out with `{:?}`.
impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |value: &str| if value.is_empty() { "" } else { "[redacted]" };
        f.debug_struct("Account")
            .field("client_id", &shown(&self.client_id))
            .field("client_secret", &shown(&self.client_secret))
            .field("login_id", &shown(&self.login_id))
            .field("licence_key", &shown(&self.licence_key))
            .finish()
    }
}

/// The shipper block of waybill requests: the store's own pickup address (`[vars]`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Shipper {
    pub origin_area: String,
    pub customer_code: String,
    pub name: String,
    pub address: [String; 3],
    pub pincode: String,
    pub mobile: String,
}

/// KV key of the cached login token.
pub const TOKEN_KEY: &str = "bluedart:jwt";
/// A cached token is used until this close to its expiry.
const TOKEN_MARGIN: Duration = Duration::hours(1);
/// Tokens are valid 24 h; assumed when one does not say.
const TOKEN_LIFETIME: Duration = Duration::hours(24);

#[derive(Clone, Serialize, Deserialize)]
struct CachedToken {
    token: String,
    #[serde(deserialize_with = "tracking_core::utc::time")]
    expires_at: DateTime<Utc>,
}

/// The login token as this isolate last saw it: shared by the clients of all its invocations,
/// so that a refresh reads KV for the token only once per isolate (and per login elsewhere).
/// A token within [`TOKEN_MARGIN`] of its expiry is never used from it; KV, then a login, is.
#[derive(Default)]
pub struct TokenCache(RefCell<Option<CachedToken>>);

/// Where the gateway is and who we are to it.
#[derive(Clone, Debug, PartialEq)]
pub struct Gateway {
    pub base_url: String,
    pub account: Account,
    pub shipper: Shipper,
    pub timeout_ms: u64,
}

pub struct BlueDartClient<'a, H, K, C> {
    http: &'a H,
    kv: &'a K,
    clock: &'a C,
    /// Built once per isolate: an invocation shares it instead of copying its strings.
    gateway: Rc<Gateway>,
    /// The token for the rest of this invocation (and, shared, of the isolate), so that a run
    /// reads KV once, not per batch.
    token: Rc<TokenCache>,
}

/// The `exp` claim of a JWT, read without checking the signature: it is only used to decide
/// how long to cache a token Blue Dart itself issued.
fn token_expiry(token: &str) -> Option<DateTime<Utc>> {
    let payload = token.split('.').nth(1)?;
    let claims: Value = serde_json::from_slice(&decode(payload, Form::UrlSafe)?).ok()?;
    DateTime::from_timestamp(claims.get("exp")?.as_i64()?, 0)
}

fn transport_error(error: HttpError) -> CarrierError {
    match error {
        HttpError::Timeout(ms) => CarrierError::Timeout { ms },
        HttpError::Connection => CarrierError::Connection,
        HttpError::TooLarge(max_bytes) => CarrierError::TooLarge { max_bytes },
    }
}

/// Errors any business call can answer with.
fn status_error(response: &HttpResponse) -> CarrierError {
    match response.status {
        401 | 403 => CarrierError::Unauthorized {
            status: response.status,
        },
        429 => CarrierError::Throttled {
            retry_after_secs: response
                .header("retry-after")
                .and_then(|v| v.trim().parse().ok()),
        },
        500..=599 => CarrierError::Unavailable {
            status: response.status,
        },
        status => CarrierError::UnexpectedStatus { status },
    }
}

impl<'a, H: HttpClient, K: KeyValue, C: Clock> BlueDartClient<'a, H, K, C> {
    pub fn new(http: &'a H, kv: &'a K, clock: &'a C, gateway: impl Into<Rc<Gateway>>) -> Self {
        BlueDartClient {
            http,
            kv,
            clock,
            gateway: gateway.into(),
            token: Rc::default(),
        }
    }

    /// Keeps the token in `cache`, shared with other clients (the isolate's invocations).
    pub fn with_token_cache(mut self, cache: Rc<TokenCache>) -> Self {
        self.token = cache;
        self
    }

    pub fn gateway_mut(&mut self) -> &mut Gateway {
        Rc::make_mut(&mut self.gateway)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gateway.base_url.trim_end_matches('/'))
    }

    async fn login(&self) -> Result<String, CarrierError> {
        let request = HttpRequest {
            method: "GET",
            url: self.url("/in/transportation/token/v1/login"),
            headers: vec![
                ("ClientID", self.gateway.account.client_id.clone()),
                ("clientSecret", self.gateway.account.client_secret.clone()),
            ],
            body: None,
        };
        let response = self
            .http
            .send(request, self.gateway.timeout_ms)
            .await
            .map_err(transport_error)?;
        if response.status != 200 {
            return Err(status_error(&response));
        }
        let token = serde_json::from_slice::<Value>(response.body.as_bytes())
            .ok()
            .and_then(|v| v.get("JWTToken")?.as_str().map(str::to_owned))
            .filter(|t| !t.is_empty())
            .ok_or(CarrierError::UnreadableAnswer)?;
        let now = self.clock.now();
        let expires_at = token_expiry(&token).unwrap_or(now + TOKEN_LIFETIME);
        let cached = CachedToken {
            token: token.clone(),
            expires_at,
        };
        let ttl = (expires_at - now - TOKEN_MARGIN).num_seconds().max(60) as u64;
        let value = serde_json::to_string(&cached).expect("token serialises");
        *self.token.0.borrow_mut() = Some(cached);
        // A token that cannot be cached is still good for this call.
        let _ = self.kv.put(TOKEN_KEY, &value, Some(ttl)).await;
        Ok(token)
    }

    /// The token to use: from memory while it is outside the margin, else from KV (another
    /// isolate may have logged in since), else none.
    async fn cached_token(&self) -> Option<String> {
        let usable = |cached: &CachedToken| cached.expires_at - self.clock.now() > TOKEN_MARGIN;
        let in_memory = self.token.0.borrow().clone();
        if let Some(cached) = in_memory.filter(usable) {
            return Some(cached.token);
        }
        let value = self.kv.get(TOKEN_KEY).await.ok()??;
        let cached: CachedToken = serde_json::from_slice(value.as_bytes())
            .ok()
            .filter(usable)?;
        *self.token.0.borrow_mut() = Some(cached.clone());
        Some(cached.token)
    }

    /// Sends a business call with the login token, logging in again and retrying once when the
    /// gateway refuses the token.
    async fn call(
        &self,
        build: impl Fn(String) -> HttpRequest,
    ) -> Result<HttpResponse, CarrierError> {
        let token = match self.cached_token().await {
            Some(token) => token,
            None => self.login().await?,
        };
        let response = self
            .http
            .send(build(token), self.gateway.timeout_ms)
            .await
            .map_err(transport_error)?;
        if !matches!(response.status, 401 | 403) {
            return Ok(response);
        }
        let token = self.login().await?;
        self.http
            .send(build(token), self.gateway.timeout_ms)
            .await
            .map_err(transport_error)
    }

    fn tracking_url(&self, awbs: &[String]) -> String {
        // No `verno`: some accounts answer every request that carries it with a licence error.
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("handler", "tnt")
            .append_pair("action", "custawbquery")
            .append_pair("loginid", &self.gateway.account.login_id)
            .append_pair("awb", "awb")
            .append_pair("numbers", &awbs.join(","))
            .append_pair("format", "xml")
            .append_pair("lickey", &self.gateway.account.licence_key)
            .append_pair("scan", "1")
            .finish();
        self.url(&format!("/in/transportation/tracking/v1?{query}"))
    }

    fn waybill_body(&self, r: &WaybillRequest) -> Value {
        let ist = FixedOffset::east_opt(5 * 3600 + 30 * 60).expect("IST is a valid offset");
        let pickup_ist = r.pickup_at.with_timezone(&ist);
        let s = &self.gateway.shipper;
        json!({
            "Request": {
                "Shipper": {
                    "OriginArea": s.origin_area, "CustomerCode": s.customer_code,
                    "CustomerName": s.name, "CustomerAddress1": s.address[0],
                    "CustomerAddress2": s.address[1], "CustomerAddress3": s.address[2],
                    "CustomerPincode": s.pincode, "CustomerMobile": s.mobile,
                },
                "Consignee": {
                    "ConsigneeName": r.consignee.name,
                    "ConsigneeAddress1": r.consignee.address[0],
                    "ConsigneeAddress2": r.consignee.address[1],
                    "ConsigneeAddress3": r.consignee.address[2],
                    "ConsigneePincode": r.consignee.pincode,
                    "ConsigneeMobile": r.consignee.mobile,
                },
                "Returnadds": {
                    "ReturnAddress1": s.address[0], "ReturnAddress2": s.address[1],
                    "ReturnAddress3": s.address[2], "ReturnPincode": s.pincode,
                    "ReturnMobile": s.mobile,
                },
                "Services": {
                    "ProductCode": r.product_code, "ProductType": 1,
                    "SubProductCode": if r.cod_amount > 0.0 { "C" } else { "P" },
                    "PieceCount": r.pieces, "ActualWeight": r.weight_kg,
                    "DeclaredValue": r.declared_value, "CollectableAmount": r.cod_amount,
                    "CreditReferenceNo": r.order_id,
                    "PickupDate": format!("/Date({})/", r.pickup_at.timestamp_millis()),
                    // By hand: chrono's formatter would bring its every directive into the wasm.
                    "PickupTime": format!("{:02}{:02}", pickup_ist.hour(), pickup_ist.minute()),
                },
            },
            "Profile": {
                "LoginID": self.gateway.account.login_id,
                "LicenceKey": self.gateway.account.licence_key,
                "Api_type": "S",
            },
        })
    }
}

/// Shorter values are left in a carrier's text: blanking them would blank ordinary words.
const SHORTEST_REDACTED: usize = 4;

/// Blue Dart's own words (an `<Error>`, a refusal's reason) less what they could only have
/// repeated from our request: the account's credentials, and for a waybill the consignee's
/// details. Those words go to the log and to admins, who see neither.
fn unechoed(account: &Account, mut text: String, request: Option<&WaybillRequest>) -> String {
    let a = account;
    for value in [&a.client_id, &a.client_secret, &a.login_id, &a.licence_key] {
        text = redacted(text, value);
    }
    if let Some(c) = request.map(|r| &r.consignee) {
        let [address1, address2, address3] = &c.address;
        for value in [&c.name, &c.pincode, &c.mobile, address1, address2, address3] {
            text = redacted(text, value);
        }
    }
    text
}

/// `text` with `value` in it, in any ASCII case, replaced by `[redacted]`; also inside a
/// longer word or number, since blanking too much of a carrier's message costs nothing and
/// blanking too little leaks.
fn redacted(text: String, value: &str) -> String {
    if value.len() < SHORTEST_REDACTED {
        return text;
    }
    // ASCII lowercasing keeps every byte where it was, so positions carry over.
    let (lower, value) = (text.to_ascii_lowercase(), value.to_ascii_lowercase());
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    while let Some(at) = lower[from..].find(&value) {
        out.push_str(&text[from..from + at]);
        out.push_str("[redacted]");
        from += at + value.len();
    }
    out.push_str(&text[from..]);
    out
}

/// The first `StatusCode`/`StatusInformation` pair of a list.
fn first_status(list: &Value) -> (String, String) {
    let first = &list[0];
    let text = |k: &str| first[k].as_str().unwrap_or("").trim().to_owned();
    (text("StatusCode"), text("StatusInformation"))
}

impl<H: HttpClient, K: KeyValue, C: Clock> Carrier for BlueDartClient<'_, H, K, C> {
    async fn track(&self, awbs: &[String]) -> Result<TrackingReply, CarrierError> {
        let url = self.tracking_url(awbs);
        let response = self
            .call(|token| HttpRequest {
                method: "GET",
                url: url.clone(),
                headers: vec![("JWTToken", token)],
                body: None,
            })
            .await?;
        if response.status != 200 {
            return Err(status_error(&response));
        }
        let shipments = parse_tracking(&response.body).map_err(|e| match e {
            ParseError::NotTrackingXml | ParseError::Malformed => CarrierError::UnreadableAnswer,
            ParseError::LicenseMismatch => CarrierError::Licence,
            ParseError::CarrierError(message) => {
                CarrierError::Message(unechoed(&self.gateway.account, message, None))
            }
        })?;
        Ok(reply_for(response.status, awbs, &shipments))
    }

    async fn generate_waybill(&self, request: &WaybillRequest) -> Result<String, CarrierError> {
        let body = self.waybill_body(request).to_string();
        let url = self.url("/in/transportation/waybill/v1/GenerateWayBill");
        let response = self
            .call(|token| HttpRequest {
                method: "POST",
                url: url.clone(),
                headers: vec![
                    ("JWTToken", token),
                    ("Content-Type", "application/json".into()),
                ],
                body: Some(body.clone()),
            })
            .await?;
        let parsed: Option<Value> = serde_json::from_slice(response.body.as_bytes()).ok();
        match (response.status, parsed) {
            (200, Some(v)) => {
                let result = &v["GenerateWayBillResult"];
                if result["IsError"] == Value::Bool(false) {
                    result["AWBNo"]
                        .as_str()
                        .map(str::trim)
                        .filter(|awb| !awb.is_empty())
                        .map(str::to_owned)
                        .ok_or(CarrierError::UnreadableAnswer)
                } else if result.is_object() {
                    let (code, message) = first_status(&result["Status"]);
                    let message = unechoed(&self.gateway.account, message, Some(request));
                    Err(CarrierError::Refused { code, message })
                } else {
                    Err(CarrierError::UnreadableAnswer)
                }
            }
            (200, None) => Err(CarrierError::UnreadableAnswer),
            (400, Some(v)) if v["error-response"].is_array() => {
                let (code, message) = first_status(&v["error-response"]);
                let message = unechoed(&self.gateway.account, message, Some(request));
                Err(CarrierError::Refused { code, message })
            }
            _ => Err(status_error(&response)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Account, redacted};

    #[test]
    fn an_account_written_out_shows_no_credential() {
        let account = Account {
            client_id: "client-id-1".into(),
            client_secret: "s3cret".into(),
            login_id: String::new(),
            licence_key: "LK-4471".into(),
        };
        let shown = format!("{account:?}");
        for secret in ["client-id-1", "s3cret", "LK-4471"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(
            shown.contains(r#"login_id: """#),
            "an unset one is told apart: {shown}"
        );
    }

    #[test]
    fn our_values_are_redacted_wherever_they_stand() {
        let said = |text: &str, ours: &[&str]| {
            ours.iter()
                .fold(text.to_owned(), |text, value| redacted(text, value))
        };
        assert_eq!(
            said("LoginID BD-LOGIN, bd-login.", &["bd-Login"]),
            "LoginID [redacted], [redacted]."
        );
        assert_eq!(
            said("98470123456 9847012345", &["9847012345"]),
            "[redacted]6 [redacted]"
        );
        // Values of four bytes are the shortest redacted; shorter ones, and none, are left.
        assert_eq!(said("pin 4471 here", &["4471"]), "pin [redacted] here");
        assert_eq!(said("a bc def", &["", "bc", "def"]), "a bc def");
        // Text and values beyond ASCII, compared byte for byte.
        assert_eq!(
            said("आशा मेनन, नाम आशा", &["आशा मेनन", "आशा"]),
            "[redacted], नाम [redacted]"
        );
        // Cases beyond ASCII are not folded (that would take Unicode's tables).
        assert_eq!(said("ÉCOLE école", &["école"]), "ÉCOLE [redacted]");
    }
}
