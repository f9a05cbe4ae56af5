//! Signed webhooks, end to end: the real worker under `wrangler dev` (local D1 and Queues)
//! delivers to a receiver on 127.0.0.1 (`support/webhook_receiver.py`) that verifies every
//! delivery with the official Standard Webhooks library from PyPI and fails the first attempts
//! on purpose. A simulated journey's every status change arrives exactly once, in event-time
//! order, signed; retries wait longer each time; a replay re-sends the same webhook-id; a
//! disabled endpoint receives nothing; after a rotation both secrets verify.

use std::fs;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bluedart_sim::demo::{self, delivered_in_kochi, out_for_delivery_in_kochi};
use e2e::{Options, TestWorker, root};
use serde_json::{Value, json};

const AWB: &str = "81234567801";
const ORDER: &str = "ORD-W1";

/// The receiver: a Python process with the official library, stopped when dropped.
struct Receiver {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

impl Receiver {
    fn start() -> Receiver {
        let python = root().join(".venv/bin/python");
        assert!(
            python.exists(),
            "the webhook receiver needs .venv with standardwebhooks: run `bash scripts/setup.sh`"
        );
        let port_file =
            std::env::temp_dir().join(format!("webhook-receiver-{}", std::process::id()));
        let _ = fs::remove_file(&port_file);
        let child = Command::new(python)
            .arg(root().join("tests/support/webhook_receiver.py"))
            .arg(&port_file)
            .stdout(Stdio::null())
            .spawn()
            .expect("start the webhook receiver");
        let deadline = Instant::now() + Duration::from_secs(20);
        let port = loop {
            if let Ok(port) = fs::read_to_string(&port_file)
                && !port.is_empty()
            {
                break port;
            }
            assert!(
                Instant::now() < deadline,
                "the webhook receiver did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let _ = fs::remove_file(&port_file);
        Receiver {
            child,
            base: format!("http://127.0.0.1:{}", port.trim()),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into(),
        }
    }

    fn url(&self, name: &str) -> String {
        format!("{}/hooks/{name}", self.base)
    }

    fn configure(&self, name: &str, config: Value) {
        let answer = self
            .agent
            .post(format!("{}/__config/{name}", self.base))
            .send_json(config)
            .unwrap();
        assert_eq!(answer.status(), 200);
    }

    /// Every request received so far, in arrival order.
    fn deliveries(&self) -> Vec<Value> {
        let mut answer = self
            .agent
            .get(format!("{}/__deliveries", self.base))
            .call()
            .unwrap();
        serde_json::from_str(&answer.body_mut().read_to_string().unwrap()).unwrap()
    }

    /// The requests to `name`, once `done` says they are complete (at most 90 s).
    fn wait(
        &self,
        name: &str,
        what: &str,
        done: impl Fn(&[Value]) -> bool,
        w: &TestWorker,
    ) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let got: Vec<Value> = self
                .deliveries()
                .into_iter()
                .filter(|d| d["name"] == name)
                .collect();
            if done(&got) {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: {}\n{}",
                serde_json::to_string_pretty(&got).unwrap(),
                w.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn body(delivery: &Value) -> Value {
    serde_json::from_str(delivery["body"].as_str().unwrap()).unwrap()
}

/// The distinct webhook ids answered 2xx, in arrival order.
fn delivered_ids(got: &[Value]) -> Vec<String> {
    got.iter()
        .filter(|d| d["answered"] == 204)
        .map(|d| d["webhookId"].as_str().unwrap().to_owned())
        .collect()
}

fn create(w: &TestWorker, url: &str, types: &[&str]) -> (String, String) {
    let answer = w.admin(
        "POST",
        "/api/admin/webhooks",
        Some(json!({"url": url, "eventTypes": types, "description": "e2e"})),
    );
    assert_eq!(answer.status, 201, "{}", answer.body);
    let body = answer.json();
    let secret = body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    (body["webhook"]["id"].as_str().unwrap().to_owned(), secret)
}

fn sync(w: &TestWorker) {
    let answer = w.admin("POST", &format!("/api/admin/shipment/{ORDER}/sync"), None);
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[test]
fn a_journey_arrives_signed_once_in_order_with_retries_replay_disable_and_rotation() {
    let receiver = Receiver::start();
    // No refresh interval: the admin's look below may refresh right after the customer's.
    let w = TestWorker::start_with(Options {
        vars: vec![("FORCE_REFRESH_MIN_INTERVAL_SECONDS", "0".into())],
        ..Options::default()
    });
    w.sim.state().load(vec![demo::in_transit(AWB, ORDER)]);

    // Endpoint A fails its first three requests; endpoint B is disabled before anything happens.
    let (a, secret_a) = create(
        &w,
        &receiver.url("a"),
        &[
            "shipment.status_changed",
            "shipment.out_for_delivery",
            "shipment.delivered",
        ],
    );
    receiver.configure(
        "a",
        json!({"secrets": {"a": secret_a}, "failFirst": 3, "failStatus": 503}),
    );
    let (b, secret_b) = create(&w, &receiver.url("b"), &["shipment.status_changed"]);
    receiver.configure("b", json!({"secrets": {"b": secret_b}}));
    let disabled = w.admin(
        "PATCH",
        &format!("/api/admin/webhooks/{b}"),
        Some(json!({"enabled": false})),
    );
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    assert_eq!(disabled.json()["webhook"]["enabled"], false);
    // The secret is never shown again.
    let listed = w.admin("GET", "/api/admin/webhooks", None);
    assert_eq!(listed.status, 200);
    assert!(!listed.body.contains("whsec_"), "{}", listed.body);
    assert_eq!(listed.json()["webhooks"].as_array().unwrap().len(), 2);

    // The journey, through the paths that change a status: the waybill attached (booked), a
    // customer's refresh (in transit), an admin's sync (out for delivery, then again with
    // nothing new), and an admin's look at a stale order, refreshed through the refresh queue
    // (delivered), then synced again with nothing new.
    w.ship(ORDER, "cust-1", AWB);
    let refreshed = w.track(ORDER, "cust-1", true);
    assert_eq!(
        refreshed.json()["tracking"]["statusCode"],
        "in_transit",
        "{}",
        refreshed.body
    );
    w.sim.state().append_scan(AWB, out_for_delivery_in_kochi());
    sync(&w);
    sync(&w);
    w.sim.state().append_scan(AWB, delivered_in_kochi());
    w.d1(&format!(
        "UPDATE orders SET last_synced_at = '2000-01-01T00:00:00Z' WHERE id = '{ORDER}'"
    ));
    let look = w.admin("GET", &format!("/api/admin/shipment/{ORDER}/track"), None);
    assert_eq!(look.status, 200, "{}", look.body);
    let deadline = Instant::now() + Duration::from_secs(60);
    while w.track(ORDER, "cust-1", false).json()["tracking"]["statusCode"] != "delivered" {
        assert!(
            Instant::now() < deadline,
            "the background refresh did not come\n{}",
            w.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    sync(&w);

    let expected = [
        ("shipment.status_changed", "info_received"),
        ("shipment.status_changed", "in_transit"),
        ("shipment.status_changed", "out_for_delivery"),
        ("shipment.out_for_delivery", "out_for_delivery"),
        ("shipment.status_changed", "delivered"),
        ("shipment.delivered", "delivered"),
    ];
    let got = receiver.wait(
        "a",
        "six messages delivered to A",
        |got| delivered_ids(got).len() >= 6,
        &w,
    );
    // Settle: nothing more may come (no duplicates from the re-syncs or redeliveries).
    std::thread::sleep(Duration::from_secs(5));
    let got = receiver.wait("a", "A's deliveries", |g| g.len() >= got.len(), &w);

    // Every request, failed ones included, verifies with the official library.
    for d in &got {
        assert_eq!(d["verified"]["a"], true, "{d}");
        assert!(!d["body"].as_str().unwrap().contains("consignee"), "{d}");
    }
    // Exactly once each, in event-time order.
    let ids = delivered_ids(&got);
    assert_eq!(ids.len(), 6, "{got:#?}");
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 6, "{ids:?}");
    let delivered: Vec<Value> = got
        .iter()
        .filter(|d| d["answered"] == 204)
        .map(body)
        .collect();
    let seen: Vec<(String, String)> = delivered
        .iter()
        .map(|b| {
            (
                b["type"].as_str().unwrap().to_owned(),
                b["data"]["current"]["statusCode"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = expected
        .iter()
        .map(|(t, s)| (t.to_string(), s.to_string()))
        .collect();
    assert_eq!(seen, want);
    // The booked entry first (as the domain ranks it), then the carrier's events by time.
    let times: Vec<&str> = delivered[1..]
        .iter()
        .map(|b| b["data"]["latestEvent"]["eventDate"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|p| p[0] <= p[1]), "{times:?}");
    assert_eq!(
        delivered[4]["data"]["previous"]["statusCode"],
        "out_for_delivery"
    );
    assert_eq!(delivered[4]["data"]["orderId"], ORDER);
    assert_eq!(delivered[4]["data"]["awbNo"], AWB);

    // The first message failed three times and then went through, each wait longer.
    let first: Vec<&Value> = got
        .iter()
        .filter(|d| d["webhookId"] == ids[0].as_str())
        .collect();
    let answered: Vec<i64> = first
        .iter()
        .map(|d| d["answered"].as_i64().unwrap())
        .collect();
    assert_eq!(answered, [503, 503, 503, 204]);
    let at: Vec<f64> = first
        .iter()
        .map(|d| d["arrivedAt"].as_f64().unwrap())
        .collect();
    let gaps: Vec<f64> = at.windows(2).map(|p| p[1] - p[0]).collect();
    assert!(gaps[0] >= 0.9 && gaps[2] > gaps[0], "retry gaps {gaps:?}");

    // The admin API lists the attempts.
    let deliveries = w.admin("GET", &format!("/api/admin/webhooks/{a}/deliveries"), None);
    assert_eq!(deliveries.status, 200, "{}", deliveries.body);
    let list = deliveries.json()["deliveries"].as_array().unwrap().clone();
    assert_eq!(list.len(), 6);
    let oldest = list.last().unwrap();
    assert_eq!(oldest["webhookId"], ids[0].as_str());
    assert_eq!(oldest["state"], "delivered");
    let attempts = oldest["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 4, "{oldest}");
    assert_eq!(attempts[0]["httpStatus"], 503);
    assert!(attempts[0]["nextRetryAt"].is_string());
    assert_eq!(attempts[3]["httpStatus"], 204);
    assert!(attempts[3]["nextRetryAt"].is_null());

    // A replay sends the same webhook-id again.
    let newest = &list[0];
    let replay = w.admin(
        "POST",
        &format!("/api/admin/webhooks/{a}/deliveries/{}/replay", newest["id"]),
        None,
    );
    assert_eq!(replay.status, 202, "{}", replay.body);
    let before = got.len();
    let got = receiver.wait("a", "the replay", |g| g.len() > before, &w);
    assert_eq!(got[before]["webhookId"], newest["webhookId"]);
    assert_eq!(got[before]["verified"]["a"], true);

    // Rotation: the new secret is shown once; for a day both verify.
    let rotated = w.admin(
        "PATCH",
        &format!("/api/admin/webhooks/{a}"),
        Some(json!({"rotateSecret": true})),
    );
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new_secret = rotated.json()["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret_a);
    assert!(rotated.json()["webhook"]["previousSecretExpiresAt"].is_string());
    receiver.configure(
        "a",
        json!({"secrets": {"old": secret_a, "new": new_secret}}),
    );
    let ping = w.admin("POST", &format!("/api/admin/webhooks/{a}/test"), None);
    assert_eq!(ping.status, 202, "{}", ping.body);
    let before = got.len();
    let got = receiver.wait("a", "the ping", |g| g.len() > before, &w);
    let pinged = &got[before];
    assert_eq!(body(pinged)["type"], "ping");
    assert_eq!(pinged["verified"]["old"], true, "{pinged}");
    assert_eq!(pinged["verified"]["new"], true, "{pinged}");
    assert_eq!(
        pinged["webhookSignature"]
            .as_str()
            .unwrap()
            .split(' ')
            .count(),
        2
    );

    // The disabled endpoint got nothing at all.
    assert!(
        receiver.deliveries().iter().all(|d| d["name"] != "b"),
        "a disabled endpoint received a webhook"
    );
    let b_deliveries = w.admin("GET", &format!("/api/admin/webhooks/{b}/deliveries"), None);
    assert_eq!(b_deliveries.json()["deliveries"], json!([]));
    // The secrets never reached the log.
    let logs = w.logs();
    assert!(!logs.contains(&secret_a) && !logs.contains(&new_secret));
}

#[test]
fn production_takes_https_endpoints_only() {
    let w = TestWorker::production(&[]);
    let local = w.admin(
        "POST",
        "/api/admin/webhooks",
        Some(json!({"url": "http://127.0.0.1:9/hook", "eventTypes": ["shipment.lost"]})),
    );
    assert_eq!(local.status, 400, "{}", local.body);
    assert_eq!(local.json()["field"], "url");
    let (id, _) = create(&w, "https://shop.example.com/hook", &["shipment.lost"]);
    let moved = w.admin(
        "PATCH",
        &format!("/api/admin/webhooks/{id}"),
        Some(json!({"url": "http://shop.example.com/hook"})),
    );
    assert_eq!(moved.status, 400, "{}", moved.body);
}

#[test]
fn endpoint_urls_are_checked_and_unknown_ids_are_not_found() {
    let w = TestWorker::start();
    for (url, types) in [
        ("http://10.0.0.1/hook", json!(["shipment.delivered"])),
        ("ftp://127.0.0.1/hook", json!(["shipment.delivered"])),
        ("http://127.0.0.1:9/hook", json!([])),
        ("http://127.0.0.1:9/hook", json!(["shipment.teleported"])),
    ] {
        let answer = w.admin(
            "POST",
            "/api/admin/webhooks",
            Some(json!({"url": url, "eventTypes": types})),
        );
        assert_eq!(answer.status, 400, "{url} {types}: {}", answer.body);
        assert_eq!(answer.json()["code"], "VALIDATION_ERROR");
    }
    let missing = w.admin("GET", "/api/admin/webhooks/ep_missing", None);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["code"], "WEBHOOK_NOT_FOUND");
    let (id, _) = create(&w, "http://127.0.0.1:9/hook", &["shipment.lost"]);
    let replay = w.admin(
        "POST",
        &format!("/api/admin/webhooks/{id}/deliveries/99/replay"),
        None,
    );
    assert_eq!(replay.status, 404);
    assert_eq!(replay.json()["code"], "DELIVERY_NOT_FOUND");
    let deleted = w.admin("DELETE", &format!("/api/admin/webhooks/{id}"), None);
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(
        w.admin("GET", &format!("/api/admin/webhooks/{id}"), None)
            .status,
        404
    );
}
