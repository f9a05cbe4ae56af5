//! End to end: every simulator fault × every path that calls Blue Dart (customer refresh, admin
//! track with its background refresh, manual sync, cron sync). Each cell checks that the caller
//! got a correct, labelled answer within the timeout plus a margin, and that stored data is
//! unchanged where a failure must change nothing. The observed outcomes make the table in the
//! README; this test fails when the README's table differs, and writes the current one to
//! `target/fault-matrix.md`.

use std::time::{Duration, Instant};

use bluedart_sim::{Endpoint, Fault, FaultRule, SimConfig};
use e2e::{Options, TestWorker};
use serde_json::Value;

const TIMEOUT_MS: u64 = 1000;
/// What a caller may wait beyond the calls' own timeouts: the worker's own work, wrangler,
/// a busy two-core machine.
const MARGIN: Duration = Duration::from_millis(2500);
const START: &str = "<!-- fault-matrix:start -->";
const END: &str = "<!-- fault-matrix:end -->";

struct Mode {
    name: &'static str,
    fault: Option<Fault>,
    latency_ms: u64,
}

fn modes() -> Vec<Mode> {
    let fault = |name, fault| Mode {
        name,
        fault: Some(fault),
        latency_ms: 0,
    };
    vec![
        Mode {
            name: "none",
            fault: None,
            latency_ms: 0,
        },
        Mode {
            name: "300 ms latency",
            fault: None,
            latency_ms: 300,
        },
        fault("hangs 3 s", Fault::Hang { ms: 3000 }),
        fault("connection dropped", Fault::Drop),
        fault("HTTP 500", Fault::Status { code: 500 }),
        fault("HTTP 502", Fault::Status { code: 502 }),
        fault("HTTP 503", Fault::Status { code: 503 }),
        fault("HTML page, status 200", Fault::HtmlOk),
        fault("malformed XML", Fault::MalformedXml),
        fault("truncated XML", Fault::TruncatedXml),
        fault("401 on a valid token", Fault::ExpiredToken),
        fault("License Mismatch", Fault::LicenseMismatch),
        fault(
            "429, Retry-After 1",
            Fault::TooManyRequests {
                retry_after_secs: 1,
            },
        ),
    ]
}

/// The tables a failure must leave alone, in one D1 round trip.
fn stored(w: &TestWorker, before: &str) -> Value {
    let rows = w.d1(&format!(
        "{before} SELECT \
           (SELECT json_group_array(json_array(id, order_status, shipping_status, expected_delivery_date)) FROM orders) AS orders, \
           (SELECT json_group_array(json_array(id, status, is_latest, event_at, scan_code)) FROM tracking_events) AS events, \
           (SELECT json_group_array(json_array(order_id, fetched_at, body)) FROM carrier_responses) AS responses"
    ));
    rows[0].clone()
}

fn within(took: Duration, calls_ms: u64, path: &str, mode: &str) {
    let limit = Duration::from_millis(calls_ms) + MARGIN;
    assert!(
        took <= limit,
        "{mode} / {path}: answered in {took:?}, limit {limit:?}"
    );
}

/// The outcome of each path under one fault, as table cells.
fn row(mode: &Mode) -> Vec<String> {
    let w = TestWorker::start_with(Options {
        vars: vec![
            ("ENVIRONMENT", "production".into()),
            ("BLUEDART_TIMEOUT_MS", TIMEOUT_MS.to_string()),
            ("BREAKER_FAILURE_THRESHOLD", "1000".into()),
            ("FORCE_REFRESH_MIN_INTERVAL_SECONDS", "0".into()),
            ("SYNC_RETRIES", "1".into()),
            ("SYNC_RETRY_BASE_MS", "100".into()),
            ("SYNC_DELAY_MS", "0".into()),
        ],
        sim: SimConfig {
            demo: true,
            ..SimConfig::default()
        },
        ..Options::default()
    });
    w.ship("ORD-1", "cust-1", "81234567890");
    let primed = w.admin("POST", "/api/admin/shipment/ORD-1/sync", None);
    assert_eq!(primed.status, 200, "{}", primed.body);
    {
        let mut sim = w.sim.state();
        sim.set_latency(Endpoint::Tracking, mode.latency_ms);
        sim.set_fault(
            Endpoint::Tracking,
            mode.fault.clone().map(FaultRule::always),
        );
    }
    let mut cells = Vec::new();

    // Customer refresh: live, or the cached state labelled with why; a failure writes nothing.
    let before = stored(&w, "");
    let started = Instant::now();
    let answer = w.track("ORD-1", "cust-1", true);
    within(
        started.elapsed(),
        2 * TIMEOUT_MS,
        "customer refresh",
        mode.name,
    );
    assert_eq!(answer.status, 200, "{}: {}", mode.name, answer.body);
    let body = answer.json();
    assert_eq!(
        body["tracking"]["statusCode"], "out_for_delivery",
        "{}",
        mode.name
    );
    if body["dataSource"]["isLive"] == true {
        cells.push("200 live".to_owned());
    } else {
        assert_eq!(body["dataSource"]["isCached"], true);
        assert_eq!(
            body["message"],
            "Live tracking unavailable. Showing cached data."
        );
        assert_eq!(
            stored(&w, ""),
            before,
            "{}: a failed refresh changed data",
            mode.name
        );
        cells.push(format!(
            "200 cached: {}",
            body["bluedartError"].as_str().unwrap()
        ));
    }

    // Manual sync: what changed, or 502 with the reason; tracking untouched on failure.
    let before = stored(&w, "");
    let started = Instant::now();
    let answer = w.admin("POST", "/api/admin/shipment/ORD-1/sync", None);
    within(started.elapsed(), 2 * TIMEOUT_MS, "manual sync", mode.name);
    let body = answer.json();
    match answer.status {
        200 => cells.push(format!("200, changed: {}", body["changed"])),
        502 => {
            let after = stored(&w, "");
            assert_eq!(
                (&after["events"], &after["responses"]),
                (&before["events"], &before["responses"])
            );
            cells.push(format!("502 {}", body["code"].as_str().unwrap()));
        }
        other => panic!(
            "{}: manual sync answered {other}: {}",
            mode.name, answer.body
        ),
    }

    // Admin track on a stale order: answered at once from D1, refreshed in the background.
    let before = stored(
        &w,
        "UPDATE orders SET last_synced_at = '2020-01-01T00:00:00Z', next_check_at = '2020-01-01T00:00:00Z';",
    );
    let runs_before = w.admin("GET", "/api/admin/sync/runs", None).json()["runs"]
        .as_array()
        .unwrap()
        .len();
    let started = Instant::now();
    let answer = w.admin("GET", "/api/admin/shipment/ORD-1/track", None);
    within(started.elapsed(), 0, "admin track", mode.name);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["admin"]["backgroundRefresh"], "scheduled");
    // Through the refresh queue: retried with backoff, then dead-lettered if it keeps failing.
    let deadline = Instant::now() + Duration::from_secs(60);
    let run = loop {
        let runs = w.admin("GET", "/api/admin/sync/runs", None).json()["runs"]
            .as_array()
            .unwrap()
            .clone();
        if runs.len() > runs_before && runs[0]["finishedAt"].is_string() {
            break runs[0].clone();
        }
        assert!(
            Instant::now() < deadline,
            "{}: the background refresh did not finish",
            mode.name
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(run["trigger"], "background");
    if run["failed"] == 0 {
        cells.push("200 at once; refreshed".to_owned());
    } else {
        let after = stored(&w, "");
        assert_eq!(
            (&after["events"], &after["responses"]),
            (&before["events"], &before["responses"])
        );
        cells.push("200 at once; refresh failed, recorded".to_owned());
    }

    // Cron: the run's record; a failed batch changes nothing for its orders.
    let before = stored(
        &w,
        "UPDATE orders SET last_synced_at = '2020-01-01T00:00:00Z', next_check_at = '2020-01-01T00:00:00Z';",
    );
    let calls_before = w.sim.calls(Endpoint::Tracking).len();
    let run = w.cron_run();
    // Blue Dart calls, not attempts: a refused token costs a second call through a fresh login.
    let calls = w.sim.calls(Endpoint::Tracking).len() - calls_before;
    let calls = format!("{calls} call{}", if calls == 1 { "" } else { "s" });
    if run["failed"] == 0 {
        assert_eq!(run["succeeded"], 1);
        cells.push(format!("synced ({calls})"));
    } else {
        assert_eq!(
            stored(&w, ""),
            before,
            "{}: a failed sync changed data",
            mode.name
        );
        assert_eq!(run["deadLettered"], 1);
        let reason = run["failures"][0]["reason"].as_str().unwrap();
        cells.push(format!("dead-lettered ({calls}): {reason}"));
    }
    cells
}

fn table(rows: &[(String, Vec<String>)]) -> String {
    let mut out = String::from(
        "| Blue Dart fault | customer `forceRefresh` | manual sync | admin track + background refresh | cron sync |\n|---|---|---|---|---|\n",
    );
    for (name, cells) in rows {
        out.push_str(&format!("| {name} | {} |\n", cells.join(" | ")));
    }
    out
}

#[test]
fn every_fault_on_every_path_gets_a_labelled_answer_in_time_and_the_readme_says_so() {
    let modes = modes();
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    // Three workers at a time.
    for chunk in modes.chunks(3) {
        let results: Vec<Vec<String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|mode| scope.spawn(move || row(mode)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a row"))
                .collect()
        });
        for (mode, cells) in chunk.iter().zip(results) {
            rows.push((mode.name.to_owned(), cells));
        }
    }
    let generated = table(&rows);
    let root = e2e::root();
    std::fs::create_dir_all(root.join("target")).unwrap();
    std::fs::write(root.join("target/fault-matrix.md"), &generated).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let documented = readme
        .split_once(START)
        .and_then(|(_, rest)| rest.split_once(END))
        .map(|(table, _)| table.trim())
        .expect("README.md has the fault-matrix markers");
    assert_eq!(
        documented,
        generated.trim(),
        "README.md's fault matrix differs from what the tests observed; the observed table is in target/fault-matrix.md"
    );
}
