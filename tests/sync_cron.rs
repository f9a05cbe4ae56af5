//! End to end: the hourly sync fired through `/__scheduled` on the real worker under
//! `wrangler dev` (production mode, local queues), against the simulator's counters. The cron
//! enqueues; the tests wait for the consumers to finish the run.

use bluedart_sim::demo::{delivered_in_kochi, scan};
use bluedart_sim::{Endpoint, Fault, demo};
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

/// `count` orders ORD-0001… in transit with waybills Blue Dart knows, never synced: inserted in
/// one statement rather than two requests each.
fn in_transit_in_bulk(w: &TestWorker, count: usize) {
    w.sim.state().load(
        (1..=count)
            .map(|n| demo::in_transit(&awb(n), &format!("ORD-{n:04}")))
            .collect(),
    );
    w.d1(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) \
         INSERT INTO orders (id, customer_id, order_status, shipping_status, awb_no, created_at, \
           updated_at, last_progress_at) \
         SELECT printf('ORD-%04d', i), 'cust-1', 'Shipped', 'In-Transit', printf('7000000%04d', i), \
           '2026-11-20T10:00:00Z', '2026-11-20T10:00:00Z', '2026-11-20T10:00:00Z' FROM n"
    ));
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

fn cron(w: &TestWorker) -> Value {
    w.cron_run()
}

#[test]
fn twenty_five_shipments_take_three_batched_calls_the_delay_apart() {
    let w = TestWorker::production(&[("SYNC_DELAY_MS", "250"), ("SYNC_BATCH_SIZE", "10")]);
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
    assert_eq!(
        (run["enqueued"].as_u64(), run["batches"].as_u64()),
        (Some(25), Some(3))
    );
    let calls = run["carrierCalls"].as_u64().unwrap();
    assert!(
        (4..=5).contains(&calls),
        "a login per consumer invocation and three tracking calls: {run}"
    );
    within_free_plan_and_counted(run);
}

/// The busiest invocation kept the free plan's limits, and its counts are real: a consumer that
/// synced read its token from KV, called Blue Dart and read and saved in D1.
fn within_free_plan_and_counted(run: &Value) {
    let busiest = &run["busiestInvocation"];
    let count = |what: &str| busiest[what].as_u64().unwrap();
    assert!(
        (1..=50).contains(&(count("subrequests") + count("queueSends"))),
        "{run}"
    );
    assert!((2..=50).contains(&count("d1Queries")), "{run}");
    assert!((1..=1000).contains(&count("kvOperations")), "{run}");
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
fn a_poison_waybill_fails_alone_and_its_order_keeps_its_tracking() {
    let w = TestWorker::production(&[("SYNC_BATCH_SIZE", "10"), ("SYNC_RETRY_BASE_MS", "0")]);
    shipped(&w, 25);
    let poisoned = "order_id = 'ORD-13'";
    let snapshot = |w: &TestWorker| {
        json!({
            "orders": w.d1("SELECT id, customer_id, order_status, shipping_status, awb_no, last_synced_at, expected_delivery_date FROM orders WHERE id = 'ORD-13'"),
            "events": w.d1(&format!("SELECT * FROM tracking_events WHERE {poisoned} ORDER BY id")),
        })
    };
    let before = snapshot(&w);
    w.sim
        .state()
        .poison
        .insert(awb(13), Fault::Status { code: 500 });
    let run = cron(&w);
    assert_eq!(
        snapshot(&w),
        before,
        "the poisoned order's tracking is unchanged"
    );
    let synced = w.d1("SELECT COUNT(*) AS n FROM orders WHERE last_synced_at IS NOT NULL");
    assert_eq!(synced[0]["n"], 24, "every other shipment went through");
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(
        (
            run["succeeded"].as_u64(),
            run["failed"].as_u64(),
            run["deadLettered"].as_u64()
        ),
        (Some(24), Some(1), Some(1)),
        "{run}"
    );
    assert!(run["retried"].as_u64().unwrap() >= 3, "{run}");
    let failures = run["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0]["orderIds"], json!(["ORD-13"]));
    assert_eq!(failures[0]["reason"], "Blue Dart is unavailable (HTTP 500)");
    let order =
        w.d1("SELECT last_sync_error, next_check_at, enqueued_at FROM orders WHERE id = 'ORD-13'");
    assert_eq!(
        order[0]["last_sync_error"],
        "Blue Dart is unavailable (HTTP 500)"
    );
    assert!(order[0]["enqueued_at"].is_null());
    let admin = w
        .admin("GET", "/api/admin/shipment/ORD-13/track", None)
        .json();
    assert_eq!(
        admin["admin"]["lastSyncError"], "Blue Dart is unavailable (HTTP 500)",
        "{admin}"
    );
    let logs = w.wait_for_log("dead-lettered");
    assert!(
        logs.contains("[TRACKING SYNC] Order ORD-13 dead-lettered after 3 attempts"),
        "{logs}"
    );
}

#[test]
fn running_the_same_sync_twice_adds_no_events() {
    let w = TestWorker::production(&[("SYNC_BATCH_SIZE", "10")]);
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
    let answer = w.fire_cron();
    assert_eq!(answer.status, 200, "{}", answer.body);
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
fn a_consumer_hands_back_what_its_d1_budget_cannot_cover() {
    let w = TestWorker::production(&[("SYNC_MAX_D1_QUERIES", "20"), ("SYNC_BATCH_SIZE", "5")]);
    shipped(&w, 25);
    let run = cron(&w);
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["succeeded"], 25, "{run}");
    assert!(
        (2..=20).contains(&run["busiestInvocation"]["d1Queries"].as_u64().unwrap()),
        "{run}"
    );
    assert!(run["invocations"].as_u64().unwrap() >= 3, "{run}");
    let logs = w.wait_for_log("handed back");
    assert!(
        logs.contains("messages handed back for later: D1 query budget (20) would be exceeded"),
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
fn six_hundred_shipments_sync_after_one_firing_within_free_plan_budgets_with_a_poison_alone() {
    // The free plan's per-invocation limits are wrangler.toml's defaults; messages of 50.
    let w = TestWorker::production(&[]);
    let count = 600;
    in_transit_in_bulk(&w, count);
    let poison = awb(313);
    w.sim
        .state()
        .poison
        .insert(poison.clone(), Fault::Status { code: 500 });
    let started = std::time::Instant::now();
    let run = cron(&w);
    let took = started.elapsed();
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(
        (
            run["enqueued"].as_u64(),
            run["succeeded"].as_u64(),
            run["failed"].as_u64(),
            run["deadLettered"].as_u64()
        ),
        (Some(600), Some(599), Some(1), Some(1)),
        "{run}"
    );
    assert_eq!(run["batches"], 12, "messages of 50: {run}");
    within_free_plan_and_counted(&run);
    let calls = w.sim.calls(Endpoint::Tracking);
    for n in (1..=count).filter(|n| awb(*n) != poison) {
        let good = calls
            .iter()
            .filter(|c| c.waybills.contains(&awb(n)) && !c.waybills.contains(&poison))
            .count();
        assert_eq!(good, 1, "{} carried once in a call that succeeded", awb(n));
    }
    let synced = w.d1("SELECT COUNT(*) AS n FROM orders WHERE last_synced_at IS NOT NULL");
    assert_eq!(synced[0]["n"], 599);
    let failed = w.d1("SELECT id FROM orders WHERE last_sync_error IS NOT NULL");
    assert_eq!(failed, vec![json!({"id": "ORD-0313"})]);
    let queue = &w.admin("GET", "/api/admin/sync/runs", None).json()["queue"];
    assert_eq!(queue["enqueued"], 0, "nothing left waiting: {queue}");
    println!(
        "600 shipments: {} Blue Dart calls (ideal 12), {} consumer invocations, busiest {}, {:.1} s",
        calls.len(),
        run["invocations"].as_u64().unwrap() - 1,
        run["busiestInvocation"],
        took.as_secs_f64()
    );
}

#[test]
fn paging_through_stale_orders_as_an_admin_costs_batched_calls() {
    let w = TestWorker::production(&[]);
    let count = 120;
    in_transit_in_bulk(&w, count);
    for n in 1..=count {
        let look = w.admin(
            "GET",
            &format!("/api/admin/shipment/ORD-{n:04}/track"),
            None,
        );
        assert_eq!(look.status, 200, "{}", look.body);
        assert_eq!(look.json()["admin"]["backgroundRefresh"], "scheduled");
    }
    let started = std::time::Instant::now();
    loop {
        let synced = w.d1("SELECT COUNT(*) AS n FROM orders WHERE last_synced_at IS NOT NULL");
        if synced[0]["n"] == count {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "refreshed {synced:?} of {count}\n{}",
            w.logs()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let calls = w.sim.calls(Endpoint::Tracking);
    let carried: usize = calls.iter().map(|c| c.waybills.len()).sum();
    assert_eq!(carried, count, "each refreshed once");
    assert!(
        calls.len() <= count / 10,
        "{} calls for {count} stale orders: they are combined",
        calls.len()
    );
    let runs = runs(&w);
    assert!(runs.iter().all(|r| r["trigger"] == "background"));
    let refreshed: u64 = runs.iter().map(|r| r["succeeded"].as_u64().unwrap()).sum();
    assert_eq!(refreshed, count as u64);
}
