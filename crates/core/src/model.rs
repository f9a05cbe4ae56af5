//! What the service knows about an order and its shipment, independent of any carrier format.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::utc;

/// An enum from the name it is serialised under, read by serde's own string deserializer: a
/// `serde_json::Value` in between brought `Value`'s deserializer into the wasm (kilobytes, for
/// a lookup).
pub fn from_name<'a, T: Deserialize<'a>>(name: &'a str) -> Option<T> {
    T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(name)).ok()
}

/// The normalised shipment status: a small set every carrier's codes map onto.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    InfoReceived,
    InTransit,
    OutForDelivery,
    FailedAttempt,
    Exception,
    Delivered,
    Returning,
    Returned,
    /// Lost, destroyed, confiscated or cancelled: closed without delivery.
    Lost,
}

impl Status {
    /// Every status, in the order a shipment usually meets them.
    pub const ALL: [Status; 10] = [
        Status::Pending,
        Status::InfoReceived,
        Status::InTransit,
        Status::OutForDelivery,
        Status::FailedAttempt,
        Status::Exception,
        Status::Delivered,
        Status::Returning,
        Status::Returned,
        Status::Lost,
    ];

    /// What a customer reads.
    pub fn customer_text(self) -> &'static str {
        match self {
            Status::Pending => "Pending",
            Status::InfoReceived => "Booked",
            Status::InTransit => "In Transit",
            Status::OutForDelivery => "Out for Delivery",
            Status::FailedAttempt => "Delivery Attempted",
            Status::Exception => "Delayed",
            Status::Delivered => "Delivered",
            Status::Returning => "Returning to Sender",
            Status::Returned => "Returned to Sender",
            Status::Lost => "Lost or Cancelled",
        }
    }

    /// End states: nothing the carrier says later moves a shipment out of them.
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Delivered | Status::Returned | Status::Lost)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::InfoReceived => "info_received",
            Status::InTransit => "in_transit",
            Status::OutForDelivery => "out_for_delivery",
            Status::FailedAttempt => "failed_attempt",
            Status::Exception => "exception",
            Status::Delivered => "delivered",
            Status::Returning => "returning",
            Status::Returned => "returned",
            Status::Lost => "lost",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        from_name(text)
    }

    /// The order-level shipping status this shipment status implies.
    pub fn shipping_status(self) -> ShippingStatus {
        match self {
            Status::Pending => ShippingStatus::Pending,
            Status::Delivered => ShippingStatus::Delivered,
            Status::Returned => ShippingStatus::Returned,
            Status::Lost => ShippingStatus::Lost,
            _ => ShippingStatus::InTransit,
        }
    }
}

/// The order's shipping status, as the store's systems name it. Only `In-Transit` orders are
/// synced; the others are end states (or not shipped yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShippingStatus {
    Pending,
    #[serde(rename = "In-Transit")]
    InTransit,
    Delivered,
    Returned,
    Lost,
}

impl ShippingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ShippingStatus::Pending => "Pending",
            ShippingStatus::InTransit => "In-Transit",
            ShippingStatus::Delivered => "Delivered",
            ShippingStatus::Returned => "Returned",
            ShippingStatus::Lost => "Lost",
        }
    }

    pub fn parse(text: &str) -> Option<ShippingStatus> {
        from_name(text)
    }
}

/// Order statuses the store's order system may set.
pub const ORDER_STATUSES: &[&str] = &[
    "Pending",
    "Processing",
    "Shipped",
    "Delivered",
    "Cancelled",
    "Returned",
];

/// An order as the tracking service keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: String,
    pub customer_id: String,
    pub order_status: String,
    pub shipping_status: ShippingStatus,
    pub awb_no: Option<String>,
    pub courier: String,
    pub shipping_error: Option<String>,
    #[serde(default, deserialize_with = "crate::utc::optional_day")]
    pub expected_delivery_date: Option<NaiveDate>,
    #[serde(deserialize_with = "utc::time")]
    pub created_at: DateTime<Utc>,
    #[serde(deserialize_with = "utc::time")]
    pub updated_at: DateTime<Utc>,
    #[serde(default, deserialize_with = "utc::optional_time")]
    pub last_synced_at: Option<DateTime<Utc>>,
    pub last_sync_error: Option<String>,
    /// When the sync next asks the carrier about this shipment; `None`: as soon as it can.
    #[serde(default, deserialize_with = "utc::optional_time")]
    pub next_check_at: Option<DateTime<Utc>>,
    /// When a sync last brought a new scan (or the waybill was attached).
    #[serde(default, deserialize_with = "utc::optional_time")]
    pub last_progress_at: Option<DateTime<Utc>>,
    /// Set when the shipment stayed quiet so long that the sync stopped asking about it.
    #[serde(default, deserialize_with = "utc::optional_time")]
    pub polling_stopped_at: Option<DateTime<Utc>>,
    /// Moved by every write that changes what a merge carries over from the order (its
    /// tracking as [`Snapshot::same_tracking`] sees it, and what intake sets), so that a save
    /// planned from a copy (KV's) can be made to hold only if the order is still at the copy's
    /// version. It starts at 1, so that a KV copy written before versions existed (read as 0)
    /// never passes for D1's state. Never shown: answers are built field by field.
    #[serde(default)]
    pub version: u64,
}

/// Where an event happened. `facility` is the carrier's name for the place, tidied for reading;
/// `city` and `state` are empty unless known (a facility is not always named after its city).
/// City, state and country mostly come from a carrier's place table: borrowed from it, not
/// copied for every event a sync reads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    #[serde(default)]
    pub facility: String,
    pub city: Cow<'static, str>,
    pub state: Cow<'static, str>,
    pub country: Cow<'static, str>,
}

/// Whether `awb` looks like a Blue Dart waybill number: 9–12 digits (Blue Dart publishes no
/// check digit). Applied to waybills admins send and to those Blue Dart generates, before
/// either is stored.
pub fn valid_awb(awb: &str) -> bool {
    (9..=12).contains(&awb.len()) && awb.bytes().all(|b| b.is_ascii_digit())
}

/// The `scan_code` of the entry the service itself writes when a waybill is attached.
pub const BOOKED_CODE: &str = "BOOKED";

/// One event in a shipment's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackingEvent {
    pub awb_no: String,
    /// The carrier's own status text, whitespace tidied.
    pub carrier_status: String,
    pub status: Status,
    pub description: String,
    /// Identifies the event together with waybill, time and place key: `S/002`, `T/000`, or for
    /// payloads without codes a key made from the scan type and text.
    pub scan_code: String,
    pub location: Location,
    #[serde(deserialize_with = "utc::time")]
    pub event_at: DateTime<Utc>,
    /// The place part of the event's identity (see `bluedart_tracking::location::place_key`).
    #[serde(default)]
    pub place_key: String,
}

impl TrackingEvent {
    /// The entry written when a waybill is attached, before the carrier has said anything.
    pub fn booked(awb_no: &str, at: DateTime<Utc>) -> TrackingEvent {
        TrackingEvent {
            awb_no: awb_no.to_owned(),
            carrier_status: "BOOKED".into(),
            status: Status::InfoReceived,
            description: "Shipment booked with Blue Dart".into(),
            scan_code: BOOKED_CODE.into(),
            location: Location {
                country: "IN".into(),
                ..Location::default()
            },
            event_at: at,
            place_key: String::new(),
        }
    }

    /// Whether the carrier reported this event (rather than the service writing it).
    pub fn is_from_carrier(&self) -> bool {
        self.scan_code != BOOKED_CODE
    }

    /// Ordering for "which event is newer": any carrier event outranks the service's own booked
    /// entry, which always starts the history; then time decides.
    pub fn recency(&self) -> (bool, DateTime<Utc>) {
        (self.is_from_carrier(), self.event_at)
    }

    /// The identity the store keeps events unique on. Its time comes first: compared for
    /// equality between every event of an answer and the stored ones, it tells most apart,
    /// while the waybill is the same for all of them.
    pub fn identity(&self) -> (DateTime<Utc>, &str, &str, &str) {
        (
            self.event_at,
            &self.awb_no,
            &self.scan_code,
            &self.place_key,
        )
    }
}

/// Everything needed to answer a track request: what KV caches per order and what D1 can
/// rebuild at any time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub order: Order,
    pub latest: Option<TrackingEvent>,
    /// Oldest first.
    pub events: Vec<TrackingEvent>,
}

/// `2026-01-24T03:42:00Z`: how every time is written (D1, KV, answers).
pub fn iso(at: DateTime<Utc>) -> String {
    crate::utc::write(at)
}

/// Where an answer's data came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// From the cache, as asked.
    Cached,
    /// Fetched from the carrier just now.
    Live,
    /// The carrier call failed (the short, safe reason); from the cache instead.
    LiveFailed(String),
    /// A live refresh was asked for too soon after the last one; from the cache, with when to
    /// try again.
    RefreshLimited { retry_after_secs: u64 },
}

/// An in-transit order with waybill `111`, created at `at`: the unit tests' fixture.
#[cfg(any(test, feature = "testing"))]
pub fn test_order(at: DateTime<Utc>) -> Order {
    Order {
        id: "ORD-1".into(),
        customer_id: "cust-1".into(),
        order_status: "Shipped".into(),
        shipping_status: ShippingStatus::InTransit,
        awb_no: Some("111".into()),
        courier: "bluedart".into(),
        shipping_error: None,
        expected_delivery_date: None,
        created_at: at,
        updated_at: at,
        last_synced_at: None,
        last_sync_error: None,
        next_check_at: None,
        last_progress_at: None,
        polling_stopped_at: None,
        version: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words customers read, as the README's status list gives them.
    #[test]
    fn every_status_has_its_customer_words_and_its_order_status() {
        let words: Vec<&str> = Status::ALL.iter().map(|s| s.customer_text()).collect();
        assert_eq!(
            words,
            [
                "Pending",
                "Booked",
                "In Transit",
                "Out for Delivery",
                "Delivery Attempted",
                "Delayed",
                "Delivered",
                "Returning to Sender",
                "Returned to Sender",
                "Lost or Cancelled",
            ]
        );
        assert_eq!(Status::Pending.shipping_status(), ShippingStatus::Pending);
        assert_eq!(
            Status::Exception.shipping_status(),
            ShippingStatus::InTransit
        );
        for status in [
            ShippingStatus::Pending,
            ShippingStatus::InTransit,
            ShippingStatus::Delivered,
            ShippingStatus::Returned,
            ShippingStatus::Lost,
        ] {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert_eq!(
            ShippingStatus::parse("In-Transit"),
            Some(ShippingStatus::InTransit)
        );
        assert_eq!(ShippingStatus::parse("in transit"), None);
    }

    #[test]
    fn only_delivered_returned_and_lost_are_terminal() {
        assert!(Status::Delivered.is_terminal());
        assert!(Status::Returned.is_terminal());
        assert!(Status::Lost.is_terminal());
        assert!(!Status::Returning.is_terminal());
        assert!(!Status::FailedAttempt.is_terminal());
        assert_eq!(
            Status::Returning.shipping_status(),
            ShippingStatus::InTransit
        );
        assert_eq!(Status::Lost.shipping_status(), ShippingStatus::Lost);
    }
}
