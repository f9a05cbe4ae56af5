//! The contract, `openapi/openapi.json`, against the worker.
//!
//! - Property-based: Schemathesis (installed by `scripts/setup.sh` into `.venv/` from
//!   `openapi/requirements.txt`) drives every operation of the real worker under `wrangler dev`,
//!   with the demo orders and the Blue Dart simulator, using the documented credentials, and
//!   checks that no answer is a 5xx, that every status and content type is documented, and that
//!   every body is valid against its schema. Bounded and deterministic: a fixed seed and number
//!   of examples per operation (`openapi/schemathesis.toml`). A second, short run covers the
//!   track operation's other credential, a signed link (`openapi/schemathesis-link.toml`).
//! - The answer checks every end-to-end suite relies on (`tests/support/openapi.rs`) are
//!   themselves checked here: they must refuse answers the contract does not describe.
//!
//! Run alone with `cargo test -p e2e --test conformance` after `npm run build` (`npm test` runs it).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use bluedart_sim::SimConfig;
use chrono::{Duration, Utc};
use e2e::openapi::{NOT_SERVED_YET, operation_id, operations, problems};
use e2e::{
    ADMIN_TOKEN, Answer, Options, PUSH_TOKEN, TRACKING_LINK_SECRET, TestWorker, customer_token,
};
use serde_json::Value;
use tracking_api::credentials::link_signature;

/// The demo data `npm run dev` has: orders in D1, their shipments in the simulator.
fn demo_worker() -> TestWorker {
    let w = TestWorker::start_with(Options {
        sim: SimConfig {
            demo: true,
            ..SimConfig::default()
        },
        ..Options::default()
    });
    let seed =
        fs::read_to_string(e2e::root().join("scripts/demo-seed.sql")).expect("read the seed");
    w.d1_file(&seed);
    w
}

/// Runs Schemathesis with `config` against `base`; panics with its whole output if it finds
/// anything. Returns the HAR record of every exchange.
fn schemathesis(
    base: &str,
    config: &str,
    args: &[String],
    env: &[(&str, String)],
    scratch: &Path,
) -> Value {
    let bin = e2e::root().join(".venv/bin/schemathesis");
    assert!(
        bin.exists(),
        "Schemathesis is not installed in .venv/: run `bash scripts/setup.sh` (npm test does)"
    );
    let har = scratch.join(format!("{config}.har.json"));
    let started = Instant::now();
    let out = Command::new(&bin)
        .current_dir(scratch)
        .arg("--config-file")
        .arg(e2e::root().join("openapi").join(config))
        .arg("run")
        .arg(e2e::root().join("openapi/openapi.json"))
        .args(["--url", base, "--no-color", "--report", "har"])
        .arg("--report-har-path")
        .arg(&har)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("NO_COLOR", "1")
        .output()
        .expect("run schemathesis");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "Schemathesis ({config}) found answers the contract does not describe:\n{text}"
    );
    let summary: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("generated") || l.contains("Seed:") || l.contains("Tested:"))
        .map(str::trim)
        .collect();
    println!(
        "schemathesis {config}: {} in {:.1} s",
        summary.join("; "),
        started.elapsed().as_secs_f64()
    );
    serde_json::from_str(&fs::read_to_string(&har).expect("read the HAR report"))
        .expect("the HAR report is JSON")
}

/// (operationId, status) of every exchange in a HAR record.
fn exchanges(har: &Value, base: &str) -> Vec<(String, u16)> {
    har["log"]["entries"]
        .as_array()
        .expect("HAR entries")
        .iter()
        .filter_map(|e| {
            let method = e["request"]["method"].as_str()?;
            let url = e["request"]["url"].as_str()?;
            let path = url.strip_prefix(base)?;
            let status = e["response"]["status"].as_u64()? as u16;
            Some((operation_id(method, path)?, status))
        })
        .collect()
}

#[test]
fn schemathesis_finds_nothing_the_contract_does_not_describe() {
    let w = demo_worker();
    // An operation the worker does not serve yet is left out, and this says when it is served.
    for (id, method, path) in NOT_SERVED_YET {
        let answer = w.request(&method.to_ascii_uppercase(), path, &[], None);
        assert_eq!(
            answer.status,
            404,
            "{} {path} ({id}) is served now: take it off NOT_SERVED_YET in \
             tests/support/openapi.rs, so that Schemathesis and the answer checks cover it",
            method.to_ascii_uppercase()
        );
    }
    // Schemathesis's HAR reports (every request and answer) go to a temporary directory, or
    // to CONFORMANCE_REPORT_DIR, where they are kept.
    let keep = std::env::var_os("CONFORMANCE_REPORT_DIR").map(PathBuf::from);
    let scratch = keep.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "shipment-tracker-conformance-{}",
            std::process::id()
        ))
    });
    if keep.is_none() {
        let _ = fs::remove_dir_all(&scratch);
    }
    fs::create_dir_all(&scratch).expect("create a scratch directory");
    let started = Instant::now();

    // Every operation, customers with a storefront token for cust-1001 (who owns ORD-2291,
    // ORD-2292 and ORD-2297), admins with the admin token.
    let excluded: Vec<String> = NOT_SERVED_YET
        .iter()
        .flat_map(|(id, _, _)| ["--exclude-operation-id".to_owned(), (*id).to_owned()])
        .collect();
    let har = schemathesis(
        &w.base,
        "schemathesis.toml",
        &excluded,
        &[
            ("SCHEMATHESIS_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
            ("SCHEMATHESIS_CUSTOMER_TOKEN", customer_token("cust-1001")),
            ("SCHEMATHESIS_PUSH_TOKEN", PUSH_TOKEN.to_owned()),
        ],
        &scratch,
    );
    // The credentials worked: every operation tested got at least one success, so the run did
    // not merely collect well-formed refusals.
    let seen = exchanges(&har, &w.base);
    for (id, method, path) in operations() {
        if NOT_SERVED_YET.iter().any(|(n, _, _)| *n == id) {
            continue;
        }
        let statuses: Vec<u16> = seen
            .iter()
            .filter(|(op, _)| *op == id)
            .map(|(_, s)| *s)
            .collect();
        assert!(
            statuses.iter().any(|s| (200..300).contains(s)),
            "Schemathesis got no success from {method} {path} ({id}): {statuses:?}"
        );
    }

    // The track operation with a signed link for ORD-2291.
    let exp = Utc::now() + Duration::hours(1);
    let har = schemathesis(
        &w.base,
        "schemathesis-link.toml",
        &["--include-operation-id".into(), "trackShipment".into()],
        &[
            ("SCHEMATHESIS_LINK_EXP", exp.timestamp().to_string()),
            (
                "SCHEMATHESIS_LINK_SIG",
                link_signature(TRACKING_LINK_SECRET, "ORD-2291", exp),
            ),
        ],
        &scratch,
    );
    let link = exchanges(&har, &w.base);
    assert!(
        link.iter()
            .any(|(op, s)| op == "trackShipment" && *s == 200),
        "no success with the signed link: {link:?}"
    );
    println!(
        "conformance: {} exchanges in {:.1} s",
        seen.len() + link.len(),
        started.elapsed().as_secs_f64()
    );
    let logs = w.settled_logs();
    assert!(!logs.contains("panicked"), "{logs}");
    if keep.is_none() {
        let _ = fs::remove_dir_all(&scratch);
    }
}

fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Answer {
    Answer {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.to_owned(),
    }
}

/// Whether the answer checks refuse `answer` to `method path`.
fn refused(method: &str, path: &str, answer: &Answer) -> bool {
    !problems(method, path, answer).is_empty()
}

const JSON: (&str, &str) = ("content-type", "application/json; charset=utf-8");
const NO_STORE: (&str, &str) = ("cache-control", "no-store");

#[test]
fn the_answer_checks_refuse_what_the_contract_does_not_describe() {
    let ok = answer(200, &[JSON, NO_STORE], r#"{"status":"ok"}"#);
    assert!(!refused("GET", "/health", &ok));
    // A status the operation does not document.
    let teapot = answer(418, &[JSON, NO_STORE], r#"{"status":"ok"}"#);
    assert!(refused("GET", "/health", &teapot));
    // A body its schema does not allow.
    let odd = answer(200, &[JSON, NO_STORE], r#"{"status":"fine"}"#);
    assert!(refused("GET", "/health", &odd));
    let extra = answer(200, &[JSON, NO_STORE], r#"{"status":"ok","version":"1"}"#);
    assert!(refused("GET", "/health", &extra));
    // A content type it does not document.
    let text = answer(200, &[("content-type", "text/plain"), NO_STORE], "ok");
    assert!(refused("GET", "/health", &text));
    // A required header missing, or not as documented.
    let cacheable = answer(200, &[JSON], r#"{"status":"ok"}"#);
    assert!(refused("GET", "/health", &cacheable));
    let public = answer(
        200,
        &[JSON, ("cache-control", "public")],
        r#"{"status":"ok"}"#,
    );
    assert!(refused("GET", "/health", &public));

    let not_found = r#"{"success":false,"message":"Route not found","code":"NOT_FOUND"}"#;
    let order_not_found =
        r#"{"success":false,"message":"Order not found","code":"ORDER_NOT_FOUND"}"#;
    // A code the response does not list for that status.
    let nf = answer(404, &[JSON, NO_STORE], not_found);
    assert!(refused("GET", "/api/admin/shipment/ORD-1/track", &nf));
    let onf = answer(404, &[JSON, NO_STORE], order_not_found);
    assert!(!refused("GET", "/api/admin/shipment/ORD-1/track", &onf));
    // A path the contract does not have must be 404 NOT_FOUND.
    assert!(!refused("GET", "/api/shipment/ORD-1", &nf));
    assert!(refused("GET", "/api/shipment/ORD-1", &onf));
    assert!(refused("GET", "/nowhere", &ok));

    // A method the contract does not document for a path: 405 with the documented methods.
    let not_allowed =
        r#"{"success":false,"message":"Use GET, OPTIONS","code":"METHOD_NOT_ALLOWED"}"#;
    let allow = |methods| answer(405, &[JSON, NO_STORE, ("allow", methods)], not_allowed);
    assert!(!refused(
        "POST",
        "/api/shipment/ORD-1/track",
        &allow("GET, OPTIONS")
    ));
    assert!(refused("POST", "/api/shipment/ORD-1/track", &allow("GET")));
    assert!(refused("QUERY", "/health", &ok));

    // A preflight documents no content.
    let preflight = [
        ("access-control-allow-methods", "GET, OPTIONS"),
        (
            "access-control-allow-headers",
            "Authorization, Content-Type, If-None-Match",
        ),
        ("access-control-max-age", "600"),
        ("vary", "Authorization, Origin"),
    ];
    assert!(!refused(
        "OPTIONS",
        "/api/shipment/ORD-1/track",
        &answer(204, &preflight, "")
    ));
    assert!(refused(
        "OPTIONS",
        "/api/shipment/ORD-1/track",
        &answer(
            204,
            &[preflight[0], preflight[1], preflight[2], preflight[3], JSON],
            "{}"
        )
    ));

    // wrangler's cron hook is not the worker's and is not checked.
    let ran = answer(
        200,
        &[("content-type", "text/plain")],
        "Ran scheduled event",
    );
    assert!(!refused("GET", "/__scheduled?cron=0+*+*+*+*", &ran));
}
