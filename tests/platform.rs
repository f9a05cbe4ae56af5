//! End to end: the worker's own routes and the cron trigger, under `wrangler dev`.

use e2e::{Options, TestWorker};

#[test]
fn health_is_terse() {
    let worker = TestWorker::start();
    let answer = worker.get("/health");
    assert_eq!(answer.status, 200, "{}", answer.body);
    // Whether the worker can serve, and nothing about its environment, version or storage.
    assert_eq!(answer.body, r#"{"status":"ok"}"#);
    assert!(
        answer
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(answer.header("cache-control"), Some("no-store"));
}

#[test]
fn unknown_routes_get_a_json_404() {
    let worker = TestWorker::start();
    let answer = worker.get("/no/such/route");
    assert_eq!(answer.status, 404);
    assert_eq!(answer.json()["code"], "NOT_FOUND");
    assert_eq!(answer.json()["success"], false);
}

#[test]
fn cron_outside_production_logs_that_it_skipped() {
    let worker = TestWorker::start();
    let answer = worker.fire_cron();
    assert_eq!(answer.status, 200);
    let logs = worker.wait_for_log("[TRACKING SYNC] Skipped");
    assert!(
        logs.contains("[TRACKING SYNC] Skipped: ENVIRONMENT is development"),
        "{logs}"
    );
    assert!(!logs.contains("Starting background sync"));
}

#[test]
fn cron_in_production_starts_the_sync() {
    let worker = TestWorker::start_with(Options {
        vars: vec![("ENVIRONMENT", "production".into())],
        ..Options::default()
    });
    worker.fire_cron();
    let logs = worker.wait_for_log("[TRACKING SYNC] Starting background sync...");
    assert!(
        logs.contains("[TRACKING SYNC] Starting background sync..."),
        "{logs}"
    );
    assert!(!logs.contains("Skipped"));
}
