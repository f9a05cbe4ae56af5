//! Blue Dart push, end to end: the simulator pushes a journey to the real worker under
//! `wrangler dev`, with local D1 and Queues. Repeats, reordering and overlap with a poll add no
//! event twice; bad credentials, malformed bodies and a 5 MB body are refused and store
//! nothing; an unknown waybill is recorded as unmatched; without the secret there is no route.

use std::time::{Duration, Instant};

use bluedart_sim::demo::{self, delivered_in_kochi, out_for_delivery_in_kochi};
use e2e::{Options, PUSH_TOKEN, TestWorker};
use serde_json::{Value, json};

const PATH: &str = "/api/carrier/bluedart/push";
const AWB: &str = "81234567890";

/// Asks the simulator to push `waybill`'s scans at `scans` (oldest first; all when `None`).
fn sim_push(w: &TestWorker, token: &str, variant: &str, scans: Option<Vec<usize>>) -> usize {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut order = json!({"url": format!("{}{PATH}", w.base), "token": token, "waybill": AWB,
                           "variant": variant, "retryPauseMs": 200});
    if let Some(scans) = scans {
        order["scans"] = json!(scans);
    }
    let mut answer = agent
        .post(format!("{}/__control/push", w.sim.base_url()))
        .send_json(order)
        .unwrap();
    assert_eq!(answer.status(), 202);
    let body: Value = serde_json::from_str(&answer.body_mut().read_to_string().unwrap()).unwrap();
    body["pushes"].as_u64().unwrap() as usize
}

/// The simulator's push attempts so far, once at least `count` were made.
fn attempts(w: &TestWorker, count: usize) -> Vec<u16> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let all: Vec<u16> = w.sim.state().pushes.iter().map(|a| a.status).collect();
        if all.len() >= count || Instant::now() > deadline {
            return all;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stats(w: &TestWorker) -> Value {
    let answer = w.admin("GET", "/api/admin/push", None);
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()
}

/// Waits until the consumer has merged `pushes` pushes in all.
fn merged(w: &TestWorker, pushes: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stats = stats(w);
        if stats["counts"]["pushes"].as_u64() >= Some(pushes) {
            return stats;
        }
        assert!(
            Instant::now() < deadline,
            "the push consumer did not catch up: {stats}\n{}",
            w.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn event_rows(w: &TestWorker, order: &str) -> u64 {
    w.d1(&format!(
        "SELECT COUNT(*) AS n FROM tracking_events WHERE order_id = '{order}'"
    ))[0]["n"]
        .as_u64()
        .unwrap()
}

fn push(w: &TestWorker, headers: &[(&str, &str)], body: &str) -> e2e::Answer {
    let mut all = vec![("Content-Type", "application/json")];
    all.extend_from_slice(headers);
    w.request("POST", PATH, &all, Some(body))
}

#[test]
fn pushed_journeys_advance_a_shipment_and_never_duplicate_with_polls() {
    // Production: the hourly cron polls (the queued sync).
    let w = TestWorker::production(&[]);
    w.sim.state().load(vec![demo::in_transit(AWB, "ORD-P1")]);
    w.ship("ORD-P1", "cust-1", AWB);
    assert_eq!(event_rows(&w, "ORD-P1"), 1); // booked

    // Blue Dart pushes the first two scans, one push each (Lite); customers see them within a
    // minute (locally: within the queue's one-second batch window and a merge).
    let pushed = Instant::now();
    assert_eq!(sim_push(&w, PUSH_TOKEN, "lite", None), 2);
    assert_eq!(attempts(&w, 2), [200, 200]);
    let stats = merged(&w, 2);
    let latency = pushed.elapsed();
    eprintln!("push → merged and visible: {latency:?} for 2 pushes");
    assert!(latency < Duration::from_secs(60));
    assert_eq!(event_rows(&w, "ORD-P1"), 3);
    assert_eq!(stats["counts"]["accepted"], 2);
    // Each message was counted under the queue's own id for it, so a redelivery would not be.
    let deliveries = w.d1(
        "SELECT COUNT(DISTINCT delivery_id) AS ids, MIN(LENGTH(delivery_id)) AS shortest \
         FROM push_deliveries",
    );
    assert_eq!(deliveries[0]["ids"], 2, "{deliveries:?}");
    assert!(
        deliveries[0]["shortest"].as_u64() > Some(0),
        "{deliveries:?}"
    );
    let track = w.track("ORD-P1", "cust-1", false).json();
    assert_eq!(track["tracking"]["description"], "SHIPMENT ARRIVED");
    // Fresh data: the next poll is at least the moving interval away.
    let order = &w.d1("SELECT next_check_at FROM orders WHERE id = 'ORD-P1'")[0];
    let next =
        chrono::DateTime::parse_from_rfc3339(order["next_check_at"].as_str().unwrap()).unwrap();
    assert!(
        next > chrono::Utc::now() + chrono::Duration::minutes(40),
        "{order}"
    );

    // The parcel moves on; the hourly poll sees it first (made due: the push had moved its
    // next check out).
    {
        let mut sim = w.sim.state();
        sim.append_scan(AWB, out_for_delivery_in_kochi());
        sim.append_scan(AWB, delivered_in_kochi());
    }
    w.d1("UPDATE orders SET next_check_at = '2000-01-01T00:00:00Z' WHERE id = 'ORD-P1'");
    let run = w.cron_run();
    assert_eq!(run["succeeded"], 1, "{run}");
    assert_eq!(event_rows(&w, "ORD-P1"), 5);

    // Then Blue Dart pushes everything again, in order (Lite) and backwards (Plus).
    sim_push(&w, PUSH_TOKEN, "lite", None);
    sim_push(&w, PUSH_TOKEN, "plus", Some(vec![3, 2, 1, 0]));
    let stats = merged(&w, 10);
    assert_eq!(event_rows(&w, "ORD-P1"), 5, "{}", w.logs());
    let track = w.track("ORD-P1", "cust-1", false).json();
    assert_eq!(track["shippingStatus"], "Delivered");
    assert_eq!(track["orderStatus"], "Delivered");
    assert_eq!(stats["statusChanges"]["push"], 1);
    assert_eq!(stats["statusChanges"]["poll"], 1);
    assert_eq!(stats["statusChanges"]["pushShare"], 0.5);
    // Personal data pushed with the delivery went nowhere.
    let admin = w
        .admin("GET", "/api/admin/shipment/ORD-P1/track", None)
        .body;
    let logs = w.settled_logs();
    for secret in ["SIM RECEIVER", "SIMPAN1234X", "iVBORw0KGgo", "SIM-SECURE"] {
        assert!(
            !admin.contains(secret) && !logs.contains(secret),
            "{secret}"
        );
    }
    let dump = w.d1("SELECT group_concat(body) AS b FROM carrier_responses");
    assert!(!dump[0]["b"].as_str().unwrap_or("").contains("SIMPAN"));
}

#[test]
fn bad_credentials_malformed_and_oversized_pushes_store_nothing() {
    let w = TestWorker::start();
    w.sim.state().load(vec![demo::in_transit(AWB, "ORD-P2")]);
    w.ship("ORD-P2", "cust-1", AWB);

    // Wrong token: Blue Dart tries three times, all refused.
    sim_push(&w, "not-the-token", "lite", Some(vec![0]));
    assert_eq!(attempts(&w, 3), [401, 401, 401]);
    let answer = push(&w, &[], r#"{"statustracking":[]}"#);
    assert_eq!(
        (answer.status, answer.json()["code"].clone()),
        (401, json!("UNAUTHORIZED"))
    );

    // Basic auth with the token as password works.
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("bluedart:{PUSH_TOKEN}"))
    );
    let answer = push(&w, &[("Authorization", &basic)], r#"{"statustracking":[]}"#);
    assert_eq!(answer.status, 200, "{}", answer.body);

    // Malformed: not JSON; and a push with bad items beside a good one.
    let answer = push(&w, &[("token", PUSH_TOKEN)], "{not json");
    assert_eq!(
        (answer.status, answer.json()["code"].clone()),
        (400, json!("INVALID_PUSH"))
    );
    let good = json!({"Shipment": {"WaybillNo": AWB, "Scan": "SHIPMENT ARRIVED", "ScanCode": "001",
        "ScanType": "UD", "ScanGroupType": "S", "ScanDate": "23-01-2026", "ScanTime": "2240",
        "ScannedLocation": "KOCHI SERVICE CENTRE", "ScannedLocationCode": "COK"}});
    let unknown = json!({"Shipment": {"WaybillNo": "81234599999", "Scan": "SHIPMENT ARRIVED",
        "ScanType": "UD", "ScanDate": "23-01-2026", "ScanTime": "2240"}});
    let body = json!({"statustracking": [good, {"Shipment": {"WaybillNo": "12"}}, "x", unknown]});
    let answer = push(&w, &[("token", PUSH_TOKEN)], &body.to_string());
    assert_eq!(answer.status, 200, "{}", answer.body);
    let counts = answer.json();
    assert_eq!(
        (counts["accepted"].clone(), counts["rejected"].clone()),
        (json!(2), json!(2))
    );
    let stats = merged(&w, 2);
    assert_eq!(stats["unmatched"][0]["awbNo"], "81234599999");
    assert_eq!(stats["counts"]["unmatched"], 1);
    assert_eq!(event_rows(&w, "ORD-P2"), 2);

    // 5 MB (base64 images, as a delivery push may carry): 413 with a JSON error, nothing kept.
    let image = "iVBORw0KGgo".repeat(5 * 1024 * 1024 / 11);
    let huge = json!({"statustracking": [{"Shipment": {"WaybillNo": AWB, "Scan": "SHIPMENT DELIVERED",
        "ScanCode": "000", "ScanType": "DL", "ScanGroupType": "T", "ScanDate": "24-01-2026",
        "ScanTime": "1405", "Scans": {"PODDCImages": {"PODImage": image}}}}]});
    let answer = push(&w, &[("token", PUSH_TOKEN)], &huge.to_string());
    assert_eq!(answer.status, 413, "{}", answer.body);
    assert_eq!(answer.json()["code"], "PAYLOAD_TOO_LARGE");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(stats_pushes(&w), 2);
    assert_eq!(event_rows(&w, "ORD-P2"), 2);
}

fn stats_pushes(w: &TestWorker) -> u64 {
    stats(w)["counts"]["pushes"].as_u64().unwrap()
}

#[test]
fn without_the_secret_there_is_no_push_route() {
    let w = TestWorker::start_with(Options {
        secrets: vec![("BLUEDART_PUSH_TOKEN", String::new())],
        ..Options::default()
    });
    let answer = push(&w, &[("token", "")], r#"{"statustracking":[]}"#);
    assert_eq!(
        (answer.status, answer.json()["code"].clone()),
        (404, json!("NOT_FOUND"))
    );
    assert_eq!(stats(&w)["enabled"], false);
}
