//! The storage ports' contract (`tracking_core::store_contract`) against D1: the worker's test
//! build (`--features store-contract`) runs each case inside workerd on an emptied local
//! database. The same cases run natively against the in-memory store
//! (`crates/core/tests/store_contract.rs`), so the two backends cannot drift apart.

use e2e::{Options, TestWorker};

/// The worker's store contract build on a fresh local database.
fn contract_build() -> TestWorker {
    TestWorker::start_with(Options {
        store_contract: true,
        ..Options::default()
    })
}

#[test]
fn d1_keeps_every_promise_of_the_storage_ports() {
    let worker = contract_build();
    let listed = worker.get("/__store-contract");
    assert_eq!(listed.status, 200, "{}", listed.body);
    let cases: Vec<String> = serde_json::from_value(listed.json()["cases"].clone())
        .expect("the test build lists its cases");
    assert_eq!(
        cases,
        tracking_core::store_contract::CASES.to_vec(),
        "the test build is older than the suite: rebuild it"
    );
    let mut failed = Vec::new();
    for case in &cases {
        let answer = worker.request("POST", &format!("/__store-contract/{case}"), &[], None);
        assert_eq!(answer.status, 200, "{case}: {}", answer.body);
        let body = answer.json();
        if body["ok"] != true {
            failed.push(format!("{case}: {}", body["why"]));
        }
    }
    assert!(
        failed.is_empty(),
        "D1 breaks {} of {} promises:\n  {}",
        failed.len(),
        cases.len(),
        failed.join("\n  ")
    );
}

#[test]
fn an_unknown_case_is_not_run() {
    let worker = contract_build();
    assert_eq!(
        worker
            .request("POST", "/__store-contract/no_such_case", &[], None)
            .status,
        404
    );
}

/// Every statement the store contract made the D1 adapters send — the code's own SQL, bound as
/// sent, not a copy — is planned by SQLite without reading a whole hot table: orders and
/// tracking history grow with the business, so a full scan of either is a bug.
#[test]
fn the_statements_the_code_sends_use_indexes_on_hot_tables() {
    let worker = contract_build();
    let answer = worker.get("/__store-contract/plans");
    assert_eq!(answer.status, 200, "{}", answer.body);
    let plans = answer.json()["plans"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let sql_of = |plan: &serde_json::Value| plan["sql"].as_str().unwrap_or("").to_owned();
    // The statements on the hot paths, which the cases must reach (a lower bound: a refactor
    // that stops sending one through the adapters would otherwise pass unseen).
    for hot in [
        "FROM orders WHERE id IN",
        "FROM tracking_events",
        "OR awb_no IN",
        "UPDATE tracking_events SET is_latest = 0",
        "ORDER BY next_check_at",
        "UPDATE orders SET",
    ] {
        assert!(
            plans.iter().any(|p| sql_of(p).contains(hot)),
            "no statement containing {hot:?} was planned: {plans:#?}"
        );
    }
    let mut scans = Vec::new();
    for plan in &plans {
        let steps: Vec<&str> = plan["plan"]
            .as_array()
            .map(|s| s.iter().filter_map(|d| d.as_str()).collect())
            .unwrap_or_default();
        // An INSERT of VALUES reads no table: SQLite has no plan to show for it.
        assert!(
            !steps.is_empty() || sql_of(plan).starts_with("INSERT"),
            "no plan for {}",
            sql_of(plan)
        );
        for step in steps {
            if ["SCAN orders", "SCAN tracking_events"]
                .iter()
                .any(|table| step == *table || step.starts_with(&format!("{table} ")))
                && !step.contains("USING")
            {
                scans.push(format!("{step}: {}", sql_of(plan)));
            }
        }
    }
    assert!(
        scans.is_empty(),
        "full scans of hot tables in {} planned statements:\n  {}",
        plans.len(),
        scans.join("\n  ")
    );
}
