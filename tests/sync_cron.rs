//! End to end: the hourly sync fired through `/__scheduled` on the real worker under
//! `wrangler dev` (production mode), against the simulator's counters.

use bluedart_sim::demo::{delivered_in_kochi, scan};
use bluedart_sim::{Endpoint, Fault, FaultRule, demo};
use e2e::TestWorker;
use serde_json::{Value, json};

fn awb(n: usize) -> String {
    format!("7000000{n:04}")
}

/// `count` orders ORD-01… shipped with waybills Blue Dart reports in transit.
fn shipped(w: &TestWorker, count: usize) {
    let shipments = (1..=count)
        .map(|n| demo::in_transit(&awb(n), &format!("ORD-{n:02}")))
        .collect();
    w.sim.state().load(shipments);
    for n in 1..=count {
        w.ship(&format!("ORD-{n:02}"), "cust-1", &awb(n));
    }
}

/// Marks every synced order as due long ago, so that all still in transit are due again.
fn make_all_due(w: &TestWorker) {
    w.d1("UPDATE orders SET last_synced_at = '2020-01-01T00:00:00Z', next_check_at = '2020-01-01T00:00:00Z' WHERE last_synced_at IS NOT NULL");
}

fn runs(w: &TestWorker) -> Vec<Value> {
    let answer = w.admin("GET", "/api/admin/sync/runs", None);
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()["runs"].as_array().unwrap().clone()
}

fn cron(w: &TestWorker) {
    let answer = w.fire_cron();
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[test]
fn twenty_five_shipments_take_three_batched_calls_the_delay_apart() {
    let w = TestWorker::production(&[("SYNC_DELAY_MS", "250")]);
    shipped(&w, 25);
    cron(&w);
    let calls = w.sim.calls(Endpoint::Tracking);
    let sizes: Vec<usize> = calls.iter().map(|c| c.waybills.len()).collect();
    assert_eq!(sizes, [10, 10, 5]);
    let mut carried: Vec<String> = calls.iter().flat_map(|c| c.waybills.clone()).collect();
    carried.sort();
    assert_eq!(carried, (1..=25).map(awb).collect::<Vec<_>>());
    for pair in calls.windows(2) {
        let gap = pair[1].at_ms - pair[0].at_ms;
        assert!(gap >= 250, "calls {gap} ms apart");
    }
    let synced = w.d1("SELECT COUNT(*) AS n FROM orders WHERE last_synced_at IS NOT NULL");
    assert_eq!(synced[0]["n"], 25);
    let latest = w.d1(
        "SELECT COUNT(*) AS n FROM tracking_events WHERE is_latest = 1 AND status = 'in_transit'",
    );
    assert_eq!(latest[0]["n"], 25, "every order updated");

    let logs = w.wait_for_log("[TRACKING SYNC] Completed");
    for line in [
        "[TRACKING SYNC] Starting background sync...",
        "[TRACKING SYNC] Syncing 25 shipments...",
        &format!("[TRACKING SAVED] AWB {} tracking updated", awb(7)),
        "[TRACKING SYNC] Completed: 25 success, 0 failed",
    ] {
        assert!(logs.contains(line), "missing {line:?} in\n{logs}");
    }
    let run = &runs(&w)[0];
    assert_eq!(run["trigger"], "cron");
    assert_eq!(run["status"], "completed");
    assert_eq!(
        (
            run["considered"].as_u64(),
            run["succeeded"].as_u64(),
            run["failed"].as_u64()
        ),
        (Some(25), Some(25), Some(0))
    );
    assert_eq!(run["batches"], 3);
    assert_eq!(run["carrierCalls"], 4, "one login and three tracking calls");
    // Counted, and within the free plan: at least reading the due list and saving each batch.
    assert!(
        (4..=50).contains(&run["d1Queries"].as_u64().unwrap()),
        "within the free plan: {run}"
    );
    // Every order's KV snapshot rewritten: 25 writes at least.
    assert!(
        (25..=1000).contains(&run["kvOperations"].as_u64().unwrap()),
        "{run}"
    );
}

#[test]
fn cached_answers_after_a_sync_match_d1() {
    let w = TestWorker::production(&[]);
    shipped(&w, 3);
    cron(&w);
    for n in 1..=3 {
        let id = format!("ORD-{n:02}");
        let cached = w.track(&id, "cust-1", false).json();
        let from_d1 = w
            .admin("GET", &format!("/api/admin/shipment/{id}/track"), None)
            .json();
        assert_eq!(cached["tracking"], from_d1["tracking"], "{id}");
        assert_eq!(cached["events"], from_d1["events"], "{id}");
        assert_eq!(cached["tracking"]["statusCode"], "in_transit");
    }
}

#[test]
fn delivered_and_returned_shipments_reach_their_end_states_and_leave_the_set() {
    let w = TestWorker::production(&[]);
    shipped(&w, 3);
    cron(&w);
    {
        let mut sim = w.sim.state();
        sim.append_scan(&awb(1), delivered_in_kochi());
        sim.append_scan(
            &awb(2),
            scan(
                "RETURN TO ORIGIN",
                "T",
                "074",
                "RT",
                "2026-01-25 10:00",
                "KOCHI SERVICE CENTRE/COK",
            ),
        );
        sim.shipments.get_mut(&awb(2)).unwrap().new_waybill = "79999999999".into();
        sim.load(vec![bluedart_sim::Shipment {
            waybill: "79999999999".into(),
            ref_no: format!("RTO - {}", awb(2)),
            scans: vec![scan(
                "SHIPMENT DELIVERED BACK TO SHIPPER",
                "T",
                "118",
                "DL",
                "2026-01-28 11:45",
                "PUNE SERVICE CENTRE/PNQ",
            )],
            ..bluedart_sim::Shipment::default()
        }]);
    }
    make_all_due(&w);
    cron(&w);
    let orders = w.d1("SELECT id, order_status, shipping_status FROM orders ORDER BY id");
    assert_eq!(
        orders,
        vec![
            json!({"id": "ORD-01", "order_status": "Delivered", "shipping_status": "Delivered"}),
            json!({"id": "ORD-02", "order_status": "Shipped", "shipping_status": "Returned"}),
            json!({"id": "ORD-03", "order_status": "Shipped", "shipping_status": "In-Transit"}),
        ]
    );
    let logs = w.wait_for_log("marked as delivered");
    assert!(
        logs.contains("[TRACKING SYNC] Order ORD-01 marked as delivered"),
        "{logs}"
    );

    make_all_due(&w);
    let before = w.sim.calls(Endpoint::Tracking).len();
    cron(&w);
    let last = w.sim.calls(Endpoint::Tracking);
    assert_eq!(last.len(), before + 1);
    assert_eq!(
        last.last().unwrap().waybills,
        [awb(3)],
        "end states leave the sync set"
    );
}

#[test]
fn a_failing_batch_leaves_its_orders_byte_for_byte_and_is_recorded() {
    let w = TestWorker::production(&[]);
    shipped(&w, 25);
    let batch_two = "order_id IN ('ORD-11','ORD-12','ORD-13','ORD-14','ORD-15','ORD-16','ORD-17','ORD-18','ORD-19','ORD-20')";
    let snapshot = |w: &TestWorker| {
        json!({
            "orders": w.d1(&format!("SELECT * FROM orders WHERE {} ORDER BY id", batch_two.replace("order_id", "id"))),
            "events": w.d1(&format!("SELECT * FROM tracking_events WHERE {batch_two} ORDER BY id")),
        })
    };
    let before = snapshot(&w);
    // The second batch's call and both its retries fail.
    let rule = FaultRule {
        fault: Fault::Status { code: 500 },
        skip: 1,
        times: Some(3),
    };
    w.sim.state().set_fault(Endpoint::Tracking, Some(rule));
    cron(&w);
    assert_eq!(
        snapshot(&w),
        before,
        "the failed batch's orders are unchanged"
    );
    assert_eq!(
        w.sim.calls(Endpoint::Tracking).len(),
        5,
        "three tries of batch 2"
    );
    let synced = w.d1("SELECT COUNT(*) AS n FROM orders WHERE last_synced_at IS NOT NULL");
    assert_eq!(synced[0]["n"], 15, "the other batches went through");
    let run = &runs(&w)[0];
    assert_eq!(
        (run["succeeded"].as_u64(), run["failed"].as_u64()),
        (Some(15), Some(10))
    );
    let failures = run["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0]["batch"], 2);
    assert_eq!(failures[0]["reason"], "Blue Dart is unavailable (HTTP 500)");
    assert_eq!(failures[0]["orderIds"][0], "ORD-11");
    let logs = w.wait_for_log("Completed");
    assert!(
        logs.contains("[TRACKING SYNC] Completed: 15 success, 10 failed"),
        "{logs}"
    );
}

#[test]
fn running_the_same_sync_twice_adds_no_events() {
    let w = TestWorker::production(&[]);
    shipped(&w, 12);
    cron(&w);
    let count = |w: &TestWorker| {
        w.d1("SELECT COUNT(*) AS n, COUNT(DISTINCT awb_no || event_at || scan_code || city) AS u FROM tracking_events")[0].clone()
    };
    let first = count(&w);
    make_all_due(&w);
    cron(&w);
    assert_eq!(
        w.sim.calls(Endpoint::Tracking).len(),
        4,
        "both runs called Blue Dart"
    );
    assert_eq!(count(&w), first);
    assert_eq!(first["n"], first["u"], "no duplicate rows");
}

#[test]
fn outside_production_the_cron_syncs_nothing() {
    let w = TestWorker::start();
    shipped(&w, 2);
    cron(&w);
    let logs = w.wait_for_log("Skipped");
    assert!(
        logs.contains("[TRACKING SYNC] Skipped: ENVIRONMENT is development"),
        "{logs}"
    );
    assert!(w.sim.calls(Endpoint::Tracking).is_empty());
    assert!(runs(&w).is_empty());
}

#[test]
fn a_per_run_cap_stops_there_and_the_next_run_continues_oldest_first() {
    let w = TestWorker::production(&[("SYNC_MAX_PER_RUN", "10")]);
    shipped(&w, 25);
    let mut carried: Vec<String> = Vec::new();
    for expected in [10, 10, 5] {
        let before = w.sim.calls(Endpoint::Tracking).len();
        cron(&w);
        let calls = w.sim.calls(Endpoint::Tracking);
        let this_run: Vec<String> = calls[before..]
            .iter()
            .flat_map(|c| c.waybills.clone())
            .collect();
        assert_eq!(this_run.len(), expected);
        carried.extend(this_run);
    }
    assert_eq!(
        carried,
        (1..=25).map(awb).collect::<Vec<_>>(),
        "each once, oldest first"
    );
    let considered: Vec<u64> = runs(&w)
        .iter()
        .map(|r| r["considered"].as_u64().unwrap())
        .collect();
    assert_eq!(considered, [5, 10, 10]);
}

#[test]
fn a_run_stops_before_the_d1_budget_and_leaves_the_rest() {
    let w = TestWorker::production(&[("SYNC_MAX_D1_QUERIES", "20")]);
    shipped(&w, 25);
    cron(&w);
    let run = &runs(&w)[0];
    assert_eq!(run["status"], "stopped", "{run}");
    assert!(
        (1..=20).contains(&run["d1Queries"].as_u64().unwrap()),
        "{run}"
    );
    let done = run["succeeded"].as_u64().unwrap() as usize;
    assert!(done > 0 && done < 25, "{run}");
    assert_eq!(
        run["stopReason"],
        format!(
            "D1 query budget (20) would be exceeded; {} shipments left for the next run",
            25 - done
        )
    );
    let logs = w.wait_for_log("Stopping early");
    assert!(
        logs.contains("[TRACKING SYNC] Stopping early: D1 query budget (20) would be exceeded"),
        "{logs}"
    );
}

#[test]
fn sync_runs_lists_manual_and_cron_runs_newest_first() {
    let w = TestWorker::production(&[]);
    shipped(&w, 2);
    let manual = w.admin("POST", "/api/admin/shipment/ORD-01/sync", None);
    assert_eq!(manual.status, 200, "{}", manual.body);
    make_all_due(&w);
    cron(&w);
    let all = runs(&w);
    let triggers: Vec<&str> = all.iter().map(|r| r["trigger"].as_str().unwrap()).collect();
    assert_eq!(triggers, ["cron", "manual"]);
    let statuses: Vec<&str> = all.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["completed", "completed"]);
    assert!(all[0]["startedAt"].as_str().unwrap().ends_with('Z'));
    assert!(all[0]["finishedAt"].as_str().is_some());
    let one = w.admin("GET", "/api/admin/sync/runs?limit=1", None).json();
    assert_eq!(one["runs"].as_array().unwrap().len(), 1);
    for bad in ["0", "101", "ten"] {
        let answer = w.admin("GET", &format!("/api/admin/sync/runs?limit={bad}"), None);
        assert_eq!(
            (answer.status, answer.json()["code"].as_str()),
            (400, Some("INVALID_QUERY"))
        );
    }
    assert_eq!(
        w.request("GET", "/api/admin/sync/runs", &[], None).status,
        401
    );
}

#[test]
fn sync_runs_are_kept_to_the_latest_thousand() {
    let w = TestWorker::production(&[]);
    // A thousand finished runs already recorded (ids 1..=1000).
    w.d1(
        "INSERT INTO sync_runs (id, triggered_by, status, started_at, finished_at) \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) \
         SELECT i, 'cron', 'completed', '2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z' FROM n",
    );
    cron(&w);
    let kept = w.d1("SELECT COUNT(*) AS n, MIN(id) AS first, MAX(id) AS last FROM sync_runs");
    assert_eq!(
        (
            kept[0]["n"].as_u64(),
            kept[0]["first"].as_u64(),
            kept[0]["last"].as_u64()
        ),
        (Some(1000), Some(2), Some(1001)),
        "the new run recorded, the oldest one pruned: {kept:?}"
    );
}
