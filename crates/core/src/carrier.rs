//! What the tracking service needs from a carrier, and how a carrier call can fail.
#![allow(async_fn_in_trait)]

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::TrackingEvent;

/// A JSON document kept as text: the carrier's answer as received. Written into other JSON
/// (the D1 batch's rows) as it is, without being escaped into a string a second time.
#[derive(Clone, Debug)]
pub struct RawJson(String);

impl RawJson {
    /// `value` as JSON text.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> RawJson {
        RawJson(serde_json::to_string(value).expect("plain data always serialises"))
    }

    /// `text`, if it is one JSON document.
    pub fn parse(text: String) -> Result<RawJson, serde_json::Error> {
        serde_json::from_slice::<IgnoredAny>(text.as_bytes())?;
        Ok(RawJson(text))
    }

    /// `text` as a JSON writer of this workspace wrote it (`json_text`): taken as it is, as
    /// reading it again would cost as much as writing it (checked in debug builds).
    pub fn written(text: String) -> RawJson {
        debug_assert!(
            serde_json::from_str::<IgnoredAny>(&text).is_ok(),
            "not JSON: {text}"
        );
        RawJson(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RawJson {
    fn default() -> RawJson {
        RawJson("null".into())
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &RawJson) -> bool {
        self.as_str() == other.as_str()
    }
}

/// Travels as a JSON string: queue messages go through serialisers other than serde_json's,
/// and messages sent before the payload was kept raw read the same.
impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RawJson, D::Error> {
        RawJson::parse(String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// What the carrier said about one waybill (and its return waybill, if any). Serialisable: a
/// pushed update travels through a queue to the consumer that merges it.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CarrierUpdate {
    /// Oldest first.
    pub events: Vec<TrackingEvent>,
    #[serde(default, deserialize_with = "crate::utc::optional_day")]
    pub expected_delivery: Option<NaiveDate>,
    /// The carrier's answer for this waybill as received, personal data left out.
    pub payload: RawJson,
}

/// The answer to one tracking call, which may cover many waybills.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrackingReply {
    pub http_status: u16,
    /// One entry per waybill asked for; `None` where the carrier has no information.
    pub updates: Vec<(String, Option<CarrierUpdate>)>,
}

impl TrackingReply {
    pub fn update_of(&self, awb: &str) -> Option<&CarrierUpdate> {
        self.updates
            .iter()
            .find(|(w, _)| w == awb)
            .and_then(|(_, u)| u.as_ref())
    }

    /// Takes the update for `awb` out of the reply, looking at position `at` first: a reply
    /// lists the waybills in the order they were asked for, and a batch of 50 taking them one
    /// by one from the start compared a thousand waybills.
    pub fn take(&mut self, awb: &str, at: usize) -> Option<CarrierUpdate> {
        let at = match self.updates.get(at) {
            Some((w, _)) if w == awb => at,
            _ => self.updates.iter().position(|(w, _)| w == awb)?,
        };
        self.updates[at].1.take()
    }
}

/// The consignee for a new waybill: passed to the carrier, never stored or logged here.
#[derive(Clone, Debug, PartialEq)]
pub struct Consignee {
    pub name: String,
    pub address: [String; 3],
    pub pincode: String,
    pub mobile: String,
}

/// A request for a new waybill.
#[derive(Clone, Debug, PartialEq)]
pub struct WaybillRequest {
    /// Also the carrier's reference for it: unique per account.
    pub order_id: String,
    pub consignee: Consignee,
    pub weight_kg: f64,
    pub pieces: u32,
    pub declared_value: f64,
    /// Cash to collect on delivery; 0 for prepaid.
    pub cod_amount: f64,
    /// `A` air, `D` domestic priority, `E` surface.
    pub product_code: String,
    pub pickup_at: DateTime<Utc>,
}

/// Why a carrier call gave nothing usable. Each has a short message that is safe to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CarrierError {
    Timeout {
        ms: u64,
    },
    Connection,
    /// 5xx from the carrier.
    Unavailable {
        status: u16,
    },
    /// 429, with the carrier's `Retry-After` in seconds when it gave one.
    Throttled {
        retry_after_secs: Option<u64>,
    },
    /// The carrier refused our credentials (login, or 401/403 after a fresh login).
    Unauthorized {
        status: u16,
    },
    /// The account's licence key or login id does not match.
    Licence,
    /// An answer that is not the carrier's format: an HTML page, cut-off or broken XML, or a
    /// waybill number that is not one.
    UnreadableAnswer,
    /// An answer longer than the configured maximum; reading stopped there.
    TooLarge {
        max_bytes: usize,
    },
    /// Some other error the carrier named in its answer.
    Message(String),
    /// Another HTTP status the client does not expect.
    UnexpectedStatus {
        status: u16,
    },
    /// The carrier refused the request itself (waybill generation): its code and text.
    Refused {
        code: String,
        message: String,
    },
    /// Not tried: the circuit breaker is open after repeated failures.
    CircuitOpen {
        retry_after_secs: u64,
    },
}

impl CarrierError {
    /// Whether this failure says something about the carrier's health (the breaker counts it).
    /// A refusal of the request itself does not, nor does a call the breaker never made.
    pub fn counts_against_carrier(&self) -> bool {
        !matches!(
            self,
            CarrierError::Refused { .. } | CarrierError::CircuitOpen { .. }
        )
    }

    /// How long the carrier asked us to wait, if it did.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            CarrierError::Throttled { retry_after_secs } => *retry_after_secs,
            CarrierError::CircuitOpen { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// Whether trying again soon may help (as opposed to a configuration problem).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            CarrierError::Timeout { .. }
                | CarrierError::Connection
                | CarrierError::Unavailable { .. }
                | CarrierError::Throttled { .. }
                | CarrierError::UnreadableAnswer
        )
    }
}

impl fmt::Display for CarrierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CarrierError::Timeout { ms } => write!(f, "Blue Dart did not answer within {ms} ms"),
            CarrierError::Connection => f.write_str("Could not connect to Blue Dart"),
            CarrierError::Unavailable { status } => {
                write!(f, "Blue Dart is unavailable (HTTP {status})")
            }
            CarrierError::Throttled {
                retry_after_secs: Some(s),
            } => {
                write!(f, "Blue Dart is throttling requests (retry after {s} s)")
            }
            CarrierError::Throttled {
                retry_after_secs: None,
            } => f.write_str("Blue Dart is throttling requests"),
            CarrierError::Unauthorized { status } => {
                write!(f, "Blue Dart refused our credentials (HTTP {status})")
            }
            CarrierError::Licence => f.write_str("Blue Dart reported a licence mismatch"),
            CarrierError::UnreadableAnswer => {
                f.write_str("Blue Dart returned an unreadable answer")
            }
            CarrierError::TooLarge { max_bytes } => {
                write!(f, "Blue Dart's answer was larger than {max_bytes} bytes")
            }
            // Blue Dart's own text goes to logs (`detail`), not to callers.
            CarrierError::Message(_) => f.write_str("Blue Dart reported an error"),
            CarrierError::UnexpectedStatus { status } => {
                write!(f, "Blue Dart answered with HTTP {status}")
            }
            CarrierError::Refused { code, message } => {
                write!(
                    f,
                    "Blue Dart refused the request: {} ({})",
                    clip(message, 120),
                    clip(code, 60)
                )
            }
            CarrierError::CircuitOpen { retry_after_secs } => write!(
                f,
                "Blue Dart is temporarily unavailable (circuit open; retry in {retry_after_secs} s)"
            ),
        }
    }
}

/// What a customer is told when the carrier failed for a reason that is ours to fix, not theirs
/// to wait out: credentials, licence, an unexpected answer.
pub const CUSTOMER_GENERIC_ERROR: &str = "Blue Dart tracking is temporarily unavailable";

impl CarrierError {
    /// The short reason a customer may see: the carrier's availability (timeouts, outages,
    /// throttling, the circuit breaker) as it is, anything about our account or configuration
    /// (refused credentials, licence, unexpected statuses, redirects, oversized answers) as
    /// [`CUSTOMER_GENERIC_ERROR`]. Admins and logs get [`CarrierError::detail`].
    pub fn customer_message(&self) -> String {
        match self {
            CarrierError::Timeout { .. }
            | CarrierError::Connection
            | CarrierError::Unavailable { .. }
            | CarrierError::Throttled { .. }
            | CarrierError::UnreadableAnswer
            | CarrierError::CircuitOpen { .. } => self.to_string(),
            CarrierError::Unauthorized { .. }
            | CarrierError::Licence
            | CarrierError::Message(_)
            | CarrierError::UnexpectedStatus { .. }
            | CarrierError::TooLarge { .. }
            | CarrierError::Refused { .. } => CUSTOMER_GENERIC_ERROR.to_owned(),
        }
    }

    /// The message plus what the carrier itself said, for logs only.
    pub fn detail(&self) -> String {
        match self {
            CarrierError::Message(m) => format!("{self}: {}", clip(m, 120)),
            _ => self.to_string(),
        }
    }
}

/// At most `max` characters of a carrier-supplied text.
fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// A carrier.
pub trait Carrier {
    /// Tracks many waybills in one call.
    async fn track(&self, awbs: &[String]) -> Result<TrackingReply, CarrierError>;
    /// Books a shipment and returns its new waybill number.
    async fn generate_waybill(&self, request: &WaybillRequest) -> Result<String, CarrierError>;
}

/// A borrowed carrier is a carrier (a guard can wrap one it does not own).
impl<C: Carrier> Carrier for &C {
    async fn track(&self, awbs: &[String]) -> Result<TrackingReply, CarrierError> {
        (**self).track(awbs).await
    }

    async fn generate_waybill(&self, request: &WaybillRequest) -> Result<String, CarrierError> {
        (**self).generate_waybill(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_gives_each_waybill_its_own_update() {
        let update = |payload: &str| CarrierUpdate {
            events: vec![],
            expected_delivery: None,
            payload: RawJson::of(payload),
        };
        let reply = TrackingReply {
            http_status: 200,
            updates: vec![
                ("111".into(), Some(update("a"))),
                ("222".into(), Some(update("b"))),
                ("333".into(), None),
            ],
        };
        assert_eq!(
            reply.update_of("222").map(|u| u.payload.as_str()),
            Some("\"b\"")
        );
        assert_eq!(
            reply.update_of("111").map(|u| u.payload.as_str()),
            Some("\"a\"")
        );
        assert_eq!(reply.update_of("333"), None);
        assert_eq!(reply.update_of("444"), None);
        // Taken once, at the position given or wherever it is.
        let mut reply = reply;
        let payload = |u: Option<CarrierUpdate>| u.map(|u| u.payload.as_str().to_owned());
        assert_eq!(payload(reply.take("222", 1)), Some("\"b\"".into()));
        assert_eq!(payload(reply.take("222", 1)), None);
        assert_eq!(payload(reply.take("111", 2)), Some("\"a\"".into()));
        assert_eq!(payload(reply.take("444", 9)), None);
        assert_eq!(payload(reply.take("333", 2)), None);
        // A waybill listed twice: the one at the position given.
        let mut twice = TrackingReply {
            http_status: 200,
            updates: vec![
                ("111".into(), Some(update("a"))),
                ("111".into(), Some(update("b"))),
            ],
        };
        assert_eq!(payload(twice.take("111", 1)), Some("\"b\"".into()));
        assert_eq!(payload(twice.take("111", 0)), Some("\"a\"".into()));
    }

    #[test]
    fn a_payload_travels_as_a_string_and_reads_back_whole() {
        let payload = RawJson::of(&serde_json::json!([{"WaybillNo": "111", "Scans": []}]));
        let update = CarrierUpdate {
            payload: payload.clone(),
            ..CarrierUpdate::default()
        };
        let message = serde_json::to_value(&update).unwrap();
        assert_eq!(message["payload"], r#"[{"WaybillNo":"111","Scans":[]}]"#);
        let back: CarrierUpdate = serde_json::from_value(message.clone()).unwrap();
        assert_eq!(back.payload, payload);
        assert_ne!(back.payload, RawJson::of(&serde_json::json!([])));
        let mut broken = message;
        broken["payload"] = "[{\"WaybillNo\"".into();
        assert!(serde_json::from_value::<CarrierUpdate>(broken).is_err());
    }

    #[test]
    fn an_open_circuit_says_when_to_try_again() {
        assert_eq!(
            CarrierError::CircuitOpen {
                retry_after_secs: 30
            }
            .retry_after_secs(),
            Some(30)
        );
    }

    #[test]
    fn messages_are_short_and_name_the_cause() {
        assert_eq!(
            CarrierError::Timeout { ms: 5000 }.to_string(),
            "Blue Dart did not answer within 5000 ms"
        );
        assert_eq!(
            CarrierError::Unavailable { status: 503 }.to_string(),
            "Blue Dart is unavailable (HTTP 503)"
        );
        let carrier_text = CarrierError::Message("x".repeat(1000));
        assert_eq!(carrier_text.to_string(), "Blue Dart reported an error");
        assert!(carrier_text.detail().len() < 160);
    }

    #[test]
    fn customers_are_not_told_about_our_credentials_or_licence() {
        for error in [
            CarrierError::Unauthorized { status: 401 },
            CarrierError::Licence,
            CarrierError::Message("Invalid LoginID DEVLOGIN".into()),
            CarrierError::UnexpectedStatus { status: 302 },
            CarrierError::TooLarge { max_bytes: 65536 },
        ] {
            assert_eq!(
                error.customer_message(),
                CUSTOMER_GENERIC_ERROR,
                "{error:?}"
            );
            assert_ne!(
                error.to_string(),
                CUSTOMER_GENERIC_ERROR,
                "admins see the cause"
            );
        }
        // Blue Dart's own availability is no secret, and tells the customer to wait.
        assert_eq!(
            CarrierError::Timeout { ms: 1000 }.customer_message(),
            "Blue Dart did not answer within 1000 ms"
        );
        assert_eq!(
            CarrierError::Unavailable { status: 503 }.customer_message(),
            "Blue Dart is unavailable (HTTP 503)"
        );
    }

    #[test]
    fn configuration_problems_are_not_transient() {
        assert!(CarrierError::Timeout { ms: 1 }.is_transient());
        assert!(CarrierError::UnreadableAnswer.is_transient());
        assert!(!CarrierError::Licence.is_transient());
        assert!(!CarrierError::Unauthorized { status: 401 }.is_transient());
        assert!(
            !CarrierError::CircuitOpen {
                retry_after_secs: 5
            }
            .is_transient()
        );
        assert!(CarrierError::Licence.counts_against_carrier());
        assert!(
            !CarrierError::CircuitOpen {
                retry_after_secs: 5
            }
            .counts_against_carrier()
        );
    }
}
