//! End to end: the promises that hold under load, faults and upgrades — one Blue Dart call for
//! many concurrent refreshes, the circuit breaker, the refresh hint, migrations over existing
//! data, storage errors that leak nothing, and logs free of personal data.

use bluedart_sim::{Endpoint, Fault, FaultRule, SimConfig};
use e2e::{Options, TestWorker, customer_token};
use serde_json::json;

fn demo_worker(vars: &[(&'static str, &str)]) -> TestWorker {
    TestWorker::start_with(Options {
        vars: vars.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        sim: SimConfig {
            demo: true,
            ..SimConfig::default()
        },
        ..Options::default()
    })
}

#[test]
fn fifty_concurrent_refreshes_make_exactly_one_blue_dart_call() {
    let w = demo_worker(&[]);
    w.ship("ORD-1", "cust-1", "81234567890");
    // Slow enough that the requests overlap the one call that goes through.
    w.sim.state().set_latency(Endpoint::Tracking, 300);
    let token = format!("Bearer {}", customer_token("cust-1"));
    let answers: Vec<(u16, serde_json::Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..50)
            .map(|_| {
                scope.spawn(|| {
                    let answer = w.request(
                        "GET",
                        "/api/shipment/ORD-1/track?forceRefresh=true",
                        &[("Authorization", &token)],
                        None,
                    );
                    (answer.status, answer.json())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        answers
            .iter()
            .all(|(status, body)| *status == 200 && body["success"] == true)
    );
    assert_eq!(
        w.sim.calls(Endpoint::Tracking).len(),
        1,
        "exactly one went live: {:?}",
        w.sim.calls(Endpoint::Tracking)
    );
    let live = answers
        .iter()
        .filter(|(_, b)| b["dataSource"]["isLive"] == true)
        .count();
    assert_eq!(live, 1);
    let limited = answers
        .iter()
        .filter(|(_, b)| b["retryAfterSeconds"].is_u64())
        .count();
    assert_eq!(live + limited, 50, "the rest are told when to try again");
    let rows = w.d1("SELECT COUNT(*) AS n, COUNT(DISTINCT awb_no || event_at || scan_code || city) AS u FROM tracking_events");
    assert_eq!(rows[0]["n"], rows[0]["u"], "no duplicate events");
}

/// Refreshes of different orders do not wait for each other: Blue Dart holds each call for
/// three seconds, and every order's call arrives before the first one is answered.
#[test]
fn refreshes_of_different_orders_run_side_by_side() {
    let w = demo_worker(&[]);
    let orders: Vec<(String, String)> = (0..6)
        .map(|i| (format!("ORD-{i}"), format!("8123456789{i}")))
        .collect();
    for (order, awb) in &orders {
        w.ship(order, "cust-1", awb);
    }
    const HOLD_MS: i64 = 3000;
    w.sim
        .state()
        .set_latency(Endpoint::Tracking, HOLD_MS as u64);
    let live: Vec<serde_json::Value> = std::thread::scope(|scope| {
        let handles: Vec<_> = orders
            .iter()
            .map(|(order, _)| scope.spawn(|| w.track(order, "cust-1", true).json()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (answer, (order, _)) in live.iter().zip(&orders) {
        assert_eq!(answer["dataSource"]["isLive"], true, "{order}: {answer}");
    }
    let calls = w.sim.calls(Endpoint::Tracking);
    let mut waybills: Vec<&str> = calls.iter().map(|c| c.waybills[0].as_str()).collect();
    waybills.sort_unstable();
    let wanted: Vec<&str> = orders.iter().map(|(_, awb)| awb.as_str()).collect();
    assert_eq!(waybills, wanted, "one call per order");
    let first = calls.iter().map(|c| c.at_ms).min().unwrap();
    let last = calls.iter().map(|c| c.at_ms).max().unwrap();
    eprintln!(
        "6 refreshes' Blue Dart calls arrived within {} ms",
        last - first
    );
    assert!(
        last - first < HOLD_MS,
        "the last call arrived {} ms after the first, which was held {HOLD_MS} ms: they queued",
        last - first
    );
}

#[test]
fn a_refresh_too_soon_is_answered_from_the_cache_with_when_to_retry() {
    let w = demo_worker(&[("FORCE_REFRESH_MIN_INTERVAL_SECONDS", "60")]);
    w.ship("ORD-1", "cust-1", "81234567890");
    let first = w.track("ORD-1", "cust-1", true).json();
    assert_eq!(first["dataSource"]["isLive"], true);
    let second = w.track("ORD-1", "cust-1", true);
    assert_eq!(second.status, 200);
    let body = second.json();
    assert_eq!(
        body["dataSource"],
        json!({"isLive": false, "isCached": true, "unavailable": false})
    );
    assert_eq!(
        body["message"],
        "Tracking was refreshed moments ago. Showing cached data."
    );
    let wait = body["retryAfterSeconds"].as_u64().unwrap();
    assert!((55..=60).contains(&wait), "{wait}");
    assert_eq!(
        second.header("retry-after"),
        Some(wait.to_string().as_str())
    );
    assert_eq!(body["tracking"], first["tracking"]);
    assert_eq!(w.sim.calls(Endpoint::Tracking).len(), 1);
}

#[test]
fn with_the_circuit_open_a_track_makes_no_call_and_answers_from_the_cache() {
    let w = demo_worker(&[
        ("BREAKER_FAILURE_THRESHOLD", "2"),
        ("BREAKER_COOLDOWN_SECONDS", "60"),
        ("FORCE_REFRESH_MIN_INTERVAL_SECONDS", "0"),
        ("ENVIRONMENT", "production"),
    ]);
    w.ship("ORD-1", "cust-1", "81234567890");
    w.sim.state().set_fault(
        Endpoint::Tracking,
        Some(FaultRule::always(Fault::Status { code: 503 })),
    );
    for _ in 0..2 {
        let body = w.track("ORD-1", "cust-1", true).json();
        assert_eq!(body["bluedartError"], "Blue Dart is unavailable (HTTP 503)");
    }
    w.sim.state().clear_faults();
    let calls = w.sim.calls(Endpoint::Tracking).len();
    let answer = w.track("ORD-1", "cust-1", true);
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("server-timing"),
        None,
        "production answers carry no trace"
    );
    let body = answer.json();
    assert_eq!(
        w.sim.calls(Endpoint::Tracking).len(),
        calls,
        "no Blue Dart call while open"
    );
    assert_eq!(body["dataSource"]["isCached"], true);
    assert_eq!(body["tracking"]["status"], "Booked");
    assert_eq!(
        body["message"],
        "Live tracking unavailable. Showing cached data."
    );
    assert!(
        body["bluedartError"]
            .as_str()
            .unwrap()
            .starts_with("Blue Dart is temporarily unavailable (circuit open; retry in"),
        "{body}"
    );
    // The queued sync makes no call while the circuit is open: the consumer hands its message
    // back to the queue, delayed until the cool-down ends, and the run waits for it.
    assert_eq!(w.fire_cron().status, 200);
    let logs = w.wait_for_log("handed back for later");
    assert!(
        logs.contains(
            "[TRACKING SYNC] 1 messages handed back for later: Blue Dart's circuit is open"
        ),
        "{logs}"
    );
    let runs = w.admin("GET", "/api/admin/sync/runs", None).json();
    let run = &runs["runs"][0];
    assert_eq!(
        (
            run["trigger"].as_str(),
            run["status"].as_str(),
            run["enqueued"].as_u64()
        ),
        (Some("cron"), Some("running"), Some(1)),
        "{run}"
    );
    assert_eq!(w.sim.calls(Endpoint::Tracking).len(), calls);
    let logs = w.wait_for_log("[BREAKER] Circuit open");
    assert!(
        logs.contains("[BREAKER] Circuit open for 60 s after 2 failed calls in a row"),
        "{logs}"
    );
}

#[test]
fn migrations_apply_cleanly_to_a_database_with_data() {
    // A deployment that only ever had the first migration, with an order and its history.
    let w = TestWorker::start_with(Options {
        sim: SimConfig {
            demo: true,
            ..SimConfig::default()
        },
        upgrade_from: Some((
            1,
            "INSERT INTO orders (id, customer_id, order_status, shipping_status, awb_no, created_at, updated_at) \
             VALUES ('ORD-OLD', 'cust-1', 'Shipped', 'In-Transit', '81234567890', '2026-01-21T08:01:12Z', '2026-01-21T11:45:00Z'); \
             INSERT INTO tracking_events (order_id, awb_no, carrier_status, status, description, scan_code, event_at, synced_at, is_latest) \
             VALUES ('ORD-OLD', '81234567890', 'BOOKED', 'info_received', 'Shipment booked with Blue Dart', 'BOOKED', \
                     '2026-01-21T11:45:00Z', '2026-01-21T11:45:00Z', 1); \
             INSERT INTO tracking_events (order_id, awb_no, carrier_status, status, description, scan_code, city, state, event_at, synced_at, is_latest) \
             VALUES ('ORD-OLD', '81234567890', 'SHIPMENT ARRIVED', 'in_transit', 'SHIPMENT ARRIVED', 'S/001', 'Kochi', 'KL', \
                     '2026-01-23T17:10:00Z', '2026-01-24T00:00:00Z', 0)",
        )),
        ..Options::default()
    });
    let applied = w.d1("SELECT name FROM d1_migrations ORDER BY id");
    let names: Vec<&str> = applied
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    // Every migration in the project, in order.
    let mut expected: Vec<String> = std::fs::read_dir(e2e::root().join("migrations"))
        .expect("the migrations folder")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql"))
        .collect();
    expected.sort();
    assert!(expected.len() >= 5, "{expected:?}");
    assert_eq!(names, expected);
    let old = w.track("ORD-OLD", "cust-1", false);
    assert_eq!(old.status, 200, "{}", old.body);
    assert_eq!(old.json()["orderCreatedAt"], "2026-01-21T08:01:12Z");
    assert_eq!(old.json()["tracking"]["status"], "Booked");
    // The old order goes on working with the new tables.
    let sync = w.admin("POST", "/api/admin/shipment/ORD-OLD/sync", None);
    assert_eq!(sync.status, 200, "{}", sync.body);
    assert_eq!(sync.json()["status"], "out_for_delivery");
    // The scan stored before places were kept apart is the same scan Blue Dart sends again
    // ("KOCHI SERVICE CENTRE"): one row, not two, now with its facility.
    let history = w.d1(
        "SELECT scan_code, facility, city, COUNT(*) AS n FROM tracking_events WHERE order_id = 'ORD-OLD' \
         GROUP BY scan_code ORDER BY scan_code",
    );
    let rows: Vec<(String, u64)> = history
        .iter()
        .map(|r| {
            (
                r["scan_code"].as_str().unwrap().to_owned(),
                r["n"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("BOOKED".to_owned(), 1),
            ("S/001".to_owned(), 1),
            ("S/002".to_owned(), 1),
            ("S/003".to_owned(), 1)
        ]
    );
    assert_eq!(
        w.admin("GET", "/api/admin/sync/runs", None).json()["runs"][0]["trigger"],
        "manual"
    );
}

#[test]
fn storage_errors_leak_no_sql() {
    let w = demo_worker(&[]);
    w.ship("ORD-1", "cust-1", "81234567890");
    w.d1("DROP TABLE carrier_responses");
    let answer = w.admin("GET", "/api/admin/shipment/ORD-1/track", None);
    assert_eq!(answer.status, 503);
    assert_eq!(
        answer.body,
        r#"{"success":false,"message":"Storage is unavailable; try again shortly","code":"STORAGE_UNAVAILABLE"}"#
    );
    let logs = w.wait_for_log("STORAGE_UNAVAILABLE");
    assert!(logs.contains("[HTTP] 503 STORAGE_UNAVAILABLE"), "{logs}");
}

#[test]
fn configuration_errors_are_generic_outside_and_named_in_the_log() {
    let w = TestWorker::start_with(Options {
        vars: vec![("BLUEDART_TIMEOUT_MS", "soon".into())],
        ..Options::default()
    });
    let answer = w.track("ORD-1", "cust-1", false);
    assert_eq!(answer.status, 500);
    // Callers learn that the service is misconfigured, not which variable or what value.
    assert_eq!(
        answer.body,
        r#"{"success":false,"message":"The service is not configured correctly","code":"CONFIGURATION_ERROR"}"#
    );
    let health = w.get("/health");
    assert_eq!(
        (health.status, health.body.as_str()),
        (503, r#"{"status":"unavailable"}"#)
    );
    // The contract needs no configuration.
    assert_eq!(w.get("/openapi.json").status, 200);
    // The operator finds the variable in the log.
    let logs = w.wait_for_log("[HTTP] not configured");
    assert!(
        logs.contains("[HTTP] not configured: configuration variable BLUEDART_TIMEOUT_MS"),
        "{logs}"
    );
    for secret in [
        e2e::ADMIN_TOKEN,
        e2e::CUSTOMER_TOKEN_SECRET,
        "dev-client-secret",
        "dev-licence-key",
    ] {
        assert!(!answer.body.contains(secret));
        assert!(!logs.contains(secret));
    }
}

#[test]
fn personal_data_and_credentials_never_reach_the_logs() {
    let w = demo_worker(&[
        ("ENVIRONMENT", "production"),
        ("FORCE_REFRESH_MIN_INTERVAL_SECONDS", "0"),
    ]);
    // Waybill 81234567891's payload carries the consignee's name, address and phone.
    w.ship("ORD-1", "cust-1", "81234567891");
    w.track("ORD-1", "cust-1", true);
    w.admin("GET", "/api/admin/shipment/ORD-1/track", None);
    w.admin("POST", "/api/admin/shipment/ORD-1/sync", None);
    w.d1("UPDATE orders SET last_synced_at = '2020-01-01T00:00:00Z', next_check_at = '2020-01-01T00:00:00Z'");
    w.fire_cron();
    w.admin(
        "PUT",
        "/api/admin/orders/ORD-2",
        Some(json!({"customerId": "cust-2"})),
    );
    w.admin(
        "POST",
        "/api/admin/shipment/ORD-2/awb",
        Some(
            json!({"generate": {"consignee": {"name": "RAVI KUMAR", "address1": "7 LAKE VIEW ROAD",
            "pincode": "560001", "mobile": "9811122233"}, "weightKg": 1.2}}),
        ),
    );
    w.sim.state().set_fault(
        Endpoint::Tracking,
        Some(FaultRule::always(Fault::MalformedXml)),
    );
    w.track("ORD-1", "cust-1", true);
    w.wait_for_log("[TRACKING SYNC] Completed");
    let logs = w.settled_logs();
    assert!(
        logs.contains("[TRACKING SAVED]"),
        "the scan looked at real sync logs: {logs}"
    );
    let forbidden = [
        "ASHA",
        "MENON",
        "MARINE DRIVE",
        "9847012345",
        "682031",
        "RAVI KUMAR",
        "LAKE VIEW",
        "9811122233",
        e2e::ADMIN_TOKEN,
        e2e::CUSTOMER_TOKEN_SECRET,
        e2e::TRACKING_LINK_SECRET,
        "dev-client-secret",
        "dev-licence-key",
        "JWTToken",
        "eyJhbGciOi",
    ];
    for needle in forbidden {
        assert!(!logs.contains(needle), "{needle:?} appears in the logs");
    }
}
