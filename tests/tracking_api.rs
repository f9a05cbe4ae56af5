//! End to end: the tracking API of the real worker under `wrangler dev` (local D1 and KV)
//! against the Blue Dart simulator.

use std::time::{Duration, Instant};

use bluedart_sim::{Endpoint, Fault, FaultRule, SimConfig};
use e2e::{Options, TRACKING_LINK_SECRET, TestWorker, customer_token};
use serde_json::{Value, json};
use tracking_core::breaker::MEMORY_MAX_AGE_SECS;

/// The worker against the demo shipments, with the refresh limit and the breaker out of the
/// way (they have their own tests): these tests refresh often and fault Blue Dart on purpose.
fn demo_worker(mut vars: Vec<(&'static str, String)>) -> TestWorker {
    vars.push(("FORCE_REFRESH_MIN_INTERVAL_SECONDS", "0".into()));
    vars.push(("BREAKER_FAILURE_THRESHOLD", "1000".into()));
    TestWorker::start_with(Options {
        vars,
        sim: SimConfig {
            demo: true,
            ..SimConfig::default()
        },
        ..Options::default()
    })
}

/// Every table the worker writes, straight from D1, for before/after comparisons.
fn stored(worker: &TestWorker) -> Value {
    json!({
        "orders": worker.d1("SELECT * FROM orders ORDER BY id"),
        "events": worker.d1("SELECT * FROM tracking_events ORDER BY id"),
        "responses": worker.d1("SELECT * FROM carrier_responses ORDER BY order_id"),
    })
}

#[test]
fn a_fresh_shipment_answers_its_booked_state_from_the_cache() {
    let w = demo_worker(vec![]);
    w.ship("ORD-1", "cust-1", "81234567890");
    let answer = w.track("ORD-1", "cust-1", false);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body = answer.json();
    assert_eq!(body["success"], true);
    assert_eq!(body["orderId"], "ORD-1");
    assert_eq!(body["awbNo"], "81234567890");
    assert_eq!(body["courier"], "bluedart");
    assert_eq!(body["orderStatus"], "Shipped");
    assert_eq!(body["shippingStatus"], "In-Transit");
    assert_eq!(body["tracking"]["status"], "Booked");
    assert_eq!(body["tracking"]["statusCode"], "info_received");
    assert_eq!(
        body["dataSource"],
        json!({"isLive": false, "isCached": true, "unavailable": false})
    );
    assert_eq!(body["events"].as_array().unwrap().len(), 1);
    assert!(
        w.sim.calls(Endpoint::Tracking).is_empty(),
        "no Blue Dart call without refresh"
    );
    assert_eq!(answer.header("cache-control"), Some("private, max-age=30"));
    // Authorised by a bearer token: a shared browser must not reuse it for someone else, nor
    // give it to a page that needs CORS headers.
    assert_eq!(answer.header("vary"), Some("Authorization, Origin"));
    // The original fields come first, in the design's order.
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys[..10],
        [
            "success",
            "orderId",
            "awbNo",
            "courier",
            "orderStatus",
            "orderCreatedAt",
            "shippingStatus",
            "shippingError",
            "tracking",
            "dataSource"
        ]
    );
}

#[test]
fn force_refresh_goes_live_saves_and_the_cache_then_serves_the_same() {
    let w = demo_worker(vec![]);
    w.ship("ORD-1", "cust-1", "81234567890");
    // Whole seconds: the worker's clock is coarse and the stamp may drop the fraction.
    let asked = chrono::Utc::now() - chrono::Duration::seconds(1);
    let live = w.track("ORD-1", "cust-1", true);
    let answered = chrono::Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(live.status, 200, "{}", live.body);
    let live = live.json();
    assert_eq!(
        live["dataSource"],
        json!({"isLive": true, "isCached": false, "unavailable": false})
    );
    assert_eq!(
        live["tracking"],
        json!({
            "status": "Out for Delivery", "description": "SHIPMENT OUT FOR DELIVERY",
            "location": {"facility": "Kochi Service Centre", "city": "Kochi", "state": "KL", "country": "IN"},
            "eventDate": "2026-01-24T03:42:00Z",
            "lastSyncedAt": live["tracking"]["lastSyncedAt"].clone(),
            "statusCode": "out_for_delivery",
        })
    );
    let synced_at = live["tracking"]["lastSyncedAt"].as_str().unwrap();
    assert!(synced_at.ends_with('Z'), "{synced_at}");
    let synced_at = chrono::DateTime::parse_from_rfc3339(synced_at).unwrap();
    assert!(
        asked <= synced_at && synced_at <= answered,
        "synced at {synced_at}, asked between {asked} and {answered}"
    );
    assert_eq!(live["expectedDeliveryDate"], "2026-01-24");
    let events = live["events"].as_array().unwrap();
    assert_eq!(events.len(), 4, "three scans and the booked entry");
    assert_eq!(
        events[0]["eventDate"], "2026-01-24T03:42:00Z",
        "newest first"
    );
    assert_eq!(
        events[2]["eventDate"], "2026-01-21T21:35:00Z",
        "03:05 IST is the previous UTC day"
    );

    let cached = w.track("ORD-1", "cust-1", false).json();
    assert_eq!(
        cached["dataSource"],
        json!({"isLive": false, "isCached": true, "unavailable": false})
    );
    assert_eq!(cached["tracking"], live["tracking"]);
    assert_eq!(cached["events"], live["events"]);
    assert_eq!(w.sim.calls(Endpoint::Tracking).len(), 1);
    let logs = w.wait_for_log("[TRACKING SAVED]");
    assert!(
        logs.contains("[TRACKING SAVED] AWB 81234567890 tracking updated"),
        "{logs}"
    );
}

fn round_trips(answer: &e2e::Answer) -> Vec<String> {
    answer.round_trips().into_iter().map(|s| s.name).collect()
}

/// Development answers list their round trips. After the first refresh logged in, the
/// isolate keeps Blue Dart's token and the breaker's state: the next refresh waits for three
/// steps (the KV snapshot, the tracking call, the save guarded on the snapshot's version) and
/// writes KV after answering. When D1 has moved on from KV's copy, the guarded save writes
/// nothing and the refresh reads D1's state and saves into that.
#[test]
fn a_refresh_traces_its_round_trips_and_reuses_the_isolate_token() {
    let w = demo_worker(vec![]);
    w.ship("ORD-1", "cust-1", "81234567890");
    let first = w.track("ORD-1", "cust-1", true);
    assert_eq!(first.status, 200, "{}", first.body);
    let first_synced = first.json()["tracking"]["lastSyncedAt"].clone();
    let first = round_trips(&first);
    assert_eq!(
        first.iter().filter(|s| *s == "fetch").count(),
        2,
        "login, tracking: {first:?}"
    );
    // A second later, so that the refreshed state is told apart by its sync time (and well
    // within the 5 s the isolate trusts the breaker state it saw).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = w.track("ORD-1", "cust-1", true);
    let second_done = Instant::now();
    let live = second.json();
    assert_eq!(live["dataSource"]["isLive"], true);
    assert_ne!(live["tracking"]["lastSyncedAt"], first_synced);
    // No D1 read: KV's copy is D1's state. The breaker's state comes from isolate memory, and
    // the KV copy of the new state is written after the answer (the save noted that KV will
    // hold it).
    assert_eq!(
        round_trips(&second),
        ["kv-get", "fetch", "d1-batch"],
        "{:?}",
        second.round_trips()
    );
    assert_eq!(w.sim.calls(Endpoint::Login).len(), 1);
    // The write after the answer lands: a plain read from KV alone shows the refreshed state.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let cached = w.track("ORD-1", "cust-1", false);
        assert_eq!(round_trips(&cached), ["kv-get"]);
        if cached.json()["tracking"]["lastSyncedAt"] == live["tracking"]["lastSyncedAt"] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "KV never got the refresh"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // The store cancels the order behind KV's back: the refresh's save from KV's copy is
    // refused, and the answer and D1 keep the cancellation. It comes past the time the isolate
    // trusts the breaker state it read at the first refresh, always (how long the steps above
    // take varies with the machine): the refresh reads that state again before its call.
    w.d1("UPDATE orders SET order_status = 'Cancelled', version = version + 1 WHERE id = 'ORD-1'");
    let trusted = Duration::from_secs(MEMORY_MAX_AGE_SECS as u64 + 1);
    std::thread::sleep(
        trusted
            .saturating_sub(second_done.elapsed())
            .max(Duration::from_millis(1100)),
    );
    let third = w.track("ORD-1", "cust-1", true);
    assert_eq!(third.json()["dataSource"]["isLive"], true, "{}", third.body);
    assert_eq!(third.json()["orderStatus"], "Cancelled", "{}", third.body);
    assert_eq!(
        round_trips(&third),
        ["kv-get", "d1", "fetch", "d1-batch", "d1", "d1-batch"],
        "{:?}",
        third.round_trips()
    );
    let stored = w.d1("SELECT order_status, version FROM orders WHERE id = 'ORD-1'");
    assert_eq!(stored[0]["order_status"], "Cancelled");
    assert_eq!(
        w.d1("SELECT * FROM stale_saves"),
        Vec::<serde_json::Value>::new()
    );
}

#[test]
fn blue_dart_faults_during_refresh_answer_cached_data_and_change_nothing() {
    let w = demo_worker(vec![("BLUEDART_TIMEOUT_MS", "1500".into())]);
    w.ship("ORD-1", "cust-1", "81234567890");
    let live = w.track("ORD-1", "cust-1", true).json();
    let before = stored(&w);
    let faults = [
        (Fault::Drop, "Could not connect to Blue Dart"),
        (
            Fault::Hang { ms: 4000 },
            "Blue Dart did not answer within 1500 ms",
        ),
        (
            Fault::Status { code: 500 },
            "Blue Dart is unavailable (HTTP 500)",
        ),
        (
            Fault::Status { code: 503 },
            "Blue Dart is unavailable (HTTP 503)",
        ),
        (Fault::HtmlOk, "Blue Dart returned an unreadable answer"),
        (
            Fault::MalformedXml,
            "Blue Dart returned an unreadable answer",
        ),
        (
            Fault::TruncatedXml,
            "Blue Dart returned an unreadable answer",
        ),
        // Our account's problems are not the customer's business: the cause goes to the log.
        (
            Fault::LicenseMismatch,
            "Blue Dart tracking is temporarily unavailable",
        ),
        (
            Fault::ExpiredToken,
            "Blue Dart tracking is temporarily unavailable",
        ),
    ];
    for (fault, reason) in faults {
        w.sim
            .state()
            .set_fault(Endpoint::Tracking, Some(FaultRule::always(fault.clone())));
        let started = Instant::now();
        let answer = w.track("ORD-1", "cust-1", true);
        let took = started.elapsed();
        assert_eq!(answer.status, 200, "{fault:?}: {}", answer.body);
        let body = answer.json();
        assert_eq!(
            body["dataSource"],
            json!({"isLive": false, "isCached": true, "unavailable": false}),
            "{fault:?}"
        );
        assert_eq!(
            body["message"],
            "Live tracking unavailable. Showing cached data."
        );
        assert_eq!(body["bluedartError"], reason, "{fault:?}");
        assert_eq!(body["tracking"], live["tracking"], "{fault:?}");
        assert_eq!(answer.header("cache-control"), Some("no-store"));
        assert!(
            took < Duration::from_millis(1500 + 2500),
            "{fault:?} took {took:?}"
        );
    }
    assert_eq!(stored(&w), before, "a failed refresh writes nothing");
    let logs = w.wait_for_log("Blue Dart refused our credentials");
    assert!(
        logs.contains("Live refresh of order ORD-1 failed: Blue Dart reported a licence mismatch"),
        "{logs}"
    );
    assert!(
        logs.contains(
            "Live refresh of order ORD-1 failed: Blue Dart refused our credentials (HTTP 401)"
        ),
        "{logs}"
    );
}

#[test]
fn blue_dart_down_with_nothing_cached_answers_unavailable() {
    let w = demo_worker(vec![]);
    // An order imported with its waybill has no history yet.
    let put = w.admin(
        "PUT",
        "/api/admin/orders/ORD-1",
        Some(json!({"customerId": "cust-1", "orderStatus": "Shipped", "awbNo": "81234567890"})),
    );
    assert_eq!(put.status, 201, "{}", put.body);
    w.sim
        .state()
        .set_fault(Endpoint::Tracking, Some(FaultRule::always(Fault::Drop)));
    let body = w.track("ORD-1", "cust-1", true).json();
    assert_eq!(body["tracking"], Value::Null);
    assert_eq!(
        body["dataSource"],
        json!({"isLive": false, "isCached": false, "unavailable": true})
    );
    assert_eq!(
        body["message"],
        "Live tracking unavailable. No cached data."
    );
    assert_eq!(body["bluedartError"], "Could not connect to Blue Dart");
    let plain = w.track("ORD-1", "cust-1", false).json();
    assert_eq!(plain["dataSource"]["unavailable"], true);
    assert_eq!(
        plain["message"],
        "Live tracking unavailable. No cached data."
    );
}

/// What only the real platform can show of credentials (their rules are tested natively in
/// `crates/api/tests/contract.rs` and `edges.rs`): the header and the query string reach the
/// worker, and another customer's order read through the real KV and D1 answers exactly as an
/// order that does not exist, so that order ids cannot be probed.
#[test]
fn credentials_are_checked_and_customers_see_only_their_orders() {
    let w = demo_worker(vec![]);
    w.ship("ORD-1", "cust-1", "81234567890");
    let get = |path: &str| w.request("GET", path, &[], None);
    let missing = get("/api/shipment/ORD-1/track");
    assert_eq!(
        (missing.status, missing.json()["code"].as_str()),
        (401, Some("UNAUTHORIZED"))
    );

    // The owner's read first, so that KV holds the snapshot the other customer then asks for.
    assert_eq!(w.track("ORD-1", "cust-1", false).status, 200);
    let unknown = w.track("ORD-404", "cust-2", false);
    assert_eq!(
        unknown.body,
        r#"{"success":false,"message":"Order not found","code":"ORDER_NOT_FOUND"}"#
    );
    for refresh in [false, true] {
        let other = w.track("ORD-1", "cust-2", refresh);
        assert_eq!(
            (other.status, other.body.as_str()),
            (404, unknown.body.as_str()),
            "refresh: {refresh}"
        );
        assert_eq!(
            (other.header("cache-control"), other.header("vary")),
            (unknown.header("cache-control"), unknown.header("vary"))
        );
    }

    let exp = chrono::Utc::now() + chrono::Duration::hours(1);
    let sig = tracking_api::credentials::link_signature(TRACKING_LINK_SECRET, "ORD-1", exp);
    let link = format!("?exp={}&sig={sig}", exp.timestamp());
    assert_eq!(get(&format!("/api/shipment/ORD-1/track{link}")).status, 200);
    assert_eq!(
        get(&format!("/api/shipment/ORD-2/track{link}")).status,
        401,
        "a link is bound to its order"
    );
}

#[test]
fn blue_dart_states_map_to_the_right_status_and_customer_text() {
    let w = demo_worker(vec![]);
    let cases = [
        (
            "ORD-D",
            "81234567892",
            "delivered",
            "Delivered",
            "Delivered",
            "Delivered",
            "2026-01-24T08:35:00Z",
        ),
        (
            "ORD-O",
            "81234567890",
            "out_for_delivery",
            "Out for Delivery",
            "In-Transit",
            "Shipped",
            "2026-01-24T03:42:00Z",
        ),
        (
            "ORD-F",
            "81234567894",
            "failed_attempt",
            "Delivery Attempted",
            "In-Transit",
            "Shipped",
            "2026-01-24T11:20:00Z",
        ),
        (
            "ORD-R",
            "81234567893",
            "returned",
            "Returned to Sender",
            "Returned",
            "Shipped",
            "2026-01-28T06:15:00Z",
        ),
        (
            "ORD-L",
            "81234567895",
            "lost",
            "Lost or Cancelled",
            "Lost",
            "Shipped",
            "2026-01-26T03:30:00Z",
        ),
    ];
    for (order, awb, code, text, shipping, order_status, at) in cases {
        w.ship(order, "cust-1", awb);
        let body = w.track(order, "cust-1", true).json();
        assert_eq!(body["tracking"]["statusCode"], code, "{awb}");
        assert_eq!(body["tracking"]["status"], text, "{awb}");
        assert_eq!(body["tracking"]["eventDate"], at, "{awb}");
        assert_eq!(body["shippingStatus"], shipping, "{awb}");
        assert_eq!(body["orderStatus"], order_status, "{awb}");
    }
    // The return's history holds both legs: the forward waybill's scans and the return's.
    let returned = w.track("ORD-R", "cust-1", false).json();
    let events = returned["events"].as_array().unwrap();
    assert_eq!(
        events[0]["description"],
        "SHIPMENT DELIVERED BACK TO SHIPPER"
    );
    assert!(events.iter().any(|e| e["statusCode"] == "returning"));
}

#[test]
fn the_same_live_answer_saved_twice_stores_each_event_once() {
    let w = demo_worker(vec![]);
    w.ship("ORD-1", "cust-1", "81234567890");
    w.track("ORD-1", "cust-1", true);
    let count = || w.d1("SELECT COUNT(*) AS n FROM tracking_events")[0]["n"].clone();
    let after_first = count();
    assert_eq!(after_first, 4);
    let sync = w
        .admin("POST", "/api/admin/shipment/ORD-1/sync", None)
        .json();
    assert_eq!(sync["changed"], false);
    assert_eq!(sync["newEvents"], 0);
    w.track("ORD-1", "cust-1", true);
    assert_eq!(count(), after_first);
    let latest = w.d1("SELECT COUNT(*) AS n FROM tracking_events WHERE is_latest = 1");
    assert_eq!(latest[0]["n"], 1);
}

#[test]
fn customers_never_see_personal_data_or_raw_payloads() {
    let w = demo_worker(vec![]);
    // The simulator's payload for this waybill carries the consignee's name, address and phone.
    w.ship("ORD-1", "cust-1", "81234567891");
    let live = w.track("ORD-1", "cust-1", true);
    let cached = w.track("ORD-1", "cust-1", false);
    let admin = w.admin("GET", "/api/admin/shipment/ORD-1/track", None);
    for answer in [&live, &cached, &admin] {
        assert_eq!(answer.status, 200, "{}", answer.body);
        for personal in ["ASHA", "MENON", "MARINE", "9847012345", "682031"] {
            assert!(
                !answer.body.contains(personal),
                "{personal} leaked: {}",
                answer.body
            );
        }
    }
    for answer in [&live, &cached] {
        for raw in ["WaybillNo", "ScanCode", "<Shipment", "carrierResponse"] {
            assert!(!answer.body.contains(raw), "{raw} in a customer answer");
        }
    }
    let logs = w.settled_logs();
    for personal in ["ASHA", "9847012345"] {
        assert!(!logs.contains(personal), "{personal} in the logs");
    }
}

#[test]
fn a_warm_kv_entry_answers_without_reading_d1() {
    let w = demo_worker(vec![]);
    w.ship("ORD-1", "cust-1", "81234567890");
    let first = w.track("ORD-1", "cust-1", false).json();
    // Pull the order out from under the worker: only KV still knows it.
    w.d1("DELETE FROM tracking_events; DELETE FROM orders");
    let second = w.track("ORD-1", "cust-1", false);
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.json()["tracking"], first["tracking"]);
    assert!(w.sim.calls(Endpoint::Tracking).is_empty());
}

#[test]
fn a_kv_miss_falls_back_to_d1_and_heals_kv() {
    let w = demo_worker(vec![]);
    // An order written to D1 behind the worker's back has no KV entry yet.
    w.d1(
        "INSERT INTO orders (id, customer_id, order_status, shipping_status, awb_no, created_at, updated_at) \
         VALUES ('ORD-9', 'cust-1', 'Shipped', 'In-Transit', '81234567890', '2026-01-21T08:00:00Z', '2026-01-21T08:00:00Z')",
    );
    let from_d1 = w.track("ORD-9", "cust-1", false);
    assert_eq!(from_d1.status, 200, "{}", from_d1.body);
    assert_eq!(from_d1.json()["orderCreatedAt"], "2026-01-21T08:00:00Z");
    w.d1("DELETE FROM orders WHERE id = 'ORD-9'");
    assert_eq!(
        w.track("ORD-9", "cust-1", false).status,
        200,
        "KV was healed"
    );
}

#[test]
fn admin_track_shows_detail_and_refreshes_stale_orders_in_the_background() {
    let w = demo_worker(vec![]);
    w.ship("ORD-1", "cust-1", "81234567890");
    let answer = w.admin("GET", "/api/admin/shipment/ORD-1/track", None);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body = answer.json();
    assert_eq!(
        body["tracking"]["status"], "Booked",
        "answered at once, before the refresh"
    );
    assert_eq!(body["admin"]["customerId"], "cust-1");
    assert_eq!(body["admin"]["stale"], true);
    assert_eq!(body["admin"]["backgroundRefresh"], "scheduled");
    assert_eq!(answer.header("cache-control"), Some("no-store"));

    let deadline = Instant::now() + Duration::from_secs(10);
    let refreshed = loop {
        let body = w
            .admin("GET", "/api/admin/shipment/ORD-1/track", None)
            .json();
        if body["tracking"]["statusCode"] == "out_for_delivery" || Instant::now() > deadline {
            break body;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(refreshed["tracking"]["statusCode"], "out_for_delivery");
    assert_eq!(refreshed["admin"]["stale"], false);
    assert_eq!(refreshed["admin"]["backgroundRefresh"], "not needed");
    let raw = &refreshed["admin"]["carrierResponse"];
    assert_eq!(raw["httpStatus"], 200);
    assert_eq!(raw["body"][0]["WaybillNo"], "81234567890");
    assert_eq!(raw["body"][0]["Scans"][0]["ScanCode"], "002");
}

#[test]
fn admin_sync_reports_what_changed_and_records_failures() {
    let w = demo_worker(vec![]);
    w.ship("ORD-1", "cust-1", "81234567890");
    let first = w.admin("POST", "/api/admin/shipment/ORD-1/sync", None);
    assert_eq!(first.status, 200, "{}", first.body);
    let first = first.json();
    assert_eq!(first["changed"], true);
    assert_eq!(first["newEvents"], 3);
    assert_eq!(first["previousStatus"], "info_received");
    assert_eq!(first["status"], "out_for_delivery");

    w.sim.state().set_fault(
        Endpoint::Tracking,
        Some(FaultRule::always(Fault::Status { code: 502 })),
    );
    let failed = w.admin("POST", "/api/admin/shipment/ORD-1/sync", None);
    assert_eq!(failed.status, 502);
    assert_eq!(failed.json()["code"], "CARRIER_UNAVAILABLE");
    assert_eq!(
        failed.json()["bluedartError"],
        "Blue Dart is unavailable (HTTP 502)"
    );
    let admin = w
        .admin("GET", "/api/admin/shipment/ORD-1/track", None)
        .json();
    assert_eq!(
        admin["admin"]["lastSyncError"],
        "Blue Dart is unavailable (HTTP 502)"
    );
    assert_eq!(admin["tracking"]["statusCode"], "out_for_delivery");
}

#[test]
fn a_waybill_generated_through_blue_dart_starts_a_booked_history() {
    let w = demo_worker(vec![]);
    w.admin(
        "PUT",
        "/api/admin/orders/ORD-77",
        Some(json!({"customerId": "cust-1", "orderStatus": "Processing"})),
    );
    let generate = json!({"generate": {
        "consignee": {"name": "ASHA MENON", "address1": "14/221 MARINE DRIVE", "pincode": "682031", "mobile": "9847012345"},
        "weightKg": 0.8, "declaredValue": 1499
    }});
    let answer = w.admin(
        "POST",
        "/api/admin/shipment/ORD-77/awb",
        Some(generate.clone()),
    );
    assert_eq!(answer.status, 201, "{}", answer.body);
    let order = &answer.json()["order"];
    assert_eq!(order["awbNo"], "69000000001");
    assert_eq!(order["orderStatus"], "Shipped");
    assert_eq!(order["shippingStatus"], "In-Transit");
    assert_eq!(order["tracking"]["status"], "info_received");
    assert!(
        !answer.body.contains("ASHA"),
        "the consignee is passed on, not echoed"
    );
    assert_eq!(w.sim.calls(Endpoint::Waybill).len(), 1);
    // Once the order has a waybill, another is refused without asking Blue Dart.
    let again = w.admin("POST", "/api/admin/shipment/ORD-77/awb", Some(generate));
    assert_eq!(
        (again.status, again.json()["code"].as_str()),
        (409, Some("AWB_EXISTS"))
    );
    assert_eq!(w.sim.calls(Endpoint::Waybill).len(), 1);
    let logs = w.settled_logs();
    assert!(!logs.contains("ASHA") && !logs.contains("9847012345"));
}

#[test]
fn blue_dart_refusing_a_waybill_is_a_422_with_its_reason() {
    let w = demo_worker(vec![("SHIPPER_ORIGIN_AREA", "BOM".into())]);
    w.admin(
        "PUT",
        "/api/admin/orders/ORD-78",
        Some(json!({"customerId": "cust-1"})),
    );
    let answer = w.admin(
        "POST",
        "/api/admin/shipment/ORD-78/awb",
        Some(json!({"generate": {"consignee": {"name": "A", "address1": "B", "pincode": "682031", "mobile": "9847012345"}, "weightKg": 1}})),
    );
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert_eq!(answer.json()["code"], "WAYBILL_REFUSED");
    assert!(
        answer.json()["bluedartError"]
            .as_str()
            .unwrap()
            .contains("InvalidAreaScNotInRegion")
    );
    let order = w.d1("SELECT awb_no, shipping_status FROM orders WHERE id = 'ORD-78'");
    assert_eq!(
        order[0],
        json!({"awb_no": null, "shipping_status": "Pending"})
    );
}

#[test]
fn cors_only_for_configured_origins() {
    let w = demo_worker(vec![("ALLOWED_ORIGINS", "https://shop.example".into())]);
    w.ship("ORD-1", "cust-1", "81234567890");
    let preflight = w.request(
        "OPTIONS",
        "/api/shipment/ORD-1/track",
        &[
            ("Origin", "https://shop.example"),
            ("Access-Control-Request-Method", "GET"),
        ],
        None,
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("GET, OPTIONS")
    );
    let token = format!("Bearer {}", customer_token("cust-1"));
    let allowed = w.request(
        "GET",
        "/api/shipment/ORD-1/track",
        &[
            ("Origin", "https://shop.example"),
            ("Authorization", &token),
        ],
        None,
    );
    assert_eq!(allowed.status, 200);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    assert_eq!(allowed.header("vary"), Some("Authorization, Origin"));
    let refused = w.request(
        "GET",
        "/api/shipment/ORD-1/track",
        &[
            ("Origin", "https://evil.example"),
            ("Authorization", &token),
        ],
        None,
    );
    assert_eq!(
        (refused.status, refused.json()["code"].as_str()),
        (403, Some("CORS_ORIGIN_NOT_ALLOWED"))
    );
    assert_eq!(refused.header("access-control-allow-origin"), None);
    let refused_preflight = w.request(
        "OPTIONS",
        "/api/shipment/ORD-1/track",
        &[("Origin", "https://evil.example")],
        None,
    );
    assert_eq!(refused_preflight.status, 403);
}

#[test]
fn a_second_look_with_the_etag_is_a_304_until_the_status_changes() {
    let w = demo_worker(vec![]);
    w.ship("ORD-1", "cust-1", "81234567890");
    let first = w.track("ORD-1", "cust-1", false);
    assert_eq!(first.status, 200, "{}", first.body);
    let etag = first
        .header("etag")
        .expect("a 200 carries an ETag")
        .to_owned();
    let token = format!("Bearer {}", customer_token("cust-1"));
    let look = |tag: &str| {
        w.request(
            "GET",
            "/api/shipment/ORD-1/track",
            &[("Authorization", &token), ("If-None-Match", tag)],
            None,
        )
    };
    let again = look(&etag);
    assert_eq!(again.status, 304, "{}", again.body);
    assert_eq!(again.body, "");
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    assert_eq!(again.header("cache-control"), Some("private, max-age=30"));
    assert_eq!(again.header("vary"), Some("Authorization, Origin"));
    // As a CDN that compressed the answer would send it back: weakened.
    assert_eq!(look(&format!("\"other\", W/{etag}")).status, 304);

    // Blue Dart moves the shipment on; the admin's sync saves it.
    let sync = w.admin("POST", "/api/admin/shipment/ORD-1/sync", None);
    assert_eq!(sync.status, 200, "{}", sync.body);
    assert_eq!(sync.json()["changed"], true);
    let after = look(&etag);
    assert_eq!(after.status, 200, "{}", after.body);
    assert_eq!(after.json()["tracking"]["statusCode"], "out_for_delivery");
    let new_tag = after.header("etag").expect("a new ETag").to_owned();
    assert_ne!(new_tag, etag);
    assert_eq!(look(&new_tag).status, 304);
}

#[test]
fn without_its_static_assets_the_contract_is_a_configuration_error() {
    let w = TestWorker::start_with(Options {
        unbound_assets: true,
        ..Options::default()
    });
    let contract = w.get("/openapi.json");
    assert_eq!(
        (contract.status, contract.json()["code"].as_str()),
        (500, Some("CONFIGURATION_ERROR")),
        "{}",
        contract.body
    );
    assert_eq!(w.request("HEAD", "/openapi.json", &[], None).status, 500);
    let logs = w.wait_for_log("[HTTP] not configured");
    assert!(
        logs.contains("[HTTP] not configured: the static assets (ASSETS) did not answer"),
        "{logs}"
    );
    // Nothing else needs them.
    assert_eq!(w.get("/health").status, 200);
    assert_eq!(w.request("POST", "/openapi.json", &[], None).status, 405);
}

#[test]
fn the_contract_is_served_and_methods_nobody_serves_are_refused() {
    const SHOP: &str = "https://shop.example";
    let w = TestWorker::start_with(Options {
        vars: vec![("ALLOWED_ORIGINS", SHOP.into())],
        ..Options::default()
    });
    // GET /openapi.json is openapi/openapi.json, with no credentials.
    let served = w.get("/openapi.json");
    assert_eq!(served.status, 200, "{}", served.body);
    assert_eq!(served.header("cache-control"), Some("public, max-age=300"));
    let file = std::fs::read_to_string(e2e::root().join("openapi/openapi.json")).unwrap();
    let file: Value = serde_json::from_str(&file).unwrap();
    assert_eq!(served.json(), file);
    // As the static asset holds it, without whitespace.
    let minified =
        std::fs::read_to_string(e2e::root().join("openapi/served/openapi.json")).unwrap();
    assert_eq!(served.body, minified);
    let etag = served.header("etag").expect("an ETag").to_owned();
    for tags in [etag.clone(), format!("\"other\", W/{etag}"), "*".into()] {
        let unchanged = w.request("GET", "/openapi.json", &[("If-None-Match", &tags)], None);
        assert_eq!(
            (unchanged.status, unchanged.body.as_str()),
            (304, ""),
            "{tags}"
        );
        assert_eq!(unchanged.header("etag"), Some(etag.as_str()));
        assert_eq!(
            unchanged.header("cache-control"),
            Some("public, max-age=300")
        );
    }

    // HEAD is GET without the body.
    for path in ["/openapi.json", "/health"] {
        let head = w.request("HEAD", path, &[], None);
        assert_eq!((head.status, head.body.as_str()), (200, ""), "{path}");
        assert!(
            head.header("content-type")
                .is_some_and(|t| t.starts_with("application/json")),
            "{path}"
        );
    }
    assert_eq!(
        w.request("HEAD", "/openapi.json", &[], None).header("etag"),
        Some(etag.as_str())
    );

    // Methods nobody serves are not taken for GET.
    let token = format!("Bearer {}", customer_token("cust-1"));
    for (method, path, allow) in [
        ("QUERY", "/health", "GET, HEAD"),
        ("PROPFIND", "/health", "GET, HEAD"),
        ("PROPFIND", "/openapi.json", "GET, HEAD"),
        ("QUERY", "/api/shipment/ORD-1/track", "GET, OPTIONS"),
    ] {
        let answer = w.request(method, path, &[("Authorization", &token)], None);
        assert_eq!(
            (answer.status, answer.json()["code"].as_str()),
            (405, Some("METHOD_NOT_ALLOWED")),
            "{method} {path}: {}",
            answer.body
        );
        assert_eq!(answer.header("allow"), Some(allow), "{method} {path}");
    }

    // A page can read why the customer route refused it, however early.
    for (method, path, status) in [
        ("GET", "/api/shipment/bad%20id/track", 400),
        ("DELETE", "/api/shipment/ORD-1/track", 405),
    ] {
        let answer = w.request(method, path, &[("Origin", SHOP)], None);
        assert_eq!(answer.status, status, "{method} {path}: {}", answer.body);
        assert_eq!(answer.header("access-control-allow-origin"), Some(SHOP));
        assert_eq!(answer.header("vary"), Some("Authorization, Origin"));
    }
}

#[test]
fn text_beyond_ascii_comes_back_from_the_cache_intact() {
    // KV's values cross into the wasm as bytes: a scan in Hindi with an emoji must come back
    // from the cached answer exactly as the live answer gave it.
    let w = demo_worker(vec![]);
    w.ship("ORD-1", "cust-1", "81234567890");
    let text = "डिलीवरी के लिए निकला — out for delivery 🚚";
    w.sim.state().append_scan(
        "81234567890",
        bluedart_sim::demo::scan(
            text,
            "S",
            "002",
            "UD",
            "2026-01-24 11:12",
            "KOCHI SERVICE CENTRE/COK",
        ),
    );
    let live = w.track("ORD-1", "cust-1", true).json();
    assert_eq!(live["tracking"]["description"], text, "{live}");
    let cached = w.track("ORD-1", "cust-1", false);
    assert_eq!(cached.status, 200, "{}", cached.body);
    let cached = cached.json();
    assert_eq!(cached["dataSource"]["isCached"], true);
    assert_eq!(cached["tracking"]["description"], text);
    assert_eq!(cached["events"], live["events"]);
}
