//! Signed webhooks (Standard Webhooks) on status changes: the endpoints stores register, the
//! events a status change makes (with ids derived from the change, so that a re-sync or a
//! redelivered queue message records nothing twice), the delivery queue's message and port,
//! the retry rules, and the services over them (`service`).
#![allow(async_fn_in_trait)]

pub mod delivery;
pub mod service;
pub mod sign;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::model::{Snapshot, Status, TrackingEvent, iso};
use crate::ports::StoreError;

/// Every change of the normalised status.
pub const STATUS_CHANGED: &str = "shipment.status_changed";
/// What the test endpoint sends.
pub const PING: &str = "ping";

/// The event types an endpoint may ask for.
pub const EVENT_TYPES: &[&str] = &[
    STATUS_CHANGED,
    "shipment.out_for_delivery",
    "shipment.delivered",
    "shipment.delivery_failed",
    "shipment.exception",
    "shipment.returned",
    "shipment.lost",
];

/// The event type of its own a new status has, besides `shipment.status_changed`.
pub fn specific_type(status: Status) -> Option<&'static str> {
    match status {
        Status::OutForDelivery => Some("shipment.out_for_delivery"),
        Status::Delivered => Some("shipment.delivered"),
        Status::FailedAttempt => Some("shipment.delivery_failed"),
        Status::Exception => Some("shipment.exception"),
        Status::Returned => Some("shipment.returned"),
        Status::Lost => Some("shipment.lost"),
        _ => None,
    }
}

/// A store's endpoint. The secrets are never serialised: they are shown once, on creation and
/// on rotation.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why the service disabled it (an endpoint that kept failing); `None` when an admin did.
    pub disabled_reason: Option<String>,
    /// Since when every delivery to it has failed.
    pub failing_since: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub secret: String,
    /// The secret before the last rotation, still signed with until `previous_secret_expires_at`.
    #[serde(skip)]
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Endpoint {
    /// The secrets a message sent at `now` is signed with: the current one, and the previous
    /// one while it is still valid.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) =
            (&self.previous_secret, self.previous_secret_expires_at)
            && now < until
        {
            secrets.push(previous);
        }
        secrets
    }
}

/// One webhook message as recorded (the outbox): its id (`webhook-id`, the same on every
/// attempt and replay), type, and the body sent.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookEvent {
    pub id: String,
    pub kind: String,
    /// The order it is about (`None`: a ping).
    pub order_id: Option<String>,
    /// Where it falls among its order's messages, as text that sorts: the event's recency
    /// (`TrackingEvent::recency`: the booked entry first, then event time). An endpoint gets an
    /// order's messages in this order.
    pub sequence: String,
    pub payload: String,
}

/// The id of a status change's message of type `kind`: derived from the order, waybill, new
/// status and event time, so that the same change always gets the same id.
pub fn event_id(
    order_id: &str,
    awb: &str,
    status: Status,
    at: DateTime<Utc>,
    kind: &str,
) -> String {
    let digest = sign::digest_hex(&[order_id, awb, status.as_str(), &iso(at), kind], 32);
    format!("msg_{digest}")
}

/// A message's place among its order's: carrier events after the booked entry, then by time.
fn sequence(event: &TrackingEvent) -> String {
    let (from_carrier, at) = event.recency();
    format!("{}{}", u8::from(from_carrier), iso(at))
}

fn status_json(event: Option<&TrackingEvent>) -> serde_json::Value {
    match event {
        Some(e) => json!({"statusCode": e.status, "status": e.status.customer_text()}),
        None => json!({"statusCode": null, "status": null}),
    }
}

fn event_json(e: &TrackingEvent) -> serde_json::Value {
    json!({
        "status": e.status.customer_text(),
        "statusCode": e.status,
        "description": e.description,
        "location": e.location,
        "eventDate": iso(e.event_at),
    })
}

/// The messages the changes of the normalised status from `previous` to `after`'s latest make:
/// one change per new event (of `new_events`, in event-time order, up to the latest) whose
/// status differs from the one before it, each with `shipment.status_changed` and the new
/// status's own type, if it has one. None when the status stayed. The payload carries no
/// consignee data: only the order, the waybill and the tracking the customer sees.
pub fn status_events(
    previous: Option<&TrackingEvent>,
    after: &Snapshot,
    new_events: &[TrackingEvent],
    now: DateTime<Utc>,
) -> Vec<WebhookEvent> {
    let Some(latest) = after.latest.as_ref() else {
        return Vec::new();
    };
    let mut steps: Vec<&TrackingEvent> = new_events
        .iter()
        .filter(|e| previous.is_none_or(|p| e.recency() > p.recency()))
        .filter(|e| e.recency() < latest.recency())
        .collect();
    crate::sorting::sort_by_key(&mut steps, |e| e.recency());
    steps.push(latest);
    let mut messages = Vec::new();
    let mut before = previous;
    for step in steps {
        if before.map(|p| p.status) != Some(step.status) {
            messages.extend(change_events(before, step, after, now));
            before = Some(step);
        }
    }
    messages
}

/// The messages of one change, to `current` from `previous`, of `after`'s order.
fn change_events(
    previous: Option<&TrackingEvent>,
    current: &TrackingEvent,
    after: &Snapshot,
    now: DateTime<Utc>,
) -> Vec<WebhookEvent> {
    let order = &after.order;
    let Some(awb) = order.awb_no.as_deref() else {
        return Vec::new();
    };
    let data = json!({
        "orderId": order.id,
        "awbNo": awb,
        "courier": order.courier,
        "previous": status_json(previous),
        "current": status_json(Some(current)),
        "tracking": {
            "status": current.status.customer_text(),
            "statusCode": current.status,
            "description": current.description,
            "location": current.location,
            "eventDate": iso(current.event_at),
            "lastSyncedAt": order.last_synced_at.map(iso),
        },
        "latestEvent": event_json(current),
        "expectedDeliveryDate": order.expected_delivery_date,
    });
    std::iter::once(STATUS_CHANGED)
        .chain(specific_type(current.status))
        .map(|kind| WebhookEvent {
            id: event_id(&order.id, awb, current.status, current.event_at, kind),
            kind: kind.to_owned(),
            order_id: Some(order.id.clone()),
            sequence: sequence(current),
            payload: json!({"type": kind, "timestamp": iso(now), "data": data}).to_string(),
        })
        .collect()
}

/// A ping to one endpoint, with a fresh id.
pub fn ping(id: String, now: DateTime<Utc>) -> WebhookEvent {
    WebhookEvent {
        payload: json!({"type": PING, "timestamp": iso(now), "data": {"webhookId": id}})
            .to_string(),
        id,
        kind: PING.to_owned(),
        order_id: None,
        sequence: iso(now),
    }
}

/// The delivery queue's message: deliver this delivery, whose attempts so far were `attempt`
/// (a message from before a later attempt or a replay is stale and dropped).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryMessage {
    pub delivery: i64,
    #[serde(default)]
    pub attempt: u32,
}

/// Sends delivery messages (Workers: the `webhook-deliveries` queue).
pub trait WebhookQueue {
    /// Sends `messages`, each delivered no sooner than `delay_secs` from now.
    async fn send(&self, messages: &[DeliveryMessage], delay_secs: u32) -> Result<(), StoreError>;
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its first attempt or a retry.
    Pending,
    Delivered,
    /// Out of attempts, or refused with a 4xx that is not worth retrying.
    Failed,
    /// Its endpoint was disabled before it went.
    Skipped,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
            DeliveryState::Skipped => "skipped",
        }
    }

    pub fn parse(text: &str) -> Option<DeliveryState> {
        crate::model::from_name(text)
    }
}

/// One attempt at a delivery, as admins see it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub attempt: u32,
    pub at: DateTime<Utc>,
    pub http_status: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<String>,
    pub next_retry_at: Option<DateTime<Utc>>,
}

/// A message's delivery to one endpoint, with its attempts (oldest first).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub order_id: Option<String>,
    pub state: DeliveryState,
    pub attempts: Vec<Attempt>,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Everything one attempt needs: the delivery, its message and its endpoint, and whether an
/// earlier message of the same order to the same endpoint is still pending (then this one
/// waits, so that an endpoint sees an order's changes in order).
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryJob {
    pub delivery: i64,
    pub state: DeliveryState,
    pub attempts: u32,
    /// Attempts made before its last replay (a replay gets a fresh set of retries).
    pub replayed_after: u32,
    pub event: WebhookEvent,
    pub endpoint: Endpoint,
    pub earlier_pending: bool,
}

/// What one attempt changes: its record, the delivery's state, and the endpoint's health.
#[derive(Clone, Debug, PartialEq)]
pub struct AttemptRecord {
    pub delivery: i64,
    pub endpoint_id: String,
    /// `None` when nothing was sent (the endpoint was disabled).
    pub attempt: Option<Attempt>,
    pub state: DeliveryState,
    /// The endpoint's `failing_since` from now on (`None`: it is healthy).
    pub failing_since: Option<DateTime<Utc>>,
    /// Set when this failure disables the endpoint: why.
    pub disable: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_order;
    use chrono::TimeZone;

    fn snapshot(status: Status, at: DateTime<Utc>) -> Snapshot {
        let event = TrackingEvent {
            status,
            ..TrackingEvent::booked("111", at)
        };
        Snapshot {
            order: test_order(at),
            latest: Some(event.clone()),
            events: vec![event],
        }
    }

    #[test]
    fn a_status_change_makes_its_general_and_its_own_event_with_stable_ids() {
        let at = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
        let before = snapshot(Status::OutForDelivery, at);
        let after = snapshot(Status::Delivered, at + chrono::Duration::hours(2));
        let events = status_events(before.latest.as_ref(), &after, &[], at);
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, [STATUS_CHANGED, "shipment.delivered"]);
        assert_ne!(events[0].id, events[1].id);
        // Later, the same change again: the same ids (the store records them once).
        let again = status_events(
            before.latest.as_ref(),
            &after,
            &[],
            at + chrono::Duration::days(1),
        );
        assert_eq!(again[0].id, events[0].id);
        assert!(events[0].id.starts_with("msg_") && events[0].id.len() == 36);
        let body: serde_json::Value = serde_json::from_str(&events[1].payload).unwrap();
        assert_eq!(body["type"], "shipment.delivered");
        assert_eq!(body["data"]["previous"]["statusCode"], "out_for_delivery");
        assert_eq!(body["data"]["current"]["statusCode"], "delivered");
        assert_eq!(body["data"]["orderId"], "ORD-1");
        assert_eq!(body["data"]["awbNo"], "111");
        assert_eq!(
            body["data"]["latestEvent"]["eventDate"],
            "2026-11-24T12:00:00Z"
        );
    }

    /// Each status's own event type, the whole table: a store subscribes by these names.
    #[test]
    fn every_status_has_its_own_event_type_or_none() {
        let table: Vec<(Status, Option<&str>)> = Status::ALL
            .iter()
            .map(|s| (*s, specific_type(*s)))
            .collect();
        assert_eq!(
            table,
            [
                (Status::Pending, None),
                (Status::InfoReceived, None),
                (Status::InTransit, None),
                (Status::OutForDelivery, Some("shipment.out_for_delivery")),
                (Status::FailedAttempt, Some("shipment.delivery_failed")),
                (Status::Exception, Some("shipment.exception")),
                (Status::Delivered, Some("shipment.delivered")),
                (Status::Returning, None),
                (Status::Returned, Some("shipment.returned")),
                (Status::Lost, Some("shipment.lost")),
            ]
        );
        for (_, kind) in table {
            assert!(kind.is_none_or(|k| EVENT_TYPES.contains(&k)));
        }
    }

    /// The names delivery states are stored under, read back; nothing else reads as one.
    #[test]
    fn delivery_states_are_stored_by_name_and_read_back() {
        for (state, name) in [
            (DeliveryState::Pending, "pending"),
            (DeliveryState::Delivered, "delivered"),
            (DeliveryState::Failed, "failed"),
            (DeliveryState::Skipped, "skipped"),
        ] {
            assert_eq!(state.as_str(), name);
            assert_eq!(DeliveryState::parse(name), Some(state));
        }
        assert_eq!(DeliveryState::parse("sent"), None);
    }

    /// Events at the same moment as the stored latest, or as the new latest, are no steps of
    /// their own: only the new latest's status is announced.
    #[test]
    fn events_tied_with_the_stored_or_the_new_latest_are_no_changes_of_their_own() {
        let at = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
        let event = |status, hours, code: &str| TrackingEvent {
            status,
            scan_code: code.into(),
            ..TrackingEvent::booked("111", at + chrono::Duration::hours(hours))
        };
        let previous = event(Status::InTransit, 0, "A");
        let latest = event(Status::Delivered, 3, "D");
        let after = Snapshot {
            latest: Some(latest.clone()),
            ..snapshot(Status::Delivered, at)
        };
        let new = [
            latest.clone(),
            event(Status::Exception, 0, "X"),
            event(Status::OutForDelivery, 3, "O"),
        ];
        let kinds: Vec<String> = status_events(Some(&previous), &after, &new, at)
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds, [STATUS_CHANGED, "shipment.delivered"]);
    }

    #[test]
    fn every_new_status_of_one_reply_makes_its_own_change_in_event_time_order() {
        let at = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
        let event = |status, hours| TrackingEvent {
            status,
            scan_code: format!("S{hours}"),
            ..TrackingEvent::booked("111", at + chrono::Duration::hours(hours))
        };
        let carrier = |status, hours| {
            let mut s = snapshot(status, at);
            s.latest = Some(event(status, hours));
            s
        };
        let before = carrier(Status::InTransit, 0);
        let after = carrier(Status::Delivered, 3);
        // The reply's new events, newest first as carriers list them; a second scan with the
        // same status is no change; an event from before the stored latest is none either.
        let new = [
            after.latest.clone().unwrap(),
            event(Status::OutForDelivery, 2),
            event(Status::OutForDelivery, 1),
            event(Status::Exception, -1),
        ];
        let events = status_events(before.latest.as_ref(), &after, &new, at);
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                STATUS_CHANGED,
                "shipment.out_for_delivery",
                STATUS_CHANGED,
                "shipment.delivered"
            ]
        );
        let body =
            |i: usize| -> serde_json::Value { serde_json::from_str(&events[i].payload).unwrap() };
        assert_eq!(body(0)["data"]["previous"]["statusCode"], "in_transit");
        assert_eq!(body(0)["data"]["current"]["statusCode"], "out_for_delivery");
        assert_eq!(
            body(0)["data"]["latestEvent"]["eventDate"],
            "2026-11-24T11:00:00Z"
        );
        assert_eq!(
            body(2)["data"]["previous"]["statusCode"],
            "out_for_delivery"
        );
        assert_eq!(body(2)["data"]["current"]["statusCode"], "delivered");
        assert!(events[0].sequence < events[2].sequence);
        // Each change has its own id, the same whenever it is computed again.
        let again = status_events(
            before.latest.as_ref(),
            &after,
            &new,
            at + chrono::Duration::days(1),
        );
        let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, again.iter().map(|e| e.id.as_str()).collect::<Vec<_>>());
        assert_eq!(
            ids.iter().collect::<std::collections::BTreeSet<_>>().len(),
            4
        );
    }

    #[test]
    fn no_event_when_the_status_stays_and_only_the_general_one_for_plain_statuses() {
        let at = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
        let before = snapshot(Status::InTransit, at);
        let later = snapshot(Status::InTransit, at + chrono::Duration::hours(1));
        assert!(status_events(before.latest.as_ref(), &later, &[], at).is_empty());
        let booked = status_events(None, &snapshot(Status::InfoReceived, at), &[], at);
        assert_eq!(booked.len(), 1);
        let body: serde_json::Value = serde_json::from_str(&booked[0].payload).unwrap();
        assert_eq!(
            body["data"]["previous"]["statusCode"],
            serde_json::Value::Null
        );
    }

    #[test]
    fn the_previous_secret_signs_only_until_it_expires() {
        let at = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
        let endpoint = Endpoint {
            id: "ep_1".into(),
            url: "https://example.com/hook".into(),
            description: None,
            event_types: vec![STATUS_CHANGED.into()],
            enabled: true,
            disabled_reason: None,
            failing_since: None,
            secret: "whsec_new".into(),
            previous_secret: Some("whsec_old".into()),
            previous_secret_expires_at: Some(at + chrono::Duration::hours(24)),
            created_at: at,
            updated_at: at,
        };
        assert_eq!(endpoint.signing_secrets(at), ["whsec_new", "whsec_old"]);
        assert_eq!(
            endpoint.signing_secrets(at + chrono::Duration::hours(24)),
            ["whsec_new"]
        );
        let shown = serde_json::to_string(&endpoint).unwrap();
        assert!(!shown.contains("whsec_"), "{shown}");
    }
}
