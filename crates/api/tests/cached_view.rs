//! The customer's cached answer as KV keeps it rendered (`CACHED_VIEW`): served as it is, it
//! is the answer rendered from the snapshot, byte for byte and header for header; and its
//! version moves with what it renders.

use chrono::{NaiveDate, TimeZone, Utc};
use http::{Method, Request};
use serde_json::json;
use tracking_api::conditional::etag;
use tracking_api::track_body::CACHED_VIEW;
use tracking_core::carrier::{CarrierUpdate, RawJson, TrackingReply};
use tracking_core::model::{Location, Snapshot, Status, TrackingEvent, test_order};
use tracking_core::service::snapshot_key;

use crate::support::{ADMIN, Harness};

/// Scans whose texts need escaping in JSON, and one without a place.
fn scans(awb: &str) -> Vec<TrackingEvent> {
    let at = |h| Utc.with_ymd_and_hms(2026, 11, 23, h, 5, 0).unwrap();
    vec![
        TrackingEvent {
            status: Status::InTransit,
            carrier_status: "SHIPMENT ARRIVED".into(),
            description: "Arrived at \"Pune Hub\" \\ gate 2".into(),
            scan_code: "S/002".into(),
            location: Location {
                facility: "Pune Hub".into(),
                city: "Pune".into(),
                state: "MH".into(),
                country: "IN".into(),
            },
            ..TrackingEvent::booked(awb, at(8))
        },
        TrackingEvent {
            status: Status::OutForDelivery,
            carrier_status: "OUT FOR DELIVERY".into(),
            description: "डिलीवरी के लिए निकला — out for delivery\u{1F69A}".into(),
            scan_code: "S/003".into(),
            ..TrackingEvent::booked(awb, at(9))
        },
    ]
}

/// Blue Dart's answer with `scans` merged into ORD-1 through an admin's sync.
fn sync_scans(h: &Harness) {
    h.world.carrier.then(Ok(TrackingReply {
        http_status: 200,
        updates: vec![(
            "111111111".into(),
            Some(CarrierUpdate {
                events: scans("111111111"),
                expected_delivery: NaiveDate::from_ymd_opt(2026, 11, 25),
                payload: RawJson::of(&json!({})),
            }),
        )],
    }));
    let synced = h.send(
        Request::builder()
            .method(Method::POST)
            .uri("/api/admin/shipment/ORD-1/sync")
            .header("Authorization", format!("Bearer {ADMIN}"))
            .body(vec![])
            .unwrap(),
    );
    assert_eq!(synced.response.status(), 200, "{}", synced.response.body());
}

#[test]
fn a_kept_view_is_the_answer_rendered_from_the_snapshot() {
    for with_scans in [false, true] {
        let kept = Harness::new();
        let rendered = Harness::with_view(None);
        if with_scans {
            sync_scans(&kept);
            sync_scans(&rendered);
        }
        let origin = [("Origin", crate::support::SHOP)];
        let (a, b) = (
            kept.customer_get("/api/shipment/ORD-1/track", &origin),
            rendered.customer_get("/api/shipment/ORD-1/track", &origin),
        );
        assert_eq!(a.response.status(), 200, "{}", a.response.body());
        assert_eq!(a.response.body(), b.response.body());
        assert_eq!(a.response.headers(), b.response.headers());
        assert_eq!(a.response.body().contains("Pune Hub"), with_scans);

        // And it was the kept text that answered: a view put in its place is what comes back.
        let key = snapshot_key("ORD-1");
        let value = kept.world.kv.entries.borrow()[&key].0.clone();
        let lines: Vec<&str> = value.split('\n').collect();
        assert!(
            lines[0].starts_with(&format!("{{\"viewVersion\":{},", CACHED_VIEW.version)),
            "{value}"
        );
        assert_eq!(
            lines[1],
            format!("{} {}", etag(a.response.body()), a.response.body())
        );
        // Its tag, too, is the kept one: not hashed again.
        let keep = |view: &str| {
            let marked = [lines[0], view, lines[2]].join("\n");
            kept.world.kv.entries.borrow_mut().get_mut(&key).unwrap().0 = marked;
            kept.customer_get("/api/shipment/ORD-1/track", &[]).response
        };
        let served = keep("\"kept\" {\"marked\":true}");
        assert_eq!(served.body(), "{\"marked\":true}");
        assert_eq!(served.headers()["etag"], "\"kept\"");
        // A view without its tag (not written so) is served tagged by its text.
        let served = keep("{\"marked\":true}");
        assert_eq!(served.body(), "{\"marked\":true}");
        assert_eq!(served.headers()["etag"], etag("{\"marked\":true}").as_str());
    }
}

#[test]
fn the_kept_view_is_pinned_to_its_version() {
    let at = Utc.with_ymd_and_hms(2026, 11, 20, 7, 30, 0).unwrap();
    let mut events = vec![TrackingEvent::booked("111", at)];
    events.extend(scans("111"));
    let snapshot = Snapshot {
        order: test_order(at),
        latest: events.last().cloned(),
        events,
    };
    let text = (CACHED_VIEW.render)(&snapshot);
    assert_eq!(
        (CACHED_VIEW.version, etag(&text).as_str()),
        (2, "\"64786f14f16176fc\""),
        "What the cached answer renders changed ({text}): KV keeps views of the old shape \
         until each order is written again, and they must not be served: bump \
         CACHED_VIEW.version (crates/api/src/track_body.rs) and pin the new tag here."
    );
}
