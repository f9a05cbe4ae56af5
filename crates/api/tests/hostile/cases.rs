//! Malformed, hostile and unauthorised requests to every endpoint, each with the status and
//! code it must get: one table, run natively against the HTTP contract
//! (`crates/api/tests/hostile_input.rs`) and end to end against the real worker
//! (`tests/hostile_input.rs`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use serde_json::json;
use tracking_api::credentials::{customer_token, link_signature};

/// The secrets the worker under test checks credentials against.
pub struct Secrets {
    pub admin: &'static str,
    pub customer: &'static str,
    pub link: &'static str,
    pub audience: &'static str,
}

pub struct Case {
    pub what: &'static str,
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<String>,
    pub status: u16,
    pub code: &'static str,
}

impl Case {
    /// What is wrong with an answer to this case — anything but a JSON error with the case's
    /// status and code, `success: false` and a message — as one line for the runner's list.
    pub fn check(&self, status: u16, content_type: &str, body: &str) -> Option<String> {
        let json: serde_json::Value = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
        let ok = status == self.status
            && json["code"] == self.code
            && json["success"] == false
            && json["message"].as_str().is_some_and(|m| !m.is_empty())
            && content_type.starts_with("application/json");
        (!ok).then(|| {
            format!(
                "{}: {} {} → {status} {}",
                self.what,
                self.method,
                self.path.chars().take(80).collect::<String>(),
                body.chars().take(200).collect::<String>()
            )
        })
    }
}

fn bearer(token: &str) -> (&'static str, String) {
    ("Authorization", format!("Bearer {token}"))
}

fn json_type() -> (&'static str, String) {
    ("Content-Type", "application/json".into())
}

/// A token signed with the right secret but the given header.
fn token_with_header(s: &Secrets, header: &str) -> String {
    let aud = s.audience;
    let header = URL_SAFE_NO_PAD.encode(header);
    let exp = (Utc::now() + Duration::hours(1)).timestamp();
    let payload =
        URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"cust-1","aud":"{aud}","exp":{exp}}}"#));
    let genuine = customer_token(
        s.customer,
        s.audience,
        "cust-1",
        Utc::now() + Duration::hours(1),
    );
    let signature = genuine.rsplit('.').next().unwrap();
    format!("{header}.{payload}.{signature}")
}

/// A token correctly signed (HS256, the right secret) over the given header and claims.
fn signed_token(s: &Secrets, header: &str, claims: &str) -> String {
    use hmac::{KeyInit, Mac};
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(s.customer.as_bytes()).expect("any key length");
    mac.update(input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{input}.{signature}")
}

pub fn cases(s: &Secrets) -> Vec<Case> {
    let aud = s.audience;
    let valid = customer_token(
        s.customer,
        s.audience,
        "cust-1",
        Utc::now() + Duration::hours(1),
    );
    let expired = customer_token(
        s.customer,
        s.audience,
        "cust-1",
        Utc::now() - Duration::minutes(5),
    );
    let other_customer = customer_token(
        s.customer,
        s.audience,
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
        link_signature(s.link, "ORD-1", past)
    );
    let hour = (Utc::now() + Duration::hours(1)).timestamp();
    let no_audience = signed_token(
        s,
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &format!(r#"{{"sub":"cust-1","exp":{hour}}}"#),
    );
    let other_audience = customer_token(
        s.customer,
        "billing-service",
        "cust-1",
        Utc::now() + Duration::hours(1),
    );
    let forever = signed_token(
        s,
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &format!(r#"{{"sub":"cust-1","aud":"{aud}","exp":{}}}"#, i64::MAX),
    );
    let critical = signed_token(
        s,
        r#"{"alg":"HS256","typ":"JWT","crit":["x-policy"],"x-policy":1}"#,
        &format!(r#"{{"sub":"cust-1","aud":"{aud}","exp":{hour}}}"#),
    );
    let year = Utc::now() + Duration::days(365);
    let year_link = format!(
        "exp={}&sig={}",
        year.timestamp(),
        link_signature(s.link, "ORD-1", year)
    );
    let future = Utc::now() + Duration::hours(1);
    let other_link = format!(
        "exp={}&sig={}",
        future.timestamp(),
        link_signature(s.link, "ORD-2", future)
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
    let put_json = |what, body: &str, status, code| {
        put(what, body, vec![bearer(s.admin), json_type()], status, code)
    };
    let awb = |what, path: &str, body: serde_json::Value, status, code| Case {
        what,
        method: "POST",
        path: path.to_owned(),
        headers: vec![bearer(s.admin), json_type()],
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
            vec![bearer(&token_with_header(
                s,
                r#"{"alg":"none","typ":"JWT"}"#,
            ))],
            401,
            "UNAUTHORIZED",
        ),
        track(
            "HS512 token",
            "/api/shipment/ORD-1/track",
            vec![bearer(&token_with_header(
                s,
                r#"{"alg":"HS512","typ":"JWT"}"#,
            ))],
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
            headers: vec![bearer(s.admin)],
            body: None,
            status: 405,
            code: "METHOD_NOT_ALLOWED",
        },
        // Methods nobody serves, which worker 0.8.7's own Method would take for GET.
        Case {
            what: "QUERY health",
            method: "QUERY",
            path: "/health".into(),
            headers: vec![],
            body: None,
            status: 405,
            code: "METHOD_NOT_ALLOWED",
        },
        Case {
            what: "PROPFIND track",
            method: "PROPFIND",
            path: "/api/shipment/ORD-1/track".into(),
            headers: customer(),
            body: None,
            status: 405,
            code: "METHOD_NOT_ALLOWED",
        },
        Case {
            what: "GET sync",
            method: "GET",
            path: "/api/admin/shipment/ORD-1/sync".into(),
            headers: vec![bearer(s.admin)],
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
            vec![bearer(s.admin), ("Content-Type", "text/plain".into())],
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        put(
            "no content type",
            r#"{"customerId":"c"}"#,
            vec![bearer(s.admin)],
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
            headers: vec![bearer(s.admin)],
            body: None,
            status: 404,
            code: "ORDER_NOT_FOUND",
        },
        Case {
            what: "sync an order without waybill",
            method: "POST",
            path: "/api/admin/shipment/ORD-3/sync".into(),
            headers: vec![bearer(s.admin)],
            body: None,
            status: 409,
            code: "NO_AWB",
        },
        Case {
            what: "runs limit 0",
            method: "GET",
            path: "/api/admin/sync/runs?limit=0".into(),
            headers: vec![bearer(s.admin)],
            body: None,
            status: 400,
            code: "INVALID_QUERY",
        },
        Case {
            what: "runs limit not a number",
            method: "GET",
            path: "/api/admin/sync/runs?limit=%27%3B".into(),
            headers: vec![bearer(s.admin)],
            body: None,
            status: 400,
            code: "INVALID_QUERY",
        },
    ]
}
