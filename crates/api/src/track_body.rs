//! The track endpoint's body: the original design's fields first (`success`, `orderId`, …,
//! `dataSource`), then additions. Built only from customer-safe data: no consignee details, no
//! carrier payload (admins get that separately).

use chrono::NaiveDate;
use serde::Serialize;

use tracking_core::model::{
    Location, ShippingStatus, Snapshot, Source, Status, TrackingEvent, iso,
};
use tracking_core::service::CachedView;

use crate::conditional::etag;

pub const MESSAGE_SHOWING_CACHED: &str = "Live tracking unavailable. Showing cached data.";
pub const MESSAGE_NO_CACHED: &str = "Live tracking unavailable. No cached data.";
pub const MESSAGE_REFRESH_LIMITED: &str =
    "Tracking was refreshed moments ago. Showing cached data.";
pub const MESSAGE_CARRIER_HAS_NOTHING: &str =
    "Blue Dart has no tracking information for this waybill yet.";
pub const MESSAGE_NO_UPDATE: &str =
    "No update from Blue Dart for a long time. Showing the last known status.";

#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DataSource {
    pub is_live: bool,
    pub is_cached: bool,
    pub unavailable: bool,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TrackingView {
    pub status: &'static str,
    pub description: String,
    pub location: Location,
    pub event_date: String,
    pub last_synced_at: Option<String>,
    /// Addition: the normalised status behind `status`.
    pub status_code: Status,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    pub status: &'static str,
    pub description: String,
    pub location: Location,
    pub event_date: String,
    pub status_code: Status,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TrackBody {
    pub success: bool,
    pub order_id: String,
    pub awb_no: Option<String>,
    pub courier: String,
    pub order_status: String,
    pub order_created_at: String,
    pub shipping_status: ShippingStatus,
    pub shipping_error: Option<String>,
    pub tracking: Option<TrackingView>,
    pub data_source: DataSource,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bluedart_error: Option<String>,
    /// Present when a live refresh was refused as too soon: seconds until one is allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
    /// Present when Blue Dart has said nothing new for so long that the sync stopped asking:
    /// the time of its last word on the shipment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_update_since: Option<String>,
    /// Newest first.
    pub events: Vec<EventView>,
    pub expected_delivery_date: Option<NaiveDate>,
}

fn event_view(e: &TrackingEvent) -> EventView {
    EventView {
        status: e.status.customer_text(),
        description: e.description.clone(),
        location: e.location.clone(),
        event_date: iso(e.event_at),
        status_code: e.status,
    }
}

/// The history newest first, by the same recency rule that picks the latest event.
fn newest_first(events: &[TrackingEvent]) -> Vec<EventView> {
    let mut ordered: Vec<&TrackingEvent> = events.iter().collect();
    tracking_core::sorting::sort_by_key(&mut ordered, |e| e.recency());
    ordered.into_iter().rev().map(event_view).collect()
}

/// The cached answer as KV keeps it beside each snapshot (see [`CachedView`]): its entity tag,
/// a space, and the body, so that a cached read neither renders nor hashes it. Its version
/// changes with every change to the body: `the_kept_view_is_pinned_to_its_version` (tests/)
/// fails until it does.
pub const CACHED_VIEW: CachedView = CachedView {
    version: 2,
    render: |snapshot| {
        let body = track_text(snapshot, &Source::Cached);
        format!("{} {body}", etag(&body))
    },
};

/// A kept view's tag and body, as [`CACHED_VIEW`] wrote them (a tag holds no space).
pub fn kept_view(view: &str) -> Option<(&str, &str)> {
    view.split_once(' ')
}

/// The body as the answer's text: written straight to text, no `Value` tree on the hot path.
/// One function for the answer served and the one kept in KV, so that they cannot differ.
pub fn track_text(snapshot: &Snapshot, source: &Source) -> String {
    serde_json::to_string(&track_body(snapshot, source)).expect("serialises")
}

pub fn track_body(snapshot: &Snapshot, source: &Source) -> TrackBody {
    let order = &snapshot.order;
    let tracking = snapshot.latest.as_ref().map(|l| TrackingView {
        status: l.status.customer_text(),
        description: l.description.clone(),
        location: l.location.clone(),
        event_date: iso(l.event_at),
        last_synced_at: order.last_synced_at.map(iso),
        status_code: l.status,
    });
    let nothing = tracking.is_none();
    // Everything but a live answer comes from the cache, if there is anything cached.
    let from_cache = DataSource {
        is_live: false,
        is_cached: !nothing,
        unavailable: nothing,
    };
    let cached_or_nothing = |cached_message| {
        Some(if nothing {
            MESSAGE_NO_CACHED
        } else {
            cached_message
        })
    };
    let (data_source, message, bluedart_error) = match source {
        Source::Live => (
            DataSource {
                is_live: true,
                is_cached: false,
                unavailable: false,
            },
            nothing.then_some(MESSAGE_CARRIER_HAS_NOTHING),
            None,
        ),
        Source::Cached => (from_cache, nothing.then_some(MESSAGE_NO_CACHED), None),
        Source::LiveFailed(reason) => (
            from_cache,
            cached_or_nothing(MESSAGE_SHOWING_CACHED),
            Some(reason.clone()),
        ),
        Source::RefreshLimited { .. } => {
            (from_cache, cached_or_nothing(MESSAGE_REFRESH_LIMITED), None)
        }
    };
    let retry_after_seconds = match source {
        Source::RefreshLimited { retry_after_secs } => Some(*retry_after_secs),
        _ => None,
    };
    // The carrier's last word: its newest event, else when a sync last brought news.
    let no_update_since = order.polling_stopped_at.and(
        snapshot
            .latest
            .as_ref()
            .filter(|l| l.is_from_carrier())
            .map(|l| l.event_at)
            .or(order.last_progress_at)
            .map(iso),
    );
    let message = message.or(no_update_since.as_ref().map(|_| MESSAGE_NO_UPDATE));
    TrackBody {
        success: true,
        order_id: order.id.clone(),
        awb_no: order.awb_no.clone(),
        courier: order.courier.clone(),
        order_status: order.order_status.clone(),
        order_created_at: iso(order.created_at),
        shipping_status: order.shipping_status,
        shipping_error: order.shipping_error.clone(),
        tracking,
        data_source,
        message,
        bluedart_error,
        retry_after_seconds,
        no_update_since,
        events: newest_first(&snapshot.events),
        expected_delivery_date: order.expected_delivery_date,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono::{DateTime, Utc};
    use tracking_core::model::test_order;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, day, 3, 42, 0).unwrap()
    }

    fn snapshot(events: Vec<TrackingEvent>) -> Snapshot {
        Snapshot {
            order: test_order(at(1)),
            latest: events.last().cloned(),
            events,
        }
    }

    fn scan(day: u32) -> TrackingEvent {
        TrackingEvent {
            scan_code: format!("S/{day:03}"),
            status: Status::InTransit,
            ..TrackingEvent::booked("111", at(day))
        }
    }

    #[test]
    fn the_booked_entry_is_always_the_oldest_in_the_history() {
        // Attached on the 20th, after Blue Dart's scans of the 2nd and 3rd.
        let body = track_body(
            &snapshot(vec![scan(2), scan(3), TrackingEvent::booked("111", at(20))]),
            &Source::Cached,
        );
        let dates: Vec<&str> = body.events.iter().map(|e| e.event_date.as_str()).collect();
        assert_eq!(
            dates,
            [
                "2026-01-03T03:42:00Z",
                "2026-01-02T03:42:00Z",
                "2026-01-20T03:42:00Z"
            ]
        );
    }

    #[test]
    fn labels_and_messages_follow_the_source() {
        let some = snapshot(vec![scan(2)]);
        let none = snapshot(vec![]);
        let cached = track_body(&some, &Source::Cached);
        assert_eq!((cached.data_source.is_cached, cached.message), (true, None));
        let live = track_body(&some, &Source::Live);
        assert_eq!(
            (live.data_source.is_live, live.data_source.is_cached),
            (true, false)
        );
        let failed = track_body(&some, &Source::LiveFailed("down".into()));
        assert_eq!(failed.message, Some(MESSAGE_SHOWING_CACHED));
        assert_eq!(failed.bluedart_error.as_deref(), Some("down"));
        let nothing = track_body(&none, &Source::LiveFailed("down".into()));
        assert!(nothing.data_source.unavailable && !nothing.data_source.is_cached);
        assert_eq!(nothing.message, Some(MESSAGE_NO_CACHED));
        assert_eq!(
            track_body(&none, &Source::Cached).message,
            Some(MESSAGE_NO_CACHED)
        );
        assert_eq!(
            track_body(&none, &Source::Live).message,
            Some(MESSAGE_CARRIER_HAS_NOTHING)
        );
    }

    #[test]
    fn a_shipment_no_longer_checked_says_since_when_blue_dart_has_been_silent() {
        let mut quiet = snapshot(vec![scan(2), scan(3)]);
        assert_eq!(track_body(&quiet, &Source::Cached).no_update_since, None);
        quiet.order.last_progress_at = Some(at(4));
        quiet.order.polling_stopped_at = Some(at(30));
        let body = track_body(&quiet, &Source::Cached);
        assert_eq!(
            body.no_update_since.as_deref(),
            Some("2026-01-03T03:42:00Z")
        );
        assert_eq!(body.message, Some(MESSAGE_NO_UPDATE));
        // A failed live call says so first.
        let failed = track_body(&quiet, &Source::LiveFailed("down".into()));
        assert_eq!(failed.message, Some(MESSAGE_SHOWING_CACHED));
        // Nothing from Blue Dart ever: the last time a sync brought news (the attachment).
        let mut silent = snapshot(vec![TrackingEvent::booked("111", at(1))]);
        silent.order.last_progress_at = Some(at(1));
        silent.order.polling_stopped_at = Some(at(30));
        assert_eq!(
            track_body(&silent, &Source::Cached)
                .no_update_since
                .as_deref(),
            Some("2026-01-01T03:42:00Z")
        );
    }
}
