//! End to end: the customer worker (`build-worker.sh --front`) in front of the full worker's
//! back-office build (`build-worker.sh --back-office`), as production runs them: the customer
//! routes answered by the smaller build itself, every other request handed through the service
//! binding FULL, both on the same local D1 and KV.

use bluedart_sim::{Endpoint, SimConfig};
use e2e::{Front, Options, TestWorker, built, customer_token, production_bundle, root};
use serde_json::json;

fn front(front: Front, options: Options) -> TestWorker {
    let mut vars = vec![("FORCE_REFRESH_MIN_INTERVAL_SECONDS", "0".into())];
    vars.extend(options.vars);
    TestWorker::start_with(Options {
        vars,
        sim: SimConfig {
            demo: true,
            ..SimConfig::default()
        },
        front,
        ..options
    })
}

#[test]
fn customers_are_answered_in_front_and_everything_else_by_the_full_worker() {
    let w = front(Front::WithFull, Options::default());
    // Registered and shipped through the admin routes, which the full worker answers.
    w.ship("ORD-1", "cust-1", "81234567890");
    let admin = w.admin("GET", "/api/admin/shipment/ORD-1/track", None);
    assert_eq!(admin.status, 200, "{}", admin.body);
    assert_eq!(admin.json()["admin"]["customerId"], "cust-1");

    // The customer's answers, from the cache the full worker filled, then live from Blue Dart.
    let cached = w.track("ORD-1", "cust-1", false);
    assert_eq!(cached.status, 200, "{}", cached.body);
    assert_eq!(cached.json()["tracking"]["status"], "Booked");
    assert!(w.sim.calls(Endpoint::Tracking).is_empty());
    let live = w.track("ORD-1", "cust-1", true);
    assert_eq!(live.status, 200, "{}", live.body);
    let live = live.json();
    assert_eq!(
        live["dataSource"],
        json!({"isLive": true, "isCached": false, "unavailable": false})
    );
    assert_eq!(w.sim.calls(Endpoint::Tracking).len(), 1);
    // What the refresh saved is what both workers now read.
    let again = w.track("ORD-1", "cust-1", false).json();
    assert_eq!(again["tracking"], live["tracking"]);
    let admin = w
        .admin("GET", "/api/admin/shipment/ORD-1/track", None)
        .json();
    assert_eq!(admin["tracking"]["status"], live["tracking"]["status"]);

    // The page and the widget.
    let token = customer_token("cust-1");
    let page = w.get(&format!("/track/ORD-1?token={token}"));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.body.contains("ORD-1"));
    let widget = w.get("/widget.js");
    assert_eq!(widget.status, 200);
    assert!(
        widget
            .header("content-type")
            .unwrap()
            .contains("javascript")
    );

    // Handed over whole: the contract, a body, the full worker's own errors.
    let contract = w.get("/openapi.json");
    assert_eq!(contract.status, 200);
    assert_eq!(
        contract.json()["openapi"].as_str().map(|v| &v[..2]),
        Some("3.")
    );
    let bulk = w.request(
        "POST",
        "/api/admin/orders",
        &[
            ("Authorization", &format!("Bearer {}", e2e::ADMIN_TOKEN)),
            ("Content-Type", "application/x-ndjson"),
        ],
        Some("{\"orderId\":\"ORD-2\",\"customerId\":\"cust-2\"}\n{\"orderId\":\"ORD-3\",\"customerId\":\"cust-3\"}\n"),
    );
    assert_eq!(bulk.status, 200, "{}", bulk.body);
    assert_eq!(bulk.json()["created"], 2);
    let missing = w.get("/api/nothing-here");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["code"], "NOT_FOUND");
    let unauthorised = w.request("GET", "/api/admin/sync/runs", &[], None);
    assert_eq!(unauthorised.status, 401);
}

/// With nothing behind its service binding, the customer worker still answers every customer
/// route itself (reading D1 and KV). In production it serves without the admin and push
/// tokens, which only the full worker needs. (What a binding to a worker that is not running
/// answers is wrangler's to decide, and it has both answered 503 at once and let the request
/// hang: the hand-off itself is checked without a binding, below.)
#[test]
fn the_customer_worker_alone_answers_only_the_customer_routes() {
    let w = front(
        Front::Alone,
        Options {
            vars: vec![("ENVIRONMENT", "production".into())],
            secrets: vec![
                ("ADMIN_TOKEN", String::new()),
                ("BLUEDART_PUSH_TOKEN", String::new()),
            ],
            ..Options::default()
        },
    );
    assert_eq!(w.get("/health").json(), json!({"status": "ok"}));
    assert_eq!(w.get("/widget.js").status, 200);
    let unknown = w.track("ORD-404", "cust-1", false);
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert_eq!(unknown.json()["code"], "ORDER_NOT_FOUND");
    let page = w.get(&format!(
        "/track/ORD-404?token={}",
        customer_token("cust-1")
    ));
    assert_eq!(page.status, 404, "{}", page.body);
    assert!(page.body.contains("<html"));
}

/// Deployed without its binding, the customer worker still answers its own routes, and hands
/// every other one off, whatever it is: with nowhere to hand it, it says it is not configured
/// (the contract's 500). It has no admin code to fall back on.
#[test]
fn without_its_binding_the_customer_worker_says_it_is_not_configured() {
    let w = front(Front::Unbound, Options::default());
    assert_eq!(w.get("/health").json(), json!({"status": "ok"}));
    let admin = w.admin("GET", "/api/admin/sync/runs", None);
    assert_eq!(admin.status, 500, "{}", admin.body);
    assert_eq!(admin.json()["code"], "CONFIGURATION_ERROR");
    w.wait_for_log("the service binding FULL is missing");
    for (method, path) in [
        ("GET", "/openapi.json"),
        ("PUT", "/api/admin/orders/ORD-1"),
        ("POST", "/api/carrier/bluedart/push"),
        ("GET", "/api/nothing-here"),
    ] {
        let answer = w.send(method, path, &[], Some("{}"));
        assert_eq!(answer.status, 500, "{method} {path}: {}", answer.body);
        assert_eq!(
            answer.json()["code"],
            "CONFIGURATION_ERROR",
            "{method} {path}"
        );
    }
}

/// The full worker as production deploys it behind the customer worker, alone: the admin
/// routes, the contract, the cron and its queues' consumers all work; the customer routes are
/// not in its build and their paths answer 404 whatever the request (the customer worker
/// answers them): credentials or none, a bad id, another method, another site's origin. In
/// production it serves without the customer secrets, which only the customer worker needs.
#[test]
fn the_back_office_build_runs_everything_but_the_customer_routes() {
    let w = front(
        Front::BackOfficeAlone,
        Options {
            vars: vec![("ENVIRONMENT", "production".into())],
            secrets: vec![
                ("CUSTOMER_TOKEN_SECRET", String::new()),
                ("TRACKING_LINK_SECRET", String::new()),
            ],
            ..Options::default()
        },
    );
    w.ship("ORD-1", "cust-1", "81234567890");
    let run = w.cron_run();
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["succeeded"], 1, "{run}");
    assert_eq!(w.sim.calls(Endpoint::Tracking).len(), 1);
    let admin = w.admin("GET", "/api/admin/shipment/ORD-1/track", None);
    assert_eq!(admin.status, 200, "{}", admin.body);
    assert_ne!(
        admin.json()["tracking"]["status"],
        "Booked",
        "{}",
        admin.body
    );
    assert_eq!(w.get("/health").json(), json!({"status": "ok"}));
    assert_eq!(w.get("/openapi.json").status, 200);

    let token = customer_token("cust-1");
    let bearer = format!("Bearer {token}");
    for (method, path, headers) in [
        (
            "GET",
            "/api/shipment/ORD-1/track".to_owned(),
            vec![("Authorization", bearer.as_str())],
        ),
        (
            "OPTIONS",
            "/api/shipment/ORD-1/track".to_owned(),
            vec![
                ("Origin", "http://localhost:3000"),
                ("Access-Control-Request-Method", "GET"),
            ],
        ),
        ("GET", format!("/track/ORD-1?token={token}"), vec![]),
        ("GET", "/widget.js".to_owned(), vec![]),
        ("GET", "/api/shipment/bad%20id/track".to_owned(), vec![]),
        ("DELETE", "/api/shipment/ORD-1/track".to_owned(), vec![]),
        (
            "GET",
            "/api/shipment/ORD-1/track".to_owned(),
            vec![("Origin", "https://elsewhere.example")],
        ),
        ("POST", "/widget.js".to_owned(), vec![]),
    ] {
        // Unchecked: the contract is the two workers', which answer these paths in front.
        let answer = w.send(method, &path, &headers, None);
        assert_eq!(answer.status, 404, "{method} {path}: {}", answer.body);
        assert_eq!(answer.json()["code"], "NOT_FOUND", "{method} {path}");
    }
}

/// `npm run deploy`'s two uploads, as `wrangler deploy --dry-run` makes them from the
/// configurations the builds write: each bundles its own build; the back office keeps the
/// static assets, the cron and the queue consumers (`-c` paths resolve beside the
/// configuration); the customer worker has none of them and binds FULL.
#[test]
fn production_deploys_bundle_each_workers_own_build() {
    // Each worker keeps its own name in every environment: the front deployed under the back
    // office's name would replace it.
    let names = |config: &str| -> Vec<String> {
        config
            .lines()
            .filter_map(|line| line.trim().strip_prefix("name = "))
            .map(|name| name.trim_matches('"').to_owned())
            .collect()
    };
    let (back, wasm) = production_bundle("--back-office", "build-back");
    assert!(wasm == std::fs::read(root().join("build-back/index_bg.wasm")).unwrap());
    let assets = format!(
        "from the assets directory {}",
        root().join("openapi/served").display()
    );
    assert!(back.contains(&assets), "{back}");
    let config = std::fs::read_to_string(root().join("build-back/wrangler.toml")).unwrap();
    assert_eq!(names(&config), ["shipment-tracker", "shipment-tracker"]);
    for table in [
        "[env.production.triggers]",
        "[[env.production.queues.consumers]]",
    ] {
        assert!(config.contains(table), "{table}");
    }

    let (front, wasm) = production_bundle("--front", "build-front");
    assert!(wasm == std::fs::read(root().join("build-front/index_bg.wasm")).unwrap());
    assert!(!front.contains("assets directory"), "{front}");
    assert!(front.contains("env.FULL (shipment-tracker)"), "{front}");
    let config = std::fs::read_to_string(root().join("build-front/wrangler.toml")).unwrap();
    assert_eq!(
        names(&config),
        ["shipment-tracker-front", "shipment-tracker-front"]
    );
    assert!(!config.contains("triggers]") && !config.contains("consumers]]"));
}

/// Every build ships its wasm without the name section (and the producers and target features
/// sections, which nothing reads at run time), and otherwise byte for byte as worker-build's
/// optimising run wrote it: the copy with names that the bench's by-crate sizes read
/// (`target/<build>-named.wasm`) is the same module. Re-writing it to drop the names had
/// re-encoded the code less compactly.
#[test]
fn each_build_ships_its_wasm_as_optimised_less_the_names() {
    /// The module's sections as (id, custom section name, bytes including the header).
    fn sections(wasm: &[u8]) -> Vec<(u8, String, &[u8])> {
        fn uleb(bytes: &[u8], at: &mut usize) -> usize {
            let (mut value, mut shift) = (0, 0);
            loop {
                let byte = bytes[*at];
                *at += 1;
                value |= usize::from(byte & 0x7f) << shift;
                shift += 7;
                if byte < 0x80 {
                    return value;
                }
            }
        }
        assert_eq!(&wasm[..4], b"\0asm");
        let (mut sections, mut at) = (Vec::new(), 8);
        while at < wasm.len() {
            let start = at;
            let id = wasm[at];
            at += 1;
            let size = uleb(wasm, &mut at);
            let body = at;
            at += size;
            let name = if id == 0 {
                let mut name_at = body;
                let length = uleb(wasm, &mut name_at);
                String::from_utf8_lossy(&wasm[name_at..name_at + length]).into_owned()
            } else {
                String::new()
            };
            sections.push((id, name, &wasm[start..at]));
        }
        assert_eq!(at, wasm.len());
        sections
    }
    for (flag, folder) in [
        (None, "build"),
        (Some("--front"), "build-front"),
        (Some("--back-office"), "build-back"),
    ] {
        built(flag);
        let shipped = std::fs::read(root().join(folder).join("index_bg.wasm")).unwrap();
        let named = std::fs::read(root().join(format!("target/{folder}-named.wasm"))).unwrap();
        let mut expected = sections(&named);
        assert!(
            expected
                .iter()
                .any(|(id, name, _)| *id == 0 && name == "name"),
            "{folder}: the named copy has its names"
        );
        expected.retain(|(id, name, _)| {
            !(*id == 0 && ["name", "producers", "target_features"].contains(&name.as_str()))
        });
        let shipped = sections(&shipped);
        assert!(shipped.len() > 10, "{folder}: {} sections", shipped.len());
        assert!(
            shipped == expected,
            "{folder}: shipped wasm differs beyond its names"
        );
    }
}
