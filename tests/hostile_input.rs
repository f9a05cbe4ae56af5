//! End to end: malformed, hostile and unauthorised requests to every endpoint. Each gets a JSON
//! 4xx that says what was wrong — never a 5xx, never a panic.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use e2e::{ADMIN_TOKEN, AUDIENCE, CUSTOMER_TOKEN_SECRET, TRACKING_LINK_SECRET, TestWorker};
use serde_json::json;
use tracking_api::credentials::{customer_token, link_signature};

struct Case {
    what: &'static str,
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Option<String>,
    status: u16,
    code: &'static str,
}

fn bearer(token: &str) -> (&'static str, String) {
    ("Authorization", format!("Bearer {token}"))
}

fn admin() -> (&'static str, String) {
    bearer(ADMIN_TOKEN)
}

fn json_type() -> (&'static str, String) {
    ("Content-Type", "application/json".into())
}

/// A token signed with the right secret but the given header.
fn token_with_header(header: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(header);
    let exp = (Utc::now() + Duration::hours(1)).timestamp();
    let payload = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"sub":"cust-1","aud":"{AUDIENCE}","exp":{exp}}}"#
    ));
    let genuine = customer_token(
        CUSTOMER_TOKEN_SECRET,
        AUDIENCE,
        "cust-1",
        Utc::now() + Duration::hours(1),
    );
    let signature = genuine.rsplit('.').next().unwrap();
    format!("{header}.{payload}.{signature}")
}

/// A token correctly signed (HS256, the right secret) over the given header and claims.
fn signed_token(header: &str, claims: &str) -> String {
    use hmac::{KeyInit, Mac};
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(CUSTOMER_TOKEN_SECRET.as_bytes())
        .expect("any key length");
    mac.update(input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{input}.{signature}")
}

fn cases() -> Vec<Case> {
    let valid = customer_token(
        CUSTOMER_TOKEN_SECRET,
        AUDIENCE,
        "cust-1",
        Utc::now() + Duration::hours(1),
    );
    let expired = customer_token(
        CUSTOMER_TOKEN_SECRET,
        AUDIENCE,
        "cust-1",
        Utc::now() - Duration::minutes(5),
    );
    let other_customer = customer_token(
        CUSTOMER_TOKEN_SECRET,
        AUDIENCE,
        "cust-2",
        Utc::now() + Duration::hours(1),
    );
    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(r#"{"sub":"cust-2","exp":4102444800}"#);
    let tampered = parts.join(".");
    let past = Utc::now() - Duration::minutes(1);
    let expired_link = format!(
        "exp={}&sig={}",
        past.timestamp(),
        link_signature(TRACKING_LINK_SECRET, "ORD-1", past)
    );
    let hour = (Utc::now() + Duration::hours(1)).timestamp();
    let no_audience = signed_token(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &format!(r#"{{"sub":"cust-1","exp":{hour}}}"#),
    );
    let other_audience = customer_token(
        CUSTOMER_TOKEN_SECRET,
        "billing-service",
        "cust-1",
        Utc::now() + Duration::hours(1),
    );
    let forever = signed_token(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &format!(
            r#"{{"sub":"cust-1","aud":"{AUDIENCE}","exp":{}}}"#,
            i64::MAX
        ),
    );
    let critical = signed_token(
        r#"{"alg":"HS256","typ":"JWT","crit":["x-policy"],"x-policy":1}"#,
        &format!(r#"{{"sub":"cust-1","aud":"{AUDIENCE}","exp":{hour}}}"#),
    );
    let year = Utc::now() + Duration::days(365);
    let year_link = format!(
        "exp={}&sig={}",
        year.timestamp(),
        link_signature(TRACKING_LINK_SECRET, "ORD-1", year)
    );
    let future = Utc::now() + Duration::hours(1);
    let other_link = format!(
        "exp={}&sig={}",
        future.timestamp(),
        link_signature(TRACKING_LINK_SECRET, "ORD-2", future)
    );

    let track = |what, path: &str, headers: Vec<(&'static str, String)>, status, code| Case {
        what,
        method: "GET",
        path: path.to_owned(),
        headers,
        body: None,
        status,
        code,
    };
    let customer = || vec![bearer(&valid)];
    let put = |what, body: &str, headers: Vec<(&'static str, String)>, status, code| Case {
        what,
        method: "PUT",
        path: "/api/admin/orders/ORD-9".into(),
        headers,
        body: Some(body.to_owned()),
        status,
        code,
    };
    let put_json =
        |what, body: &str, status, code| put(what, body, vec![admin(), json_type()], status, code);
    let awb = |what, path: &str, body: serde_json::Value, status, code| Case {
        what,
        method: "POST",
        path: path.to_owned(),
        headers: vec![admin(), json_type()],
        body: Some(body.to_string()),
        status,
        code,
    };
    let consignee =
        json!({"name": "A B", "address1": "1 ROAD", "pincode": "682031", "mobile": "9847012345"});
    let generate = |field: &str, value: serde_json::Value| {
        let mut g = json!({"consignee": consignee.clone(), "weightKg": 1.0});
        if let Some(part) = field.strip_prefix("consignee.") {
            g["consignee"][part] = value;
        } else {
            g[field] = value;
        }
        json!({ "generate": g })
    };
    let nested = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));

    vec![
        // Malformed order ids.
        track(
            "order id too long",
            &format!("/api/shipment/{}/track", "A".repeat(65)),
            customer(),
            400,
            "INVALID_ORDER_ID",
        ),
        track(
            "encoded space in id",
            "/api/shipment/ORD%201/track",
            customer(),
            400,
            "INVALID_ORDER_ID",
        ),
        track(
            "non-ASCII id",
            "/api/shipment/%C3%89T%C3%89/track",
            customer(),
            400,
            "INVALID_ORDER_ID",
        ),
        track(
            "SQL in id",
            "/api/shipment/ORD'%3B%20DROP%20TABLE%20orders--/track",
            customer(),
            400,
            "INVALID_ORDER_ID",
        ),
        track(
            "path traversal in id",
            "/api/shipment/..%2F..%2Fetc%2Fpasswd/track",
            customer(),
            400,
            "INVALID_ORDER_ID",
        ),
        track(
            "empty id",
            "/api/shipment//track",
            customer(),
            400,
            "INVALID_ORDER_ID",
        ),
        track(
            "quote in id",
            "/api/shipment/ORD%22-1/track",
            customer(),
            400,
            "INVALID_ORDER_ID",
        ),
        // Bad query values.
        track(
            "forceRefresh=yes",
            "/api/shipment/ORD-1/track?forceRefresh=yes",
            customer(),
            400,
            "INVALID_QUERY",
        ),
        track(
            "forceRefresh=TRUE",
            "/api/shipment/ORD-1/track?forceRefresh=TRUE",
            customer(),
            400,
            "INVALID_QUERY",
        ),
        track(
            "forceRefresh empty",
            "/api/shipment/ORD-1/track?forceRefresh=",
            customer(),
            400,
            "INVALID_QUERY",
        ),
        // Credentials.
        track(
            "no credentials",
            "/api/shipment/ORD-1/track",
            vec![],
            401,
            "UNAUTHORIZED",
        ),
        track(
            "Basic scheme",
            "/api/shipment/ORD-1/track",
            vec![("Authorization", "Basic Y3VzdDox".into())],
            401,
            "UNAUTHORIZED",
        ),
        track(
            "empty bearer",
            "/api/shipment/ORD-1/track",
            vec![("Authorization", "Bearer ".into())],
            401,
            "UNAUTHORIZED",
        ),
        track(
            "expired token",
            "/api/shipment/ORD-1/track",
            vec![bearer(&expired)],
            401,
            "UNAUTHORIZED",
        ),
        track(
            "tampered token",
            "/api/shipment/ORD-1/track",
            vec![bearer(&tampered)],
            401,
            "UNAUTHORIZED",
        ),
        track(
            "alg none token",
            "/api/shipment/ORD-1/track",
            vec![bearer(&token_with_header(r#"{"alg":"none","typ":"JWT"}"#))],
            401,
            "UNAUTHORIZED",
        ),
        track(
            "HS512 token",
            "/api/shipment/ORD-1/track",
            vec![bearer(&token_with_header(r#"{"alg":"HS512","typ":"JWT"}"#))],
            401,
            "UNAUTHORIZED",
        ),
        track(
            "huge token",
            "/api/shipment/ORD-1/track",
            vec![bearer(&"a.b.".repeat(2000))],
            401,
            "UNAUTHORIZED",
        ),
        // Not yours answers as not there: order ids cannot be probed.
        track(
            "another customer's order",
            "/api/shipment/ORD-1/track",
            vec![bearer(&other_customer)],
            404,
            "ORDER_NOT_FOUND",
        ),
        track(
            "another customer's order, refreshed",
            "/api/shipment/ORD-1/track?forceRefresh=true",
            vec![bearer(&other_customer)],
            404,
            "ORDER_NOT_FOUND",
        ),
        track(
            "token without audience",
            "/api/shipment/ORD-1/track",
            vec![bearer(&no_audience)],
            401,
            "UNAUTHORIZED",
        ),
        track(
            "token for another audience",
            "/api/shipment/ORD-1/track",
            vec![bearer(&other_audience)],
            401,
            "UNAUTHORIZED",
        ),
        track(
            "token that never expires",
            "/api/shipment/ORD-1/track",
            vec![bearer(&forever)],
            401,
            "UNAUTHORIZED",
        ),
        track(
            "token with a critical extension",
            "/api/shipment/ORD-1/track",
            vec![bearer(&critical)],
            401,
            "UNAUTHORIZED",
        ),
        track(
            "link valid for a year",
            &format!("/api/shipment/ORD-1/track?{year_link}"),
            vec![],
            401,
            "UNAUTHORIZED",
        ),
        track(
            "expired link",
            &format!("/api/shipment/ORD-1/track?{expired_link}"),
            vec![],
            401,
            "UNAUTHORIZED",
        ),
        track(
            "another order's link",
            &format!("/api/shipment/ORD-1/track?{other_link}"),
            vec![],
            401,
            "UNAUTHORIZED",
        ),
        track(
            "link without exp",
            "/api/shipment/ORD-1/track?sig=abc",
            vec![],
            401,
            "UNAUTHORIZED",
        ),
        track(
            "link with bad exp",
            "/api/shipment/ORD-1/track?exp=soon&sig=abc",
            vec![],
            401,
            "UNAUTHORIZED",
        ),
        track(
            "customer token on admin route",
            "/api/admin/shipment/ORD-1/track",
            customer(),
            401,
            "UNAUTHORIZED",
        ),
        track(
            "wrong admin token",
            "/api/admin/shipment/ORD-1/track",
            vec![bearer("not-the-admin-token")],
            401,
            "UNAUTHORIZED",
        ),
        track(
            "cross-site browser",
            "/api/shipment/ORD-1/track",
            vec![bearer(&valid), ("Origin", "https://evil.example".into())],
            403,
            "CORS_ORIGIN_NOT_ALLOWED",
        ),
        // Unknown routes and wrong methods.
        track(
            "unknown route",
            "/api/shipment/ORD-1",
            customer(),
            404,
            "NOT_FOUND",
        ),
        track(
            "extra path segment",
            "/api/shipment/ORD-1/track/more",
            customer(),
            404,
            "NOT_FOUND",
        ),
        track("root", "/", vec![], 404, "NOT_FOUND"),
        Case {
            what: "POST to track",
            method: "POST",
            path: "/api/shipment/ORD-1/track".into(),
            headers: customer(),
            body: None,
            status: 405,
            code: "METHOD_NOT_ALLOWED",
        },
        Case {
            what: "DELETE an order",
            method: "DELETE",
            path: "/api/admin/orders/ORD-1".into(),
            headers: vec![admin()],
            body: None,
            status: 405,
            code: "METHOD_NOT_ALLOWED",
        },
        Case {
            what: "GET sync",
            method: "GET",
            path: "/api/admin/shipment/ORD-1/sync".into(),
            headers: vec![admin()],
            body: None,
            status: 405,
            code: "METHOD_NOT_ALLOWED",
        },
        // Order bodies.
        put(
            "PUT without credentials",
            r#"{"customerId":"c"}"#,
            vec![json_type()],
            401,
            "UNAUTHORIZED",
        ),
        put(
            "text/plain body",
            r#"{"customerId":"c"}"#,
            vec![admin(), ("Content-Type", "text/plain".into())],
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        put(
            "no content type",
            r#"{"customerId":"c"}"#,
            vec![admin()],
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        put_json("truncated JSON", r#"{"customerId":"#, 400, "INVALID_JSON"),
        put_json("JSON array", "[]", 400, "INVALID_JSON"),
        put_json("empty body", "", 400, "INVALID_JSON"),
        put_json(
            "number for customerId",
            r#"{"customerId":123}"#,
            400,
            "INVALID_JSON",
        ),
        put_json(
            "unknown field",
            r#"{"customerId":"c","isAdmin":true}"#,
            400,
            "INVALID_JSON",
        ),
        put_json("deeply nested JSON", &nested, 400, "INVALID_JSON"),
        put_json(
            "empty customerId",
            r#"{"customerId":""}"#,
            400,
            "VALIDATION_ERROR",
        ),
        put_json(
            "SQL in customerId",
            r#"{"customerId":"x' OR '1'='1"}"#,
            400,
            "VALIDATION_ERROR",
        ),
        put_json(
            "unknown orderStatus",
            r#"{"customerId":"c","orderStatus":"Teleported"}"#,
            400,
            "VALIDATION_ERROR",
        ),
        put_json(
            "unreadable createdAt",
            r#"{"customerId":"c","createdAt":"yesterday"}"#,
            400,
            "VALIDATION_ERROR",
        ),
        put_json(
            "letters in awbNo",
            r#"{"customerId":"c","awbNo":"ABCDEFGHIJK"}"#,
            400,
            "VALIDATION_ERROR",
        ),
        put_json(
            "short awbNo",
            r#"{"customerId":"c","awbNo":"1234"}"#,
            400,
            "VALIDATION_ERROR",
        ),
        put_json(
            "awbNo of another order",
            r#"{"customerId":"c","awbNo":"81234567890"}"#,
            409,
            "AWB_IN_USE",
        ),
        put_json(
            "oversized body",
            &format!(r#"{{"customerId":"{}"}}"#, "x".repeat(20_000)),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        // Waybill bodies.
        awb(
            "both awbNo and generate",
            "/api/admin/shipment/ORD-3/awb",
            json!({"awbNo": "81234567899", "generate": generate("weightKg", json!(1))["generate"]}),
            400,
            "VALIDATION_ERROR",
        ),
        awb(
            "neither awbNo nor generate",
            "/api/admin/shipment/ORD-3/awb",
            json!({}),
            400,
            "VALIDATION_ERROR",
        ),
        awb(
            "SQL in awbNo",
            "/api/admin/shipment/ORD-3/awb",
            json!({"awbNo": "81234567890; DROP TABLE orders"}),
            400,
            "VALIDATION_ERROR",
        ),
        awb(
            "short pincode",
            "/api/admin/shipment/ORD-3/awb",
            generate("consignee.pincode", json!("12")),
            400,
            "VALIDATION_ERROR",
        ),
        awb(
            "negative weight",
            "/api/admin/shipment/ORD-3/awb",
            generate("weightKg", json!(-1)),
            400,
            "VALIDATION_ERROR",
        ),
        awb(
            "consignee name over 30",
            "/api/admin/shipment/ORD-3/awb",
            generate("consignee.name", json!("N".repeat(31))),
            400,
            "VALIDATION_ERROR",
        ),
        awb(
            "unknown product code",
            "/api/admin/shipment/ORD-3/awb",
            generate("productCode", json!("Z")),
            400,
            "VALIDATION_ERROR",
        ),
        awb(
            "mobile with letters",
            "/api/admin/shipment/ORD-3/awb",
            generate("consignee.mobile", json!("98470-1234")),
            400,
            "VALIDATION_ERROR",
        ),
        awb(
            "order id too long for Blue Dart",
            "/api/admin/shipment/ORD-12345678901234567/awb",
            generate("weightKg", json!(1)),
            400,
            "VALIDATION_ERROR",
        ),
        awb(
            "waybill for an unknown order",
            "/api/admin/shipment/ORD-404/awb",
            json!({"awbNo": "81234567898"}),
            404,
            "ORDER_NOT_FOUND",
        ),
        awb(
            "waybill taken by another order",
            "/api/admin/shipment/ORD-3/awb",
            json!({"awbNo": "81234567890"}),
            409,
            "AWB_IN_USE",
        ),
        // Sync endpoints.
        Case {
            what: "sync an unknown order",
            method: "POST",
            path: "/api/admin/shipment/ORD-404/sync".into(),
            headers: vec![admin()],
            body: None,
            status: 404,
            code: "ORDER_NOT_FOUND",
        },
        Case {
            what: "sync an order without waybill",
            method: "POST",
            path: "/api/admin/shipment/ORD-3/sync".into(),
            headers: vec![admin()],
            body: None,
            status: 409,
            code: "NO_AWB",
        },
        Case {
            what: "runs limit 0",
            method: "GET",
            path: "/api/admin/sync/runs?limit=0".into(),
            headers: vec![admin()],
            body: None,
            status: 400,
            code: "INVALID_QUERY",
        },
        Case {
            what: "runs limit not a number",
            method: "GET",
            path: "/api/admin/sync/runs?limit=%27%3B".into(),
            headers: vec![admin()],
            body: None,
            status: 400,
            code: "INVALID_QUERY",
        },
    ]
}

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
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let headers: Vec<(&str, &str)> =
            case.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = w.request(case.method, &case.path, &headers, case.body.as_deref());
        let body: serde_json::Value =
            serde_json::from_str(&answer.body).unwrap_or(serde_json::Value::Null);
        let content_type = answer.header("content-type").unwrap_or("");
        let ok = answer.status == case.status
            && body["code"] == case.code
            && body["success"] == false
            && body["message"].as_str().is_some_and(|m| !m.is_empty())
            && content_type.starts_with("application/json");
        if !ok {
            failures.push(format!(
                "{}: {} {} → {} {}",
                case.what,
                case.method,
                case.path.chars().take(80).collect::<String>(),
                answer.status,
                answer.body.chars().take(200).collect::<String>()
            ));
        }
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
    let logs = w.logs();
    assert!(!logs.contains("panicked"), "{logs}");
}
