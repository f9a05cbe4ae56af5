//! End to end: the malformed, hostile and unauthorised requests of the shared table
//! (`crates/api/tests/hostile/cases.rs`, also run natively) against the real worker. Each gets a
//! JSON 4xx that says what was wrong — never a 5xx, never a panic — through the platform's own
//! URL handling, header parsing and body streaming.

#[path = "../crates/api/tests/hostile/cases.rs"]
mod cases;

use cases::{Secrets, cases};
use e2e::{ADMIN_TOKEN, AUDIENCE, CUSTOMER_TOKEN_SECRET, TRACKING_LINK_SECRET, TestWorker};
use serde_json::json;

#[test]
fn every_malformed_request_gets_a_json_4xx_that_says_what_was_wrong() {
    let w = TestWorker::start_with(e2e::Options {
        sim: bluedart_sim::SimConfig {
            demo: true,
            ..bluedart_sim::SimConfig::default()
        },
        ..e2e::Options::default()
    });
    w.ship("ORD-1", "cust-1", "81234567890");
    w.ship("ORD-2", "cust-2", "81234567891");
    w.admin(
        "PUT",
        "/api/admin/orders/ORD-3",
        Some(json!({"customerId": "cust-1"})),
    );
    let cases = cases(&Secrets {
        admin: ADMIN_TOKEN,
        customer: CUSTOMER_TOKEN_SECRET,
        link: TRACKING_LINK_SECRET,
        audience: AUDIENCE,
    });
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let headers: Vec<(&str, &str)> =
            case.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = w.request(case.method, &case.path, &headers, case.body.as_deref());
        failures.extend(case.check(
            answer.status,
            answer.header("content-type").unwrap_or(""),
            &answer.body,
        ));
        assert!(answer.status < 500, "{}: a 5xx", case.what);
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // Nothing above changed what the good requests see.
    assert_eq!(w.track("ORD-1", "cust-1", false).status, 200);
    let logs = w.settled_logs();
    assert!(!logs.contains("panicked"), "{logs}");
}
