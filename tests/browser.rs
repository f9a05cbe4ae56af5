//! The tracking page and the widget in a real headless Chromium (puppeteer-core, axe-core),
//! against the real worker under `wrangler dev` and the simulator with its demo shipments:
//! every state in English and Hindi, the refresh control with and without JavaScript, the
//! widget embedded in a storefront page from an allowed origin and refused from another,
//! no axe-core violations (WCAG 2.2 A/AA) in light and dark mode, no third-party requests, no
//! CSP violations, ≤ 30 KB a page, 320 px wide without sideways scrolling. The browser part is
//! `tests/browser/run.mjs`; this sets up the states and the storefronts, and runs it.
//!
//! Chromium comes from the operating system (`scripts/setup.sh` installs Debian's `chromium`
//! when it can) or `CHROME_PATH`; without one this fails saying how to get one. Screenshots of
//! every state go to `target/browser/` (or `BROWSER_OUTPUT_DIR`).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

use bluedart_sim::SimConfig;
use bluedart_sim::demo::{in_transit, scan};
use chrono::{Duration, Utc};
use e2e::{Options, TRACKING_LINK_SECRET, TestWorker, customer_token, root};
use serde_json::json;
use tracking_api::credentials::link_signature;

/// The browser: `CHROME_PATH`, else the distribution's Chromium.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROME_PATH") {
        let path = PathBuf::from(path);
        assert!(path.exists(), "CHROME_PATH={path:?} does not exist");
        return path;
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "the browser suite needs Chromium and found none. Install the distribution's \
                 package (Debian/Ubuntu, as root: `apt-get install chromium`; `npm run setup` \
                 does this when run as root) or point CHROME_PATH at a Chromium or Chrome binary."
            )
        })
}

/// A storefront on `listener` (127.0.0.1): one static page that embeds the widget from
/// `worker`, themed through the widget's custom properties. Serves until the test process ends.
fn storefront(listener: TcpListener, worker: &str, order: &str, token: &str) -> String {
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>Your order</title><style>shipment-tracking{{--st-accent:#8b0000}}\
         @media (prefers-color-scheme:dark){{shipment-tracking{{--st-accent:#ff9e9e}}}}</style></head>\
         <body><main><h1>Your order {order}</h1>\
         <shipment-tracking order-id=\"{order}\" token=\"{token}\"></shipment-tracking></main>\
         <script src=\"{worker}/widget.js\"></script></body></html>"
    );
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            // The request line and headers; the answer is the same page whatever was asked.
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let mut stream = &stream;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
        }
    });
    origin
}

fn link(order: &str, exp: chrono::DateTime<Utc>) -> String {
    format!(
        "/track/{order}?exp={}&sig={}",
        exp.timestamp(),
        link_signature(TRACKING_LINK_SECRET, order, exp)
    )
}

#[test]
fn every_state_of_the_page_and_the_widget_in_chromium() {
    let chrome = chromium();
    // The storefronts need the worker's address and the worker needs the allowed one: bind the
    // allowed storefront first.
    let shop = TcpListener::bind("127.0.0.1:0").expect("bind a storefront");
    let shop_port = shop.local_addr().unwrap().port();
    let w = TestWorker::start_with(Options {
        sim: SimConfig {
            demo: true,
            ..SimConfig::default()
        },
        vars: vec![
            ("ALLOWED_ORIGINS", format!("http://127.0.0.1:{shop_port}")),
            // Each state and each refresh asks Blue Dart again, however soon.
            ("FORCE_REFRESH_MIN_INTERVAL_SECONDS", "0".into()),
        ],
        ..Options::default()
    });
    let seed = fs::read_to_string(root().join("scripts/demo-seed.sql")).expect("read the seed");
    w.d1_file(&seed);
    // A parcel on its way back to the sender, and a shipped order nothing is known of yet.
    let mut returning = in_transit("81234567801", "ORD-2301");
    returning.scans.push(scan(
        "RETURN TO ORIGIN - CONSIGNEE REFUSED",
        "T",
        "016",
        "UD",
        "2026-01-24 11:20",
        "KOCHI SERVICE CENTRE/COK",
    ));
    w.sim.state().load(vec![returning]);
    w.ship("ORD-2301", "cust-1001", "81234567801");
    w.d1("INSERT INTO orders (id, customer_id, order_status, shipping_status, awb_no, created_at, updated_at) \
          VALUES ('ORD-2302', 'cust-1001', 'Shipped', 'In-Transit', '81234567802', '2026-01-21T08:00:00Z', '2026-01-21T08:00:00Z')");
    // Blue Dart's answers, cached: each state the way a customer would find it.
    for (order, customer) in [
        ("ORD-2291", "cust-1001"),
        ("ORD-2292", "cust-1001"),
        ("ORD-2293", "cust-1002"),
        ("ORD-2294", "cust-1002"),
        ("ORD-2295", "cust-1003"),
        ("ORD-2296", "cust-1003"),
        ("ORD-2301", "cust-1001"),
    ] {
        let answer = w.track(order, customer, true);
        assert_eq!(answer.status, 200, "{order}: {}", answer.body);
        assert_eq!(answer.json()["dataSource"]["isLive"], true, "{order}");
    }
    let statuses: Vec<String> = [
        "ORD-2291", "ORD-2293", "ORD-2294", "ORD-2295", "ORD-2296", "ORD-2301",
    ]
    .iter()
    .map(|o| {
        w.admin("GET", &format!("/api/admin/shipment/{o}/track"), None)
            .json()["tracking"]["statusCode"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    })
    .collect();
    assert_eq!(
        statuses,
        [
            "out_for_delivery",
            "delivered",
            "returned",
            "failed_attempt",
            "lost",
            "returning"
        ]
    );

    let exp = Utc::now() + Duration::hours(1);
    let token = customer_token("cust-1001");
    let allowed = storefront(shop, &w.base, "ORD-2291", &token);
    assert_eq!(allowed, format!("http://127.0.0.1:{shop_port}"));
    let elsewhere = TcpListener::bind("127.0.0.1:0").expect("bind a storefront");
    let refused = storefront(elsewhere, &w.base, "ORD-2291", &token);
    let out = std::env::var_os("BROWSER_OUTPUT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/browser"));
    let _ = fs::remove_dir_all(&out);
    fs::create_dir_all(&out).expect("create the screenshot folder");
    // state, path, HTTP status, catalogue keys whose text the page shows, whether Blue Dart is
    // down for it.
    let states = json!([
        [
            "out-for-delivery",
            link("ORD-2291", exp),
            200,
            [
                "status.out_for_delivery",
                "source.cached",
                "timeline.heading"
            ],
            false
        ],
        [
            "in-transit-token",
            format!("/track/ORD-2292?token={token}"),
            200,
            ["status.in_transit", "source.cached"],
            false
        ],
        [
            "delivered",
            link("ORD-2293", exp),
            200,
            ["status.delivered", "delivered.on"],
            false
        ],
        [
            "returning",
            link("ORD-2301", exp),
            200,
            ["status.returning", "status.returned"],
            false
        ],
        [
            "returned",
            link("ORD-2294", exp),
            200,
            ["status.returned"],
            false
        ],
        [
            "failed-attempt",
            link("ORD-2295", exp),
            200,
            ["status.failed_attempt"],
            false
        ],
        ["lost", link("ORD-2296", exp), 200, ["status.lost"], false],
        [
            "no-waybill",
            link("ORD-2297", exp),
            200,
            ["problem.no_awb.title"],
            false
        ],
        [
            "not-found",
            link("ORD-9999", exp),
            404,
            ["problem.not_found.title"],
            false
        ],
        [
            "expired-link",
            link("ORD-2291", Utc::now() - Duration::minutes(5)),
            410,
            ["problem.expired.title"],
            false
        ],
        [
            "bluedart-down-cached",
            format!("{}&forceRefresh=true", link("ORD-2292", exp)),
            200,
            ["source.cached", "notice.failed"],
            true
        ],
        [
            "nothing-cached",
            format!("{}&forceRefresh=true", link("ORD-2302", exp)),
            503,
            ["problem.unavailable.title"],
            true
        ],
    ]);
    let config = json!({
        "chrome": chrome,
        "worker": w.base,
        "sim": w.sim.base_url(),
        "out": out,
        "states": states,
        "refresh": {"js": link("ORD-2293", exp), "noJs": link("ORD-2291", exp)},
        "widget": {"allowed": allowed, "refused": refused, "token": token},
    });
    let config_file = out.join("config.json");
    fs::write(&config_file, config.to_string()).expect("write the browser config");
    let output = Command::new("node")
        .arg(root().join("tests/browser/run.mjs"))
        .arg(&config_file)
        .current_dir(root())
        .output()
        .expect("run node tests/browser/run.mjs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the browser suite failed:\n{stdout}\n{stderr}\n{}",
        w.logs()
    );
    for state in config["states"].as_array().unwrap() {
        for lang in ["en", "hi"] {
            let shot = out.join(format!("{}-{lang}.png", state[0].as_str().unwrap()));
            assert!(
                fs::metadata(&shot).is_ok_and(|m| m.len() > 1000),
                "no screenshot {shot:?}"
            );
        }
    }
    let logs = w.logs();
    assert!(!logs.contains("panicked"), "{logs}");
}
