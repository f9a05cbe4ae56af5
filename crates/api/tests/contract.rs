//! The HTTP contract, natively: routing, credentials, CORS, bodies, errors and caching rules,
//! through `Api::handle` over the in-memory ports. No worker, no wrangler.

use chrono::Duration;
use http::{Method, Request};
use serde_json::{Value, json};
use tracking_api::credentials::link_signature;
use tracking_api::reply::{After, Reply};
use tracking_core::carrier::{CarrierUpdate, RawJson, TrackingReply};

use crate::support::{ADMIN, Harness, LINK_SECRET, SHOP, json_of};

/// The shared harness with ORD-2 also registered for cust-1, without a waybill.
fn contract() -> Harness {
    let c = Harness::new();
    c.world.registered("ORD-2");
    c
}

fn get(path: &str) -> http::request::Builder {
    Request::builder().method(Method::GET).uri(path)
}

/// A request without a body.
fn bodiless(method: &Method, path: &str, headers: &[(&str, &str)]) -> Request<Vec<u8>> {
    let mut builder = Request::builder().method(method.clone()).uri(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(vec![]).unwrap()
}

fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply
        .response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
}

/// Status and `code` of an error answer.
fn error(reply: &Reply) -> (u16, String) {
    let body = json_of(reply);
    assert_eq!(body["success"], false, "{body}");
    (
        reply.response.status().as_u16(),
        body["code"].as_str().unwrap().to_owned(),
    )
}

fn admin(method: Method, path: &str, body: Option<Value>) -> Request<Vec<u8>> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("Authorization", format!("Bearer {ADMIN}"));
    if body.is_some() {
        builder = builder.header("Content-Type", "application/json");
    }
    builder
        .body(body.map(|b| b.to_string().into_bytes()).unwrap_or_default())
        .unwrap()
}

#[test]
fn routes_methods_and_ids_are_answered_before_anything_else() {
    let c = contract();
    let cases: &[(Method, &str, u16, &str)] = &[
        (Method::GET, "/", 404, "NOT_FOUND"),
        (Method::GET, "/api/shipment/ORD-1", 404, "NOT_FOUND"),
        (
            Method::DELETE,
            "/api/shipment/ORD-1/track",
            405,
            "METHOD_NOT_ALLOWED",
        ),
        (
            Method::GET,
            "/api/admin/orders/ORD-1",
            405,
            "METHOD_NOT_ALLOWED",
        ),
        (
            Method::GET,
            "/api/shipment/bad%20id/track",
            400,
            "INVALID_ORDER_ID",
        ),
        (Method::POST, "/health", 405, "METHOD_NOT_ALLOWED"),
    ];
    for (method, path, status, code) in cases {
        let reply = c.send(bodiless(method, path, &[]));
        assert_eq!(
            error(&reply),
            (*status, code.to_string()),
            "{method} {path}"
        );
        assert_eq!(header(&reply, "cache-control"), Some("no-store"));
    }
    let reply = c.send(get("/health").body(vec![]).unwrap());
    assert_eq!(reply.response.status(), 200);
    assert_eq!(json_of(&reply), json!({"status": "ok"}));
}

#[test]
fn customers_need_credentials_and_see_only_their_orders() {
    let c = contract();
    let track = |auth: Option<String>| {
        let mut b = get("/api/shipment/ORD-1/track");
        if let Some(auth) = auth {
            b = b.header("Authorization", auth);
        }
        c.send(b.body(vec![]).unwrap())
    };
    assert_eq!(error(&track(None)), (401, "UNAUTHORIZED".into()));
    let malformed = track(Some("Bearer not.a.token".into()));
    assert_eq!(error(&malformed), (401, "UNAUTHORIZED".into()));
    assert_eq!(
        json_of(&malformed)["message"],
        "Malformed credentials",
        "the message says what is wrong with them"
    );
    assert_eq!(
        error(&track(Some(format!("Basic {}", c.token("cust-1"))))),
        (401, "UNAUTHORIZED".into())
    );
    // Another customer's order and an unknown order answer alike.
    let other = track(Some(format!("Bearer {}", c.token("cust-2"))));
    let unknown = c.send(
        get("/api/shipment/ORD-404/track")
            .header("Authorization", format!("Bearer {}", c.token("cust-2")))
            .body(vec![])
            .unwrap(),
    );
    assert_eq!(error(&other), (404, "ORDER_NOT_FOUND".into()));
    assert_eq!(other.response.body(), unknown.response.body());

    let mine = track(Some(format!("Bearer {}", c.token("cust-1"))));
    assert_eq!(mine.response.status(), 200, "{}", mine.response.body());
    let body = json_of(&mine);
    assert_eq!(body["success"], true);
    assert_eq!(body["orderId"], "ORD-1");
    assert_eq!(body["dataSource"]["isCached"], true);
    assert_eq!(header(&mine, "cache-control"), Some("private, max-age=30"));
    assert_eq!(header(&mine, "vary"), Some("Authorization, Origin"));
    assert_eq!(
        header(&mine, "content-type"),
        Some("application/json; charset=utf-8")
    );

    // A signed link reads its own order only.
    let exp = c.world.clock.0.get() + Duration::hours(1);
    let sig = link_signature(LINK_SECRET, "ORD-1", exp);
    let link = format!(
        "/api/shipment/ORD-1/track?exp={}&sig={sig}",
        exp.timestamp()
    );
    assert_eq!(
        c.send(get(&link).body(vec![]).unwrap()).response.status(),
        200
    );
    let elsewhere = link.replace("/ORD-1/", "/ORD-2/");
    assert_eq!(
        error(&c.send(get(&elsewhere).body(vec![]).unwrap())),
        (401, "UNAUTHORIZED".into())
    );
}

#[test]
fn a_waybill_less_order_and_bad_queries() {
    let c = contract();
    let auth = format!("Bearer {}", c.token("cust-1"));
    let reply = c.send(
        get("/api/shipment/ORD-2/track")
            .header("Authorization", &auth)
            .body(vec![])
            .unwrap(),
    );
    assert_eq!(reply.response.status(), 200);
    assert_eq!(
        json_of(&reply),
        json!({"success": false, "message": "Shipment not initiated for this order yet",
               "code": "NO_AWB", "shippingStatus": "Pending"})
    );
    assert_eq!(header(&reply, "cache-control"), Some("no-store"));
    let reply = c.send(
        get("/api/shipment/ORD-1/track?forceRefresh=yes")
            .header("Authorization", &auth)
            .body(vec![])
            .unwrap(),
    );
    assert_eq!(error(&reply), (400, "INVALID_QUERY".into()));
}

#[test]
fn cors_is_answered_for_configured_origins_only() {
    let c = contract();
    let auth = format!("Bearer {}", c.token("cust-1"));
    let from = |origin: &str| {
        c.send(
            get("/api/shipment/ORD-1/track")
                .header("Origin", origin)
                .header("Authorization", &auth)
                .body(vec![])
                .unwrap(),
        )
    };
    let allowed = from(SHOP);
    assert_eq!(allowed.response.status(), 200);
    assert_eq!(header(&allowed, "access-control-allow-origin"), Some(SHOP));
    assert_eq!(header(&allowed, "vary"), Some("Authorization, Origin"));
    let refused = from("https://evil.example");
    assert_eq!(error(&refused), (403, "CORS_ORIGIN_NOT_ALLOWED".into()));
    assert_eq!(header(&refused, "access-control-allow-origin"), None);

    let preflight = c.send(
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/api/shipment/ORD-1/track")
            .header("Origin", SHOP)
            .body(vec![])
            .unwrap(),
    );
    assert_eq!(preflight.response.status(), 204);
    // If-None-Match: a widget revalidating its own copy.
    assert_eq!(
        header(&preflight, "access-control-allow-headers"),
        Some("Authorization, Content-Type, If-None-Match")
    );
    assert_eq!(
        header(&preflight, "access-control-allow-methods"),
        Some("GET, OPTIONS")
    );
    assert_eq!(
        header(&preflight, "access-control-allow-origin"),
        Some(SHOP)
    );
}

#[test]
fn admin_routes_need_the_admin_token() {
    let c = contract();
    for auth in [None, Some("Bearer wrong"), Some(ADMIN)] {
        let mut b = get("/api/admin/sync/runs");
        if let Some(auth) = auth {
            b = b.header("Authorization", auth);
        }
        assert_eq!(
            error(&c.send(b.body(vec![]).unwrap())),
            (401, "UNAUTHORIZED".into()),
            "{auth:?}"
        );
    }
    let runs = c.send(admin(Method::GET, "/api/admin/sync/runs", None));
    assert_eq!(runs.response.status(), 200);
    assert_eq!(
        json_of(&runs),
        json!({"success": true, "runs": [], "queue": {
            "enqueued": 0, "oldestEnqueuedAt": null, "oldestAgeSeconds": null
        }})
    );
    let bad = c.send(admin(Method::GET, "/api/admin/sync/runs?limit=0", None));
    assert_eq!(error(&bad), (400, "INVALID_QUERY".into()));
}

#[test]
fn admin_bodies_are_json_bounded_and_validated() {
    let c = contract();
    let put = |body: Request<Vec<u8>>| c.send(body);
    // Not JSON.
    let reply = put(Request::builder()
        .method(Method::PUT)
        .uri("/api/admin/orders/ORD-9")
        .header("Authorization", format!("Bearer {ADMIN}"))
        .header("Content-Type", "text/plain")
        .body(b"{}".to_vec())
        .unwrap());
    assert_eq!(error(&reply), (415, "UNSUPPORTED_MEDIA_TYPE".into()));
    // Too large, declared or not.
    let big = format!("{{\"customerId\":\"{}\"}}", "x".repeat(20 * 1024));
    let mut request = admin(Method::PUT, "/api/admin/orders/ORD-9", None);
    request
        .headers_mut()
        .insert("Content-Type", "application/json".parse().unwrap());
    *request.body_mut() = big.clone().into_bytes();
    assert_eq!(error(&put(request)), (413, "PAYLOAD_TOO_LARGE".into()));
    let mut declared = admin(Method::PUT, "/api/admin/orders/ORD-9", Some(json!({})));
    declared
        .headers_mut()
        .insert("Content-Length", "999999".parse().unwrap());
    assert_eq!(error(&put(declared)), (413, "PAYLOAD_TOO_LARGE".into()));
    // Broken JSON, unknown fields, invalid values.
    let mut broken = admin(Method::PUT, "/api/admin/orders/ORD-9", Some(json!({})));
    *broken.body_mut() = b"{\"customerId\":".to_vec();
    assert_eq!(error(&put(broken)), (400, "INVALID_JSON".into()));
    let unknown = admin(
        Method::PUT,
        "/api/admin/orders/ORD-9",
        Some(json!({"customerId": "c", "extra": 1})),
    );
    assert_eq!(error(&put(unknown)), (400, "INVALID_JSON".into()));
    let invalid = put(admin(
        Method::PUT,
        "/api/admin/orders/ORD-9",
        Some(json!({"customerId": "c", "orderStatus": "Lost in space"})),
    ));
    assert_eq!(error(&invalid), (400, "VALIDATION_ERROR".into()));
    assert_eq!(json_of(&invalid)["field"], "orderStatus");
    // Created, then updated.
    let body = json!({"customerId": "cust-9", "orderStatus": "Processing"});
    let created = put(admin(
        Method::PUT,
        "/api/admin/orders/ORD-9",
        Some(body.clone()),
    ));
    assert_eq!(created.response.status(), 201);
    assert_eq!(json_of(&created)["order"]["customerId"], "cust-9");
    let updated = put(admin(Method::PUT, "/api/admin/orders/ORD-9", Some(body)));
    assert_eq!(updated.response.status(), 200);
    assert_eq!(json_of(&updated)["created"], false);
}

#[test]
fn waybills_are_attached_or_refused_with_a_reason() {
    let c = contract();
    let awb = |body: Value| {
        c.send(admin(
            Method::POST,
            "/api/admin/shipment/ORD-2/awb",
            Some(body),
        ))
    };
    assert_eq!(error(&awb(json!({}))), (400, "VALIDATION_ERROR".into()));
    assert_eq!(
        error(&awb(json!({"awbNo": "12ab"}))),
        (400, "VALIDATION_ERROR".into())
    );
    let generate = json!({"generate": {"consignee": {"name": "A", "address1": "B",
        "pincode": "411001", "mobile": "9000000000"}, "weightKg": 1.0}});
    assert_eq!(
        error(&awb(generate)),
        (503, "WAYBILL_GENERATION_NOT_CONFIGURED".into())
    );
    let attached = awb(json!({"awbNo": "222222222"}));
    assert_eq!(
        attached.response.status(),
        201,
        "{}",
        attached.response.body()
    );
    assert_eq!(json_of(&attached)["order"]["shippingStatus"], "In-Transit");
    let taken = c.send(admin(
        Method::POST,
        "/api/admin/shipment/ORD-1/awb",
        Some(json!({"awbNo": "222222222"})),
    ));
    assert_eq!(error(&taken).0, 409);
}

#[test]
fn a_stale_admin_look_asks_the_platform_for_a_background_refresh() {
    let c = contract();
    let reply = c.send(admin(Method::GET, "/api/admin/shipment/ORD-1/track", None));
    assert_eq!(reply.response.status(), 200);
    assert_eq!(json_of(&reply)["admin"]["backgroundRefresh"], "scheduled");
    assert_eq!(reply.after, Some(After::Refresh("ORD-1".into())));
    assert_eq!(header(&reply, "cache-control"), Some("no-store"));
    let unknown = c.send(admin(Method::GET, "/api/admin/shipment/NOPE/track", None));
    assert_eq!(error(&unknown), (404, "ORDER_NOT_FOUND".into()));
    assert_eq!(unknown.after, None);
}

#[test]
fn a_second_look_with_the_etag_is_a_304_until_the_order_changes() {
    let c = contract();
    let first = c.customer_get("/api/shipment/ORD-1/track", &[]);
    assert_eq!(first.response.status(), 200);
    let etag = header(&first, "etag")
        .expect("a 200 carries an ETag")
        .to_owned();
    assert!(etag.starts_with('"'), "strong: {etag}");

    let again = c.customer_get("/api/shipment/ORD-1/track", &[("If-None-Match", &etag)]);
    assert_eq!(again.response.status(), 304);
    assert_eq!(again.response.body(), "");
    assert_eq!(header(&again, "etag"), Some(etag.as_str()));
    assert_eq!(header(&again, "cache-control"), Some("private, max-age=30"));
    assert_eq!(header(&again, "vary"), Some("Authorization, Origin"));
    assert_eq!(header(&again, "content-type"), None);
    // A browser or CDN may weaken the tag, or send several.
    let weak = format!("\"other\", W/{etag}");
    let listed = c.customer_get("/api/shipment/ORD-1/track", &[("If-None-Match", &weak)]);
    assert_eq!(listed.response.status(), 304);
    let any = c.customer_get("/api/shipment/ORD-1/track", &[("If-None-Match", "*")]);
    assert_eq!(any.response.status(), 304);
    let stale = c.customer_get("/api/shipment/ORD-1/track", &[("If-None-Match", "\"x\"")]);
    assert_eq!(stale.response.status(), 200);
    assert_eq!(stale.response.body(), first.response.body());

    // The order moves on (Blue Dart now expects a delivery date): the old tag gets the new
    // answer with a new tag.
    c.world.clock.advance(Duration::hours(2));
    c.world.carrier.then(Ok(TrackingReply {
        http_status: 200,
        updates: vec![(
            "111111111".into(),
            Some(CarrierUpdate {
                events: vec![],
                expected_delivery: chrono::NaiveDate::from_ymd_opt(2026, 1, 24),
                payload: RawJson::of(&json!({})),
            }),
        )],
    }));
    let synced = c.send(admin(Method::POST, "/api/admin/shipment/ORD-1/sync", None));
    assert_eq!(synced.response.status(), 200, "{}", synced.response.body());
    let summary = json_of(&synced);
    assert_eq!(
        (
            &summary["success"],
            &summary["orderId"],
            &summary["awbNo"],
            &summary["changed"],
            &summary["newEvents"]
        ),
        (
            &json!(true),
            &json!("ORD-1"),
            &json!("111111111"),
            &json!(true),
            &json!(0)
        ),
        "{summary}"
    );
    // Admins see what Blue Dart answered, as JSON.
    let look = json_of(&c.send(admin(Method::GET, "/api/admin/shipment/ORD-1/track", None)));
    assert_eq!(
        look["admin"]["carrierResponse"],
        json!({"fetchedAt": tracking_core::model::iso(c.world.clock.0.get()), "httpStatus": 200,
               "truncated": false, "body": {}}),
        "{look}"
    );
    let after = c.customer_get("/api/shipment/ORD-1/track", &[("If-None-Match", &etag)]);
    assert_eq!(after.response.status(), 200, "{}", after.response.body());
    assert_ne!(header(&after, "etag"), Some(etag.as_str()));
    assert_ne!(after.response.body(), first.response.body());

    // Errors are not conditional: no tag, never a 304.
    let unknown = c.customer_get("/api/shipment/ORD-404/track", &[("If-None-Match", "*")]);
    assert_eq!(error(&unknown), (404, "ORDER_NOT_FOUND".into()));
    assert_eq!(header(&unknown, "etag"), None);
}

#[test]
fn every_customer_path_answer_carries_cors_and_vary_errors_included() {
    let c = contract();
    let cases: &[(Method, &str, u16, &str)] = &[
        (
            Method::GET,
            "/api/shipment/bad%20id/track",
            400,
            "INVALID_ORDER_ID",
        ),
        (
            Method::OPTIONS,
            "/api/shipment/bad%20id/track",
            400,
            "INVALID_ORDER_ID",
        ),
        (
            Method::DELETE,
            "/api/shipment/ORD-1/track",
            405,
            "METHOD_NOT_ALLOWED",
        ),
        (
            Method::GET,
            "/api/shipment/ORD-1/track",
            401,
            "UNAUTHORIZED",
        ),
        (
            Method::GET,
            "/api/shipment/ORD-1/track?forceRefresh=1",
            400,
            "INVALID_QUERY",
        ),
    ];
    for (method, path, status, code) in cases {
        let reply = c.send(bodiless(method, path, &[("Origin", SHOP)]));
        assert_eq!(
            error(&reply),
            (*status, code.to_string()),
            "{method} {path}"
        );
        assert_eq!(
            header(&reply, "access-control-allow-origin"),
            Some(SHOP),
            "{path}"
        );
        assert_eq!(
            header(&reply, "vary"),
            Some("Authorization, Origin"),
            "{path}"
        );
    }
    // From a refused origin, or none, still the Vary; never an allowed origin.
    for origin in [Some("https://evil.example"), None] {
        let mut b = get("/api/shipment/bad%20id/track");
        if let Some(origin) = origin {
            b = b.header("Origin", origin);
        }
        let reply = c.send(b.body(vec![]).unwrap());
        assert_eq!(error(&reply), (400, "INVALID_ORDER_ID".into()));
        assert_eq!(header(&reply, "vary"), Some("Authorization, Origin"));
        assert_eq!(header(&reply, "access-control-allow-origin"), None);
    }
    // A page may read the tag and the retry delay.
    let allowed = c.customer_get("/api/shipment/ORD-1/track", &[("Origin", SHOP)]);
    assert_eq!(
        header(&allowed, "access-control-expose-headers"),
        Some("ETag, Retry-After")
    );
    // Admin routes are not for browsers.
    let admin_error = c.send(
        get("/api/admin/shipment/bad%20id/track")
            .body(vec![])
            .unwrap(),
    );
    assert_eq!(header(&admin_error, "vary"), None);
}

#[test]
fn unknown_methods_get_405_and_head_is_get_without_a_body() {
    let c = contract();
    for name in ["QUERY", "PROPFIND"] {
        let method = Method::from_bytes(name.as_bytes()).unwrap();
        for (path, allow) in [
            ("/health", "GET, HEAD"),
            ("/openapi.json", "GET, HEAD"),
            ("/api/shipment/ORD-1/track", "GET, OPTIONS"),
        ] {
            let auth = format!("Bearer {}", c.token("cust-1"));
            let reply = c.send(bodiless(&method, path, &[("Authorization", &auth)]));
            assert_eq!(
                error(&reply),
                (405, "METHOD_NOT_ALLOWED".into()),
                "{name} {path}"
            );
            assert_eq!(header(&reply, "allow"), Some(allow));
            // Not configured: the same.
            let bare = tracking_api::unconfigured(&method, path);
            assert_eq!(bare.status(), 405, "{name} {path}");
            assert_eq!(bare.headers()["allow"], allow);
        }
    }
    let got = c.send(get("/health").body(vec![]).unwrap());
    let head = c.send(bodiless(&Method::HEAD, "/health", &[]));
    assert_eq!(head.response.status(), 200);
    assert_eq!(head.response.body(), "");
    assert!(!got.response.body().is_empty());
    for name in ["content-type", "cache-control"] {
        assert_eq!(header(&head, name), header(&got, name), "{name}");
    }
    let head = tracking_api::unconfigured(&Method::HEAD, "/health");
    assert_eq!((head.status().as_u16(), head.body().as_str()), (503, ""));
    // Not where an answer costs credentials and storage: the track route still refuses HEAD.
    let reply = c.send(bodiless(&Method::HEAD, "/api/shipment/ORD-1/track", &[]));
    assert_eq!(reply.response.status(), 405);
}

#[test]
fn the_contract_is_the_platforms_to_serve() {
    // The worker serves it from its static assets before routing; a request routed here
    // anyway is a deployment without them.
    let reply = contract().send(get("/openapi.json").body(vec![]).unwrap());
    assert_eq!(error(&reply), (500, "CONFIGURATION_ERROR".into()));
}

/// `POST /api/admin/orders` with the admin token, as `content_type`.
fn bulk(content_type: &str, body: impl Into<Vec<u8>>) -> Request<Vec<u8>> {
    Request::builder()
        .method(Method::POST)
        .uri("/api/admin/orders")
        .header("Authorization", format!("Bearer {ADMIN}"))
        .header("Content-Type", content_type)
        .body(body.into())
        .unwrap()
}

#[test]
fn a_put_giving_an_order_another_waybill_is_awb_exists() {
    let c = contract();
    let put = |awb: &str| {
        c.send(admin(
            Method::PUT,
            "/api/admin/orders/ORD-1",
            Some(json!({"customerId": "cust-1", "orderStatus": "Shipped", "awbNo": awb})),
        ))
    };
    assert_eq!(error(&put("999999999")), (409, "AWB_EXISTS".into()));
    assert_eq!(put("111111111").response.status(), 200);
}

#[test]
fn many_orders_are_created_or_updated_in_one_request() {
    let c = contract();
    let ndjson = [
        json!({"orderId": "ORD-10", "customerId": "cust-1", "orderStatus": "Shipped", "awbNo": "333333333"}),
        json!({"orderId": "ORD-2", "customerId": "cust-1", "orderStatus": "Shipped"}),
        json!({"orderId": "ORD-11", "customerId": "cust-1", "awbNo": "111111111"}),
        json!({"orderId": "ORD-10", "customerId": "cust-2"}),
    ]
    .iter()
    .map(Value::to_string)
    .collect::<Vec<_>>()
    .join("\n")
        + "\nnot json\n";
    let reply = c.send(bulk("application/x-ndjson; charset=utf-8", ndjson));
    assert_eq!(reply.response.status(), 200, "{}", reply.response.body());
    assert_eq!(header(&reply, "cache-control"), Some("no-store"));
    let body = json_of(&reply);
    assert_eq!(
        (
            &body["success"],
            &body["received"],
            &body["created"],
            &body["updated"],
            &body["failed"]
        ),
        (&json!(false), &json!(5), &json!(1), &json!(1), &json!(3))
    );
    assert_eq!(
        body["results"],
        json!([
            {"line": 1, "orderId": "ORD-10", "result": "created"},
            {"line": 2, "orderId": "ORD-2", "result": "updated"},
        ])
    );
    let errors: Vec<(u64, &str)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        vec![
            (3, "AWB_IN_USE"),
            (4, "DUPLICATE_ORDER_ID"),
            (5, "INVALID_JSON")
        ]
    );
    // The same as a JSON array: all updated now, nothing twice.
    let array = json!([
        {"orderId": "ORD-10", "customerId": "cust-1", "orderStatus": "Shipped", "awbNo": "333333333"},
        {"orderId": "ORD-2", "customerId": "cust-1", "orderStatus": "Shipped"},
    ]);
    let again = json_of(&c.send(bulk("application/json", array.to_string())));
    assert_eq!(
        (&again["updated"], &again["failed"]),
        (&json!(2), &json!(0))
    );
    assert_eq!(again["success"], true);
}

#[test]
fn a_full_bulk_request_stays_within_the_free_plans_d1_queries() {
    let c = contract();
    let lines: String = (0..tracking_api::bulk::MAX_BULK_ORDERS)
        .map(|i| {
            format!("{{\"orderId\":\"B-{i}\",\"customerId\":\"cust-1\",\"awbNo\":\"5{i:09}\"}}\n")
        })
        .collect();
    let before = c.world.store.queries();
    let reply = c.send(bulk("application/x-ndjson", lines));
    let body = json_of(&reply);
    assert_eq!(
        (&body["created"], &body["failed"]),
        (&json!(1000), &json!(0))
    );
    let spent = c.world.store.queries() - before;
    assert_eq!(spent, 20, "a check and a batch per chunk of 100");
    assert!(spent <= 50);
}

#[test]
fn bulk_requests_are_refused_whole_for_what_no_line_can_fix() {
    let c = contract();
    let line = "{\"orderId\":\"B-1\",\"customerId\":\"cust-1\"}\n";
    let cases: Vec<(Request<Vec<u8>>, u16, &str)> = vec![
        (bulk("text/plain", line), 415, "UNSUPPORTED_MEDIA_TYPE"),
        (bulk("application/x-ndjson", ""), 400, "EMPTY_BODY"),
        (bulk("application/json", "{}"), 400, "INVALID_JSON"),
        (
            bulk("application/x-ndjson", line.repeat(1001)),
            413,
            "TOO_MANY_ORDERS",
        ),
        (
            bulk("application/x-ndjson", " ".repeat(1024 * 1024 + 1)),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
    ];
    for (request, status, code) in cases {
        assert_eq!(error(&c.send(request)), (status, code.into()), "{code}");
    }
    let mut anonymous = bulk("application/x-ndjson", line);
    anonymous.headers_mut().remove("Authorization");
    assert_eq!(error(&c.send(anonymous)), (401, "UNAUTHORIZED".into()));
    let get = c.send(admin(Method::GET, "/api/admin/orders", None));
    assert_eq!(error(&get), (405, "METHOD_NOT_ALLOWED".into()));
    assert_eq!(header(&get, "allow"), Some("POST"));
    // The single PUT keeps its own limit.
    let big = format!("{{\"customerId\":\"{}\"}}", "x".repeat(20 * 1024));
    let mut put = admin(Method::PUT, "/api/admin/orders/ORD-9", Some(json!({})));
    *put.body_mut() = big.into_bytes();
    assert_eq!(error(&c.send(put)), (413, "PAYLOAD_TOO_LARGE".into()));
}

fn page(c: &Harness, path: &str, headers: &[(&str, &str)]) -> Reply {
    c.send(bodiless(&Method::GET, path, headers))
}

#[test]
fn the_tracking_page_takes_a_signed_link_or_a_token_and_says_why_not() {
    let c = contract();
    let now = c.world.clock.0.get();
    let exp = now + Duration::hours(1);
    let sig = link_signature(LINK_SECRET, "ORD-1", exp);
    let link = format!("/track/ORD-1?exp={}&sig={sig}", exp.timestamp());
    let shown = page(&c, &link, &[]);
    assert_eq!(shown.response.status(), 200, "{}", shown.response.body());
    assert!(shown.response.body().contains("<h1>Order ORD-1</h1>"));
    assert_eq!(header(&shown, "cache-control"), Some("private, max-age=30"));
    assert!(header(&shown, "content-security-policy").is_some());
    // Hindi by Accept-Language, English again by ?lang=.
    let hindi = page(&c, &link, &[("Accept-Language", "hi-IN,hi;q=0.9,en;q=0.8")]);
    assert!(hindi.response.body().contains("<h1>ऑर्डर ORD-1</h1>"));
    let english = page(&c, &format!("{link}&lang=en"), &[("Accept-Language", "hi")]);
    assert!(english.response.body().contains("<h1>Order ORD-1</h1>"));
    // A storefront token, in the query (a link the storefront builds) or the header.
    let token = c.token("cust-1");
    let by_query = page(&c, &format!("/track/ORD-1?token={token}"), &[]);
    assert_eq!(by_query.response.status(), 200);
    let bearer = format!("Bearer {token}");
    let by_header = page(&c, "/track/ORD-1", &[("Authorization", &bearer)]);
    assert_eq!(by_header.response.status(), 200);
    // Another customer's order is not found, as in the JSON API; no waybill has its page.
    let other = page(
        &c,
        &format!("/track/ORD-1?token={}", c.token("cust-2")),
        &[],
    );
    assert_eq!(other.response.status(), 404);
    let no_awb = page(&c, &format!("/track/ORD-2?token={token}"), &[]);
    assert_eq!(no_awb.response.status(), 200);
    assert!(no_awb.response.body().contains("Not shipped yet"));

    let cases: Vec<(String, u16, &str)> = vec![
        ("/track/ORD-1".into(), 401, "A tracking link is needed"),
        (
            format!("/track/ORD-1?exp={}&sig=AAAA", exp.timestamp()),
            403,
            "is not valid",
        ),
        (
            format!("/track/ORD-9?exp={}&sig={sig}", exp.timestamp()),
            403,
            "is not valid",
        ),
        (
            "/track/ORD-404?token=".to_owned() + &token,
            404,
            "Order not found",
        ),
        (
            "/track/bad%20id?token=".to_owned() + &token,
            404,
            "Order not found",
        ),
    ];
    for (path, status, text) in cases {
        let answer = page(&c, &path, &[]);
        assert_eq!(answer.response.status(), status, "{path}");
        assert!(answer.response.body().contains(text), "{path}");
        assert_eq!(header(&answer, "cache-control"), Some("no-store"), "{path}");
        assert_eq!(
            header(&answer, "content-type"),
            Some("text/html; charset=utf-8")
        );
    }
    // An expired link: 410 Gone, with its own page.
    c.world.clock.advance(Duration::hours(2));
    let expired = page(&c, &link, &[]);
    assert_eq!(expired.response.status(), 410);
    assert!(
        expired
            .response
            .body()
            .contains("This tracking link has expired")
    );
    // Only GET; the JSON API does not take a token from the query.
    let post = c.send(bodiless(&Method::POST, &link, &[]));
    assert_eq!(error(&post), (405, "METHOD_NOT_ALLOWED".into()));
    let json = page(&c, &format!("/api/shipment/ORD-1/track?token={token}"), &[]);
    assert_eq!(error(&json), (401, "UNAUTHORIZED".into()));
}

#[test]
fn the_page_refreshes_live_and_labels_a_blue_dart_failure() {
    let c = contract();
    let token = c.token("cust-1");
    c.world.carrier.then(Ok(TrackingReply {
        http_status: 200,
        updates: vec![("111111111".into(), None)],
    }));
    let live = page(
        &c,
        &format!("/track/ORD-1?token={token}&forceRefresh=true"),
        &[],
    );
    assert_eq!(live.response.status(), 200, "{}", live.response.body());
    assert!(live.response.body().contains("Live from Blue Dart"));
    assert_eq!(header(&live, "cache-control"), Some("no-store"));
    c.world.clock.advance(Duration::hours(2));
    c.world
        .carrier
        .then(Err(tracking_core::carrier::CarrierError::Timeout {
            ms: 5000,
        }));
    let token = c.token("cust-1");
    let failed = page(
        &c,
        &format!("/track/ORD-1?token={token}&forceRefresh=true"),
        &[],
    );
    assert_eq!(failed.response.status(), 200);
    let body = failed.response.body();
    assert!(
        body.contains("Last updated from Blue Dart 2 hours ago"),
        "{body}"
    );
    assert!(body.contains("Blue Dart could not be reached just now"));
}

#[test]
fn the_widget_script_is_served_to_anyone_without_credentials() {
    let c = contract();
    let script = page(&c, "/widget.js", &[("Origin", "https://elsewhere.example")]);
    assert_eq!(script.response.status(), 200);
    assert_eq!(
        header(&script, "content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(script.response.body().contains("shipment-tracking"));
    let head = c.send(bodiless(&Method::HEAD, "/widget.js", &[]));
    assert_eq!(head.response.status(), 200);
    assert_eq!(head.response.body(), "");
}

/// The Rust sources under `dir` (relative to the workspace), recursively.
fn sources(dir: &str) -> Vec<(std::path::PathBuf, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut pending = vec![root.join(dir)];
    let mut found = Vec::new();
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                found.push((path, text));
            }
        }
    }
    found
}

/// Every code an error answer can carry is one the contract's `ErrorCode` lists: read from
/// the sources where error answers are made (the first literal of each `ApiError::new` and
/// `ApiError::bad_request`), the worker's own included, so a new code cannot skip the contract.
#[test]
fn every_error_code_made_is_in_the_contract() {
    let contract: Value = serde_json::from_str(include_str!("../../../openapi/openapi.json"))
        .expect("the contract is JSON");
    let listed: Vec<&str> = contract["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode lists its codes")
        .iter()
        .map(|code| code.as_str().unwrap())
        .collect();
    let is_code =
        |text: &str| text.len() > 3 && text.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
    let mut made = std::collections::BTreeSet::new();
    for (path, text) in sources("crates/api/src").into_iter().chain(sources("src")) {
        for call in ["ApiError::new(", "bad_request("] {
            for (at, _) in text.match_indices(call) {
                let first = text[at + call.len()..].split('"').nth(1).unwrap_or("");
                if is_code(first) {
                    made.insert((first.to_owned(), path.display().to_string()));
                }
            }
        }
    }
    let codes: std::collections::BTreeSet<&str> = made.iter().map(|(c, _)| c.as_str()).collect();
    // The scan finds what it should: the codes made in several places, the worker's own one.
    for code in [
        "INVALID_JSON",
        "PAYLOAD_TOO_LARGE",
        "INVALID_REQUEST",
        "WAYBILL_REFUSED",
    ] {
        assert!(codes.contains(code), "{code} not found in {codes:?}");
    }
    let missing: Vec<_> = made
        .iter()
        .filter(|(code, _)| !listed.contains(&code.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "made but not in the contract: {missing:?}"
    );
}
