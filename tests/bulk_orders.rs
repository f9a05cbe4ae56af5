//! End to end: `POST /api/admin/orders` on the real worker under `wrangler dev` (local D1 and
//! KV): a full request of 1,000 orders, a bad line answered alone, a chunk that storage refuses
//! failing whole while the others land, and the same body again changing nothing but
//! `updatedAt`. Then what it saves: 10,000 orders seeded by 10 bulk requests against the
//! single `PUT` path (printed, not asserted: run with `--nocapture` to see the figures).

use std::sync::Mutex;
use std::time::Instant;

use e2e::{ADMIN_TOKEN, Answer, TestWorker};
use serde_json::{Value, json};

/// The two tests start a worker each; one at a time, so that the timings are not shared.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// `n` orders `{prefix}-00001`…, every other one with a waybill of its own (`{awb_lead}` then
/// its number), as NDJSON.
fn orders(prefix: &str, awb_lead: u8, range: std::ops::RangeInclusive<usize>) -> String {
    range
        .map(|i| {
            let mut order = json!({"orderId": format!("{prefix}-{i:05}"), "customerId": "cust-bulk",
                "orderStatus": "Processing"});
            if i % 2 == 0 {
                order["orderStatus"] = json!("Shipped");
                order["awbNo"] = json!(format!("{awb_lead}{i:010}"));
            }
            order.to_string() + "\n"
        })
        .collect()
}

fn post(w: &TestWorker, content_type: &str, body: &str) -> Answer {
    let auth = format!("Bearer {ADMIN_TOKEN}");
    w.request(
        "POST",
        "/api/admin/orders",
        &[("Authorization", &auth), ("Content-Type", content_type)],
        Some(body),
    )
}

fn count(w: &TestWorker, sql: &str) -> u64 {
    w.d1(sql)[0]["n"].as_u64().expect("a count")
}

fn counts(answer: &Answer) -> (u64, u64, u64) {
    let body = answer.json();
    let n = |k: &str| body[k].as_u64().unwrap();
    (n("created"), n("updated"), n("failed"))
}

#[test]
fn many_orders_in_one_request_chunk_by_chunk() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let w = TestWorker::start();

    // 1,000 orders in one request.
    let body = orders("BULK", 6, 1..=1000);
    let first = post(&w, "application/x-ndjson", &body);
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(counts(&first), (1000, 0, 0));
    assert_eq!(first.json()["success"], true);
    assert_eq!(
        count(
            &w,
            "SELECT COUNT(*) AS n FROM orders WHERE id LIKE 'BULK-%'"
        ),
        1000
    );
    // Those with a waybill are in transit and due for the next sync.
    assert_eq!(
        count(
            &w,
            "SELECT COUNT(*) AS n FROM orders WHERE id LIKE 'BULK-%' AND shipping_status = 'In-Transit' \
             AND next_check_at IS NULL AND polling_stopped_at IS NULL"
        ),
        500
    );

    // Admins see them (a look at one with a waybill also refreshes it in the background).
    for (id, awb) in [
        ("BULK-00001", Value::Null),
        ("BULK-00500", json!("60000000500")),
    ] {
        let look = w.admin("GET", &format!("/api/admin/shipment/{id}/track"), None);
        assert_eq!(look.status, 200, "{}", look.body);
        assert_eq!(look.json()["awbNo"], awb, "{id}");
        assert_eq!(look.json()["admin"]["customerId"], "cust-bulk");
    }

    // The same body again: every order updated, none twice, nothing else changed.
    let before = w.d1("SELECT id, customer_id, order_status, shipping_status, awb_no, created_at FROM orders ORDER BY id");
    let again = post(&w, "application/x-ndjson", &body);
    assert_eq!(counts(&again), (0, 1000, 0), "{}", again.body);
    let after = w.d1("SELECT id, customer_id, order_status, shipping_status, awb_no, created_at FROM orders ORDER BY id");
    assert_eq!(before, after);

    // A bad line is answered alone; the others land. As a JSON array this time.
    let array = json!([
        {"orderId": "ONE-1", "customerId": "cust-bulk"},
        {"orderId": "ONE-2", "customerId": "cust-bulk", "orderStatus": "Lost in the post"},
        {"orderId": "ONE-3", "customerId": "cust-bulk", "awbNo": "60000000500"},
        {"orderId": "ONE-4", "customerId": "cust-bulk"},
    ]);
    let mixed = post(&w, "application/json", &array.to_string());
    assert_eq!(mixed.status, 200, "{}", mixed.body);
    assert_eq!(counts(&mixed), (2, 0, 2));
    let errors = &mixed.json()["errors"];
    assert_eq!(
        (&errors[0]["line"], &errors[0]["code"], &errors[0]["field"]),
        (&json!(2), &json!("VALIDATION_ERROR"), &json!("orderStatus"))
    );
    assert_eq!(
        (&errors[1]["line"], &errors[1]["code"]),
        (&json!(3), &json!("AWB_IN_USE"))
    );
    assert_eq!(
        count(&w, "SELECT COUNT(*) AS n FROM orders WHERE id LIKE 'ONE-%'"),
        2
    );

    // A chunk storage refuses fails whole; the chunks before and after it stand.
    w.d1(
        "CREATE TRIGGER refuse_one_order BEFORE INSERT ON orders WHEN NEW.id = 'CHUNK-00150' \
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
    );
    let chunked = post(&w, "application/x-ndjson", &orders("CHUNK", 5, 1..=250));
    assert_eq!(chunked.status, 200, "{}", chunked.body);
    assert_eq!(counts(&chunked), (150, 0, 100));
    let failed: Vec<u64> = chunked.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["code"], "STORAGE_UNAVAILABLE");
            e["line"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(failed, (101..=200).collect::<Vec<u64>>());
    assert_eq!(
        count(
            &w,
            "SELECT COUNT(*) AS n FROM orders WHERE id LIKE 'CHUNK-%'"
        ),
        150
    );
    assert_eq!(
        count(
            &w,
            "SELECT COUNT(*) AS n FROM orders WHERE id BETWEEN 'CHUNK-00101' AND 'CHUNK-00200'"
        ),
        0
    );
    let logs = w.wait_for_log("[INTAKE] 250 orders");
    assert!(
        logs.contains(
            "[INTAKE] 250 orders: 150 created, 0 updated, 100 failed (3 chunks, 1 failed)"
        ),
        "{logs}"
    );
    assert!(!logs.contains("cust-bulk"), "no customer ids in the log");

    // A new owner: the cached snapshot goes, so the old owner no longer reads the order.
    assert_eq!(w.track("ONE-1", "cust-bulk", false).status, 200);
    let moved = post(
        &w,
        "application/x-ndjson",
        "{\"orderId\":\"ONE-1\",\"customerId\":\"cust-other\"}\n",
    );
    assert_eq!(counts(&moved), (0, 1, 0), "{}", moved.body);
    assert_eq!(w.track("ONE-1", "cust-bulk", false).status, 404);
    assert_eq!(w.track("ONE-1", "cust-other", false).status, 200);

    // Over the limit: nothing is written.
    let over = post(&w, "application/x-ndjson", &orders("OVER", 4, 1..=1001));
    assert_eq!(
        (over.status, over.json()["code"].as_str()),
        (413, Some("TOO_MANY_ORDERS"))
    );
    assert_eq!(
        count(
            &w,
            "SELECT COUNT(*) AS n FROM orders WHERE id LIKE 'OVER-%'"
        ),
        0
    );
}

#[test]
fn a_put_giving_an_order_another_waybill_is_awb_exists() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let w = TestWorker::start();
    let put = |awb: &str| {
        w.admin(
            "PUT",
            "/api/admin/orders/ORD-1",
            Some(json!({"customerId": "cust-1", "orderStatus": "Shipped", "awbNo": awb})),
        )
    };
    assert_eq!(put("81234567890").status, 201);
    let other = put("81234567899");
    assert_eq!(
        (other.status, other.json()["code"].as_str()),
        (409, Some("AWB_EXISTS"))
    );
    assert_eq!(put("81234567890").status, 200);
}

/// Seeds 10,000 orders through 10 bulk requests, and 1,000 through single `PUT`s (scaled to
/// 10,000), on one worker, and prints both.
#[test]
fn seeding_ten_thousand_orders_bulk_against_single_puts() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let w = TestWorker::start();
    // Warm the worker up (first request compiles the wasm).
    assert_eq!(
        post(&w, "application/x-ndjson", &orders("WARM", 1, 1..=10)).status,
        200
    );

    let started = Instant::now();
    let mut slowest = 0.0_f64;
    for request in 0..10 {
        let from = request * 1000 + 1;
        let body = orders("SEED", 7, from..=from + 999);
        let one = Instant::now();
        let answer = post(&w, "application/x-ndjson", &body);
        slowest = slowest.max(one.elapsed().as_secs_f64());
        assert_eq!(counts(&answer), (1000, 0, 0), "{}", answer.body);
    }
    let bulk = started.elapsed().as_secs_f64();
    assert_eq!(
        count(
            &w,
            "SELECT COUNT(*) AS n FROM orders WHERE id LIKE 'SEED-%'"
        ),
        10_000
    );

    let sample = 1000;
    let started = Instant::now();
    for i in 1..=sample {
        let mut body = json!({"customerId": "cust-bulk", "orderStatus": "Processing"});
        if i % 2 == 0 {
            body["orderStatus"] = json!("Shipped");
            body["awbNo"] = json!(format!("8{i:010}"));
        }
        let answer = w.admin("PUT", &format!("/api/admin/orders/PUT-{i:05}"), Some(body));
        assert_eq!(answer.status, 201, "{}", answer.body);
    }
    let single = started.elapsed().as_secs_f64();
    let single_scaled = single * 10_000.0 / sample as f64;
    println!("seeding 10,000 orders (half with a waybill) on wrangler dev, local D1:");
    println!(
        "  bulk:   10 requests of 1,000: {bulk:.2} s ({:.0} ms per request, slowest {:.0} ms; {:.0} µs per order)",
        bulk * 100.0,
        slowest * 1000.0,
        bulk * 100.0
    );
    println!(
        "  single: {sample} PUTs: {single:.2} s ({:.1} ms per order); 10,000 scaled: {single_scaled:.1} s in 10,000 requests",
        single * 1000.0 / sample as f64
    );
    println!(
        "  bulk takes {:.3}x the time of single PUTs ({:.1}x faster)",
        bulk / single_scaled,
        single_scaled / bulk
    );
}
