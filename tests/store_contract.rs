//! The storage ports' contract (`tracking_core::store_contract`) against D1: the worker's test
//! build (`--features store-contract`) runs each case inside workerd on an emptied local
//! database. The same cases run natively against the in-memory store
//! (`crates/core/tests/store_contract.rs`), so the two backends cannot drift apart.

use e2e::{Options, TestWorker};

#[test]
fn d1_keeps_every_promise_of_the_storage_ports() {
    let worker = TestWorker::start_with(Options {
        store_contract: true,
        ..Options::default()
    });
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
    let worker = TestWorker::start_with(Options {
        store_contract: true,
        ..Options::default()
    });
    assert_eq!(
        worker
            .request("POST", "/__store-contract/no_such_case", &[], None)
            .status,
        404
    );
}
