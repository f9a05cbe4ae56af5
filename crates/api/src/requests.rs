//! What callers send: ids, query parameters, JSON bodies read within a size limit, and the
//! typed bodies of the admin endpoints with their validation.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tracking_core::carrier::{Consignee, WaybillRequest};
use tracking_core::model::{ORDER_STATUSES, valid_awb};
use tracking_core::ports::OrderInput;
use tracking_core::utc;

use crate::error::ApiError;

/// Largest request body accepted, enforced while reading (a chunked body declares no length).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A request body the platform reads on demand, giving up past `limit` bytes.
#[allow(async_fn_in_trait)]
pub trait RequestBody {
    async fn read(self, limit: usize) -> Result<Vec<u8>, BodyError>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyError {
    TooLarge,
    Unreadable,
}

/// A body already in memory (native tests).
impl RequestBody for Vec<u8> {
    async fn read(self, limit: usize) -> Result<Vec<u8>, BodyError> {
        if self.len() > limit {
            Err(BodyError::TooLarge)
        } else {
            Ok(self)
        }
    }
}

/// Order and customer ids: what a storefront uses, and nothing that needs escaping anywhere.
pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// An id from the path (`what`: "Order", "Webhook"), refused with `code` unless [`valid_id`].
pub fn path_id(raw: &str, code: &'static str, what: &str) -> Result<String, ApiError> {
    if valid_id(raw) {
        Ok(raw.to_owned())
    } else {
        Err(ApiError::bad_request(
            code,
            format!("{what} id must be 1-64 characters: letters, digits, '.', '_' or '-'"),
        ))
    }
}

pub fn order_id(raw: &str) -> Result<String, ApiError> {
    path_id(raw, "INVALID_ORDER_ID", "Order")
}

/// The query's pairs, decoded.
pub fn query_pairs(uri: &http::Uri) -> Vec<(String, String)> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// The `limit` query parameter: 1–100, `default` when absent.
pub fn limit(uri: &http::Uri, default: usize) -> Result<usize, ApiError> {
    let pairs = query_pairs(uri);
    match query_value(&pairs, "limit") {
        None => Ok(default),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "INVALID_QUERY",
                    "limit must be a whole number from 1 to 100",
                )
            }),
    }
}

pub fn query_value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `Authorization: Bearer <token>`.
pub fn bearer(headers: &http::HeaderMap) -> Option<String> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// The request's body, sent as one of `media_types` and at most `limit` bytes (as declared, and
/// while reading: a chunked body declares no length), and the media type it was sent as.
pub async fn read_body<B: RequestBody>(
    request: http::Request<B>,
    media_types: &[&'static str],
    limit: usize,
) -> Result<(&'static str, Vec<u8>), ApiError> {
    let (parts, body) = request.into_parts();
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let sent = content_type.split(';').next().unwrap_or_default().trim();
    let Some(media_type) = media_types
        .iter()
        .find(|t| t.eq_ignore_ascii_case(sent))
        .copied()
    else {
        return Err(ApiError::new(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            format!("Send the body as {}", media_types.join(" or ")),
        ));
    };
    let too_large = || {
        ApiError::new(
            413,
            "PAYLOAD_TOO_LARGE",
            format!("The body may be at most {limit} bytes"),
        )
    };
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| l.parse::<usize>().ok());
    if declared.is_some_and(|l| l > limit) {
        return Err(too_large());
    }
    let bytes = body.read(limit).await.map_err(|e| match e {
        BodyError::TooLarge => too_large(),
        BodyError::Unreadable => {
            ApiError::bad_request("INVALID_BODY", "The body could not be read")
        }
    })?;
    Ok((media_type, bytes))
}

/// The request body as `T`: JSON only, at most [`MAX_BODY_BYTES`], unknown fields refused.
pub async fn json_body<T: DeserializeOwned, B: RequestBody>(
    request: http::Request<B>,
) -> Result<T, ApiError> {
    let (_, bytes) = read_body(request, &["application/json"], MAX_BODY_BYTES).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(
            "INVALID_JSON",
            format!("Invalid JSON body: {}", json_problem(&e)),
        )
    })
}

/// Why a body did not read, as serde_json says it, less any value it quotes: a value of the
/// wrong type may be personal data (a consignee's phone sent as a number, a name and address
/// sent where an object belongs), and no answer repeats it. What was expected, the field
/// names, and the line and column stay. Syntax errors quote nothing.
pub(crate) fn json_problem(e: &serde_json::Error) -> String {
    let text = e.to_string();
    // serde names what it found, then quotes it (`…` or "…"), then says what it expected:
    // `invalid type: string "…", expected …`. The expectation follows the last ", expected ",
    // as a quoted value may hold the phrase too and this API's expectations never do.
    let quotes_a_value =
        e.is_data() && (text.starts_with("invalid ") || text.starts_with("unknown variant"));
    let quote = text.bytes().position(|b| b == b'`' || b == b'"');
    // Searched forwards: serde_json's own errors already bring that searcher into the wasm.
    let expected = text.match_indices(", expected ").last().map(|(at, _)| at);
    match (quote, expected) {
        (Some(quote), Some(expected)) if quotes_a_value && quote < expected => {
            [text[..quote].trim_end_matches(' '), &text[expected..]].concat()
        }
        _ => text,
    }
}

fn parse_time(field: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    utc::parse(text).ok_or_else(|| {
        ApiError::invalid(
            field,
            "expected an ISO-8601 time such as 2026-01-23T08:01:12Z",
        )
    })
}

/// `PUT /api/admin/orders/:orderId`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrderBody {
    customer_id: String,
    #[serde(default)]
    order_status: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    awb_no: Option<String>,
}

impl OrderBody {
    pub fn validate(self) -> Result<OrderInput, ApiError> {
        if !valid_id(&self.customer_id) {
            return Err(ApiError::invalid(
                "customerId",
                "1-64 characters: letters, digits, '.', '_' or '-'",
            ));
        }
        let order_status = self.order_status.unwrap_or_else(|| "Pending".into());
        if !ORDER_STATUSES.contains(&order_status.as_str()) {
            return Err(ApiError::invalid(
                "orderStatus",
                &format!("one of {}", ORDER_STATUSES.join(", ")),
            ));
        }
        if self.awb_no.as_deref().is_some_and(|a| !valid_awb(a)) {
            return Err(ApiError::invalid("awbNo", "9-12 digits"));
        }
        Ok(OrderInput {
            customer_id: self.customer_id,
            order_status,
            created_at: self
                .created_at
                .as_deref()
                .map(|t| parse_time("createdAt", t))
                .transpose()?,
            awb_no: self.awb_no,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConsigneeBody {
    name: String,
    address1: String,
    #[serde(default)]
    address2: String,
    #[serde(default)]
    address3: String,
    pincode: String,
    mobile: String,
}

fn default_pieces() -> u32 {
    1
}

/// A whole number written either way JSON allows: `89` or `89.0` (as some JSON encoders write
/// every number); `89.5` is refused.
fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let n = f64::deserialize(deserializer)?;
    if n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&n) {
        Ok(n as u32)
    } else {
        Err(serde::de::Error::invalid_value(
            serde::de::Unexpected::Float(n),
            &"a whole number",
        ))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenerateBody {
    consignee: ConsigneeBody,
    weight_kg: f64,
    #[serde(default = "default_pieces", deserialize_with = "whole_number")]
    pieces: u32,
    #[serde(default)]
    declared_value: f64,
    #[serde(default)]
    cod_amount: f64,
    #[serde(default)]
    product_code: Option<String>,
    #[serde(default)]
    pickup_at: Option<String>,
}

/// `POST /api/admin/shipment/:orderId/awb`: a waybill made elsewhere, or one to generate.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwbBody {
    #[serde(default)]
    pub awb_no: Option<String>,
    #[serde(default)]
    pub generate: Option<GenerateBody>,
}

fn digits(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_digit())
}

impl GenerateBody {
    pub fn validate(self, order_id: &str, now: DateTime<Utc>) -> Result<WaybillRequest, ApiError> {
        let c = self.consignee;
        let name = c.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 30 {
            return Err(ApiError::invalid(
                "generate.consignee.name",
                "1-30 characters",
            ));
        }
        if c.address1.trim().is_empty() {
            return Err(ApiError::invalid("generate.consignee.address1", "required"));
        }
        if !digits(&c.pincode, 6) {
            return Err(ApiError::invalid("generate.consignee.pincode", "6 digits"));
        }
        if !digits(&c.mobile, 10) {
            return Err(ApiError::invalid("generate.consignee.mobile", "10 digits"));
        }
        if !(self.weight_kg > 0.0 && self.weight_kg <= 1000.0) {
            return Err(ApiError::invalid(
                "generate.weightKg",
                "greater than 0, at most 1000",
            ));
        }
        if !(1..=99).contains(&self.pieces) {
            return Err(ApiError::invalid("generate.pieces", "1-99"));
        }
        if !(self.declared_value >= 0.0 && self.cod_amount >= 0.0) {
            return Err(ApiError::invalid(
                "generate.codAmount",
                "amounts cannot be negative",
            ));
        }
        let product_code = self.product_code.unwrap_or_else(|| "A".into());
        if !["A", "D", "E"].contains(&product_code.as_str()) {
            return Err(ApiError::invalid(
                "generate.productCode",
                "A (air), D (domestic priority) or E (surface)",
            ));
        }
        // The order id doubles as Blue Dart's CreditReferenceNo, which is at most 20 characters.
        if order_id.len() > 20 {
            return Err(ApiError::invalid(
                "orderId",
                "at most 20 characters to generate a waybill",
            ));
        }
        Ok(WaybillRequest {
            order_id: order_id.to_owned(),
            consignee: Consignee {
                name,
                address: [c.address1, c.address2, c.address3],
                pincode: c.pincode,
                mobile: c.mobile,
            },
            weight_kg: self.weight_kg,
            pieces: self.pieces,
            declared_value: self.declared_value,
            cod_amount: self.cod_amount,
            product_code,
            pickup_at: match self.pickup_at {
                Some(t) => parse_time("generate.pickupAt", &t)?,
                None => now,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::{Value, json};

    /// Whether a generate body, the basic one changed by `change`, passes for `order_id`.
    fn passes(order_id: &str, change: impl FnOnce(&mut Value)) -> bool {
        let mut body = json!({
            "consignee": {"name": "A B", "address1": "1 ROAD", "pincode": "682031",
                          "mobile": "9847012345"},
            "weightKg": 1.0,
        });
        change(&mut body);
        let body: GenerateBody = serde_json::from_value(body).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 1, 24, 10, 0, 0).unwrap();
        body.validate(order_id, now).is_ok()
    }

    #[test]
    fn generate_bodies_are_checked_at_their_bounds() {
        assert!(passes("ORD-1", |_| {}));
        assert!(passes("ORD-1", |b| b["consignee"]["name"] = json!("N".repeat(30))));
        assert!(!passes("ORD-1", |b| b["consignee"]["name"] = json!("N".repeat(31))));
        assert!(!passes("ORD-1", |b| b["weightKg"] = json!(0.0)));
        assert!(passes("ORD-1", |b| b["weightKg"] = json!(0.01)));
        assert!(passes("ORD-1", |b| b["weightKg"] = json!(1000.0)));
        assert!(!passes("ORD-1", |b| b["weightKg"] = json!(1000.01)));
        assert!(!passes("ORD-1", |b| b["codAmount"] = json!(-1.0)));
        assert!(!passes("ORD-1", |b| b["declaredValue"] = json!(-1.0)));
        assert!(passes(&"O".repeat(20), |_| {}));
        assert!(!passes(&"O".repeat(21), |_| {}));
    }

    /// What `json_problem` says about `body` read as an awb request.
    fn problem(body: &str) -> String {
        json_problem(
            &serde_json::from_str::<AwbBody>(body)
                .err()
                .expect("refused"),
        )
    }

    #[test]
    fn a_refused_body_is_described_without_the_values_it_holds() {
        let consignee =
            |value: &str| format!(r#"{{"generate": {{"consignee": {value}, "weightKg": 1.0}}}}"#);
        let mobile = consignee(
            r#"{"name": "ASHA MENON", "address1": "14 MARINE DRIVE", "pincode": "682031", "mobile": 9847012345}"#,
        );
        assert_eq!(
            problem(&mobile),
            "invalid type: integer, expected a string at line 1 column 122"
        );
        let flat = consignee(r#""ASHA MENON, 14 MARINE DRIVE, expected nothing""#);
        let said = problem(&flat);
        assert!(
            said.starts_with("invalid type: string, expected "),
            "{said}"
        );
        assert!(!said.contains("ASHA") && !said.contains("MARINE"), "{said}");
        // A value that JSON cannot be, and a variant's name: neither quoted.
        let pieces = r#"{"generate": {"consignee": {"name": "A", "address1": "B", "pincode": "411001", "mobile": "9000000000"}, "weightKg": 1.0, "pieces": 2.5}}"#;
        let said = problem(pieces);
        assert!(
            said.starts_with("invalid value: floating point, expected a whole number"),
            "{said}"
        );
        assert!(!said.contains("2.5"), "{said}");
        // What quotes no value is said as serde_json says it.
        assert_eq!(
            problem(r#"{"awbNo": "81234567890", "extra": 1}"#),
            "unknown field `extra`, expected `awbNo` or `generate` at line 1 column 32"
        );
        assert_eq!(
            problem(r#"{"generate": {"weightKg": 1.0}}"#),
            "missing field `consignee` at line 1 column 30"
        );
        assert_eq!(
            problem(r#"{"awbNo": "#),
            "EOF while parsing a value at line 1 column 10"
        );
    }

    #[test]
    fn an_unknown_variant_is_named_without_its_value() {
        #[derive(Debug, Deserialize)]
        enum Kind {
            Forward,
        }
        let e = serde_json::from_str::<Kind>(r#""9847012345""#).unwrap_err();
        assert_eq!(
            json_problem(&e),
            "unknown variant, expected `Forward` at line 1 column 12"
        );
    }

    #[test]
    fn one_piece_unless_said_otherwise() {
        let body: GenerateBody = serde_json::from_value(json!({
            "consignee": {"name": "A", "address1": "B", "pincode": "411001",
                          "mobile": "9000000000"},
            "weightKg": 1.0,
        }))
        .unwrap();
        let now = Utc.with_ymd_and_hms(2026, 1, 24, 10, 0, 0).unwrap();
        let request = body.validate("ORD-1", now).unwrap();
        assert_eq!(request.pieces, 1);
    }
}
