//! End to end: every answer shape real Blue Dart accounts send, read by the real worker under
//! `wrangler dev` through each path that asks Blue Dart (customer refresh, admin sync, the
//! cron), and the check schedule that stops asking about delivered and long-silent shipments.

use bluedart_sim::demo::{delivered_in_shape, scan};
use bluedart_sim::{AnswerShape, Endpoint, demo};
use chrono::{DateTime, Duration, Utc};
use e2e::TestWorker;
use serde_json::Value;

const SHAPES: [(AnswerShape, &str); 3] = [
    (AnswerShape::Full, "full"),
    (AnswerShape::CodeWithoutGroup, "nogroup"),
    (AnswerShape::NoCodes, "nocodes"),
];

fn tracked_waybills(w: &TestWorker) -> Vec<String> {
    let mut waybills: Vec<String> = w
        .sim
        .calls(Endpoint::Tracking)
        .into_iter()
        .flat_map(|c| c.waybills)
        .collect();
    waybills.sort();
    waybills
}

fn admin_view(w: &TestWorker, id: &str) -> Value {
    let answer = w.admin("GET", &format!("/api/admin/shipment/{id}/track"), None);
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()
}

fn time(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .unwrap_or_else(|| panic!("not a time: {value}"))
        .with_timezone(&Utc)
}

#[test]
fn delivered_is_read_in_every_shape_on_every_path_and_never_asked_about_again() {
    let w = TestWorker::production(&[]);
    // One delivered parcel per shape and path: waybill 6SP00000000 (shape S, path P).
    let awb = |s: usize, p: usize| format!("6{s}{p}00000000");
    let id = |s: usize, p: usize| format!("ORD-{}-{p}", SHAPES[s].1);
    let mut shipments = Vec::new();
    for (s, (shape, _)) in SHAPES.iter().enumerate() {
        for p in 0..3 {
            shipments.push(delivered_in_shape(&awb(s, p), &id(s, p), *shape));
        }
    }
    w.sim.state().load(shipments);
    for s in 0..SHAPES.len() {
        for p in 0..3 {
            w.ship(&id(s, p), "cust-1", &awb(s, p));
        }
    }

    for (s, (_, shape)) in SHAPES.iter().enumerate() {
        // Path 0: the customer's live refresh.
        let answer = w.track(&id(s, 0), "cust-1", true);
        assert_eq!(answer.status, 200, "{}", answer.body);
        let body = answer.json();
        assert_eq!(body["dataSource"]["isLive"], true, "{shape}: {body}");
        assert_eq!(
            body["tracking"]["statusCode"], "delivered",
            "{shape}: {body}"
        );
        assert_eq!(body["tracking"]["status"], "Delivered", "{shape}");
        assert_eq!(body["shippingStatus"], "Delivered", "{shape}");
        assert_eq!(body["orderStatus"], "Delivered", "{shape}");
        // Places read as places, whatever the shape.
        assert_eq!(
            body["tracking"]["location"]["facility"], "Kochi Service Centre",
            "{shape}"
        );
        assert_eq!(body["tracking"]["location"]["city"], "Kochi", "{shape}");
        assert_eq!(body["tracking"]["location"]["state"], "KL", "{shape}");

        // Path 1: an admin's sync.
        let answer = w.admin(
            "POST",
            &format!("/api/admin/shipment/{}/sync", id(s, 1)),
            None,
        );
        assert_eq!(answer.status, 200, "{}", answer.body);
        let body = answer.json();
        assert_eq!(body["status"], "delivered", "{shape}: {body}");
        assert_eq!(body["shippingStatus"], "Delivered", "{shape}");
    }
    let asked_before_cron = w.sim.calls(Endpoint::Tracking).len();
    assert_eq!(
        asked_before_cron, 6,
        "three refreshes and three admin syncs"
    );

    // Path 2: the cron asks about the three parcels not yet known delivered, and only them.
    w.cron_run();
    let cron_calls = &w.sim.calls(Endpoint::Tracking)[asked_before_cron..];
    let mut carried: Vec<String> = cron_calls.iter().flat_map(|c| c.waybills.clone()).collect();
    carried.sort();
    assert_eq!(carried, [awb(0, 2), awb(1, 2), awb(2, 2)]);
    let states = w.d1(
        "SELECT shipping_status, order_status, next_check_at, COUNT(*) AS n FROM orders \
         GROUP BY shipping_status, order_status, next_check_at",
    );
    assert_eq!(states.len(), 1, "{states:?}");
    assert_eq!(states[0]["shipping_status"], "Delivered");
    assert_eq!(states[0]["order_status"], "Delivered");
    assert_eq!(states[0]["next_check_at"], Value::Null);
    assert_eq!(states[0]["n"], 9);
    for (s, (_, name)) in SHAPES.iter().enumerate() {
        let body = w.track(&id(s, 2), "cust-1", false).json();
        assert_eq!(body["tracking"]["statusCode"], "delivered", "{name}");
    }

    // The next run, even with every check time long past, asks Blue Dart nothing.
    w.d1("UPDATE orders SET next_check_at = '2020-01-01T00:00:00Z'");
    let asked = w.sim.calls(Endpoint::Tracking).len();
    w.cron_run();
    let logs = w.wait_for_log("[TRACKING SYNC] Completed: 0 success, 0 failed");
    assert!(
        logs.contains("[TRACKING SYNC] Syncing 0 shipments..."),
        "{logs}"
    );
    assert_eq!(w.sim.calls(Endpoint::Tracking).len(), asked);
}

#[test]
fn a_quiet_shipment_is_asked_about_less_often_then_not_at_all_until_it_moves() {
    let w = TestWorker::production(&[("FORCE_REFRESH_MIN_INTERVAL_SECONDS", "0")]);
    w.sim
        .state()
        .load(vec![demo::in_transit("71000000001", "ORD-Q")]);
    w.ship("ORD-Q", "cust-1", "71000000001");
    // Blue Dart's scans (22 and 23 January 2026) are stored by the first sync.
    w.cron_run();
    let polling = &admin_view(&w, "ORD-Q")["admin"]["polling"];
    let progress = time(&polling["lastProgressAt"]);
    let next = time(&polling["nextCheckAt"]);
    assert!(
        (next - progress - Duration::minutes(45))
            .num_seconds()
            .abs()
            <= 5,
        "moving: checked again after SYNC_INTERVAL_MINUTES: {polling}"
    );

    // Quiet for three days: the next check backs off to 6 hours (less the cron's 15 minutes).
    let asked = w.sim.calls(Endpoint::Tracking).len();
    w.d1(
        "UPDATE orders SET last_progress_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-3 days'), \
         next_check_at = '2020-01-01T00:00:00Z'",
    );
    w.cron_run();
    assert_eq!(w.sim.calls(Endpoint::Tracking).len(), asked + 1);
    let polling = &admin_view(&w, "ORD-Q")["admin"]["polling"];
    let wait = time(&polling["nextCheckAt"]) - Utc::now();
    assert!(
        wait > Duration::minutes(5 * 60 + 40) && wait <= Duration::minutes(5 * 60 + 45),
        "quiet three days: {polling}"
    );
    assert_eq!(polling["stoppedAt"], Value::Null);

    // Quiet for 31 days: asked once more, then polling stops, and says so.
    w.d1(
        "UPDATE orders SET last_progress_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-31 days'), \
         next_check_at = '2020-01-01T00:00:00Z'",
    );
    w.cron_run();
    let asked = w.sim.calls(Endpoint::Tracking).len();
    let view = admin_view(&w, "ORD-Q");
    let polling = &view["admin"]["polling"];
    assert!(polling["stoppedAt"].is_string(), "{polling}");
    assert_eq!(polling["nextCheckAt"], Value::Null);
    assert_eq!(
        view["shippingStatus"], "In-Transit",
        "not delivered: still in transit"
    );
    let customer = w.track("ORD-Q", "cust-1", false).json();
    // The customer reads when Blue Dart last said anything: its newest scan, 23 Jan 22:40 IST.
    assert_eq!(
        customer["noUpdateSince"], "2026-01-23T17:10:00Z",
        "{customer}"
    );
    assert_eq!(
        customer["message"],
        "No update from Blue Dart for a long time. Showing the last known status."
    );
    assert_eq!(customer["dataSource"]["isCached"], true);
    w.d1("UPDATE orders SET next_check_at = '2020-01-01T00:00:00Z'");
    w.cron_run();
    assert_eq!(
        w.sim.calls(Endpoint::Tracking).len(),
        asked,
        "a stopped shipment is not asked about"
    );

    // The parcel moves again: a customer's refresh brings the scan, and polling starts over.
    w.sim.state().append_scan(
        "71000000001",
        scan(
            "SHIPMENT OUT FOR DELIVERY",
            "S",
            "002",
            "UD",
            "2026-01-24 09:12",
            "KOCHI SERVICE CENTRE/COK",
        ),
    );
    let body = w.track("ORD-Q", "cust-1", true).json();
    assert_eq!(body["tracking"]["statusCode"], "out_for_delivery", "{body}");
    assert_eq!(body.get("noUpdateSince"), None, "{body}");
    let polling = &admin_view(&w, "ORD-Q")["admin"]["polling"];
    assert_eq!(polling["stoppedAt"], Value::Null);
    let wait = time(&polling["nextCheckAt"]) - Utc::now();
    assert!(
        wait > Duration::minutes(40) && wait <= Duration::minutes(45),
        "moving again: {polling}"
    );
    assert!(tracked_waybills(&w).iter().all(|a| a == "71000000001"));
}

#[test]
fn places_are_read_from_the_place_table_end_to_end() {
    let w = TestWorker::start();
    // The demo parcel delivered at ITO SERVICE CENTRE, New Delhi, answered without codes.
    let delhi = demo::shipments()
        .into_iter()
        .find(|s| s.waybill == "81234567897")
        .expect("the demo has the New Delhi parcel");
    w.sim.state().load(vec![delhi]);
    w.ship("ORD-D", "cust-1", "81234567897");
    let body = w.track("ORD-D", "cust-1", true).json();
    assert_eq!(body["tracking"]["statusCode"], "delivered", "{body}");
    let places: Vec<(String, String)> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["location"]["facility"].as_str().unwrap().to_owned(),
                e["location"]["city"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("ITO Service Centre", "New Delhi"),
        ("ITO Service Centre", "New Delhi"),
        ("Rama Road Hub", "New Delhi"),
        ("Pune Hub", "Pune"),
        ("", ""),
    ];
    assert_eq!(
        places,
        expected
            .iter()
            .map(|(f, c)| (f.to_string(), c.to_string()))
            .collect::<Vec<_>>(),
        "newest first; the booked entry has no place"
    );
    // A customer never sees Blue Dart's raw place names as cities.
    assert!(!body.to_string().contains("\"city\":\"Ito\""));
}
