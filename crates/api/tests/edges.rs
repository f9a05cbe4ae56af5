//! The HTTP contract at its edges: which answers a browser may keep, the body limit at exactly
//! 16 KiB with and without a declared length, a token not yet valid. Each test here was written
//! against a deliberate bug that no other test noticed (cargo-mutants; issue 18).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use http::{Method, Request};
use serde_json::{Value, json};
use sha2::Sha256;
use tracking_api::credentials::{CredentialError, TokenRules, verify_customer_token};
use tracking_api::reply::Reply;
use tracking_api::requests::MAX_BODY_BYTES;
use tracking_core::carrier::{CarrierError, TrackingReply};

use crate::support::{ADMIN, CUSTOMER_SECRET, Harness, json_of};

fn cache_control(reply: &Reply) -> &str {
    reply
        .response
        .headers()
        .get("cache-control")
        .expect("every answer says how it may be cached")
        .to_str()
        .unwrap()
}

#[test]
fn only_a_plain_cached_answer_may_be_kept_by_the_browser() {
    let h = Harness::new();
    let cached = h.customer_get("/api/shipment/ORD-1/track", &[]);
    assert_eq!(json_of(&cached)["dataSource"]["isCached"], true);
    assert_eq!(cache_control(&cached), "private, max-age=30");

    // A live answer: Blue Dart answered (with nothing new on the waybill).
    h.world.carrier.then(Ok(TrackingReply {
        http_status: 200,
        updates: vec![("111111111".into(), None)],
    }));
    let live = h.customer_get("/api/shipment/ORD-1/track?forceRefresh=true", &[]);
    assert_eq!(
        json_of(&live)["dataSource"]["isLive"],
        true,
        "{}",
        json_of(&live)
    );
    assert_eq!(cache_control(&live), "no-store");

    // A live call that failed: the cached data, labelled, not to be kept.
    h.world.clock.advance(Duration::hours(2));
    h.world
        .carrier
        .then(Err(CarrierError::Unavailable { status: 503 }));
    let failed = h.customer_get("/api/shipment/ORD-1/track?forceRefresh=true", &[]);
    assert_eq!(
        json_of(&failed)["message"],
        "Live tracking unavailable. Showing cached data.",
        "{}",
        json_of(&failed)
    );
    assert_eq!(cache_control(&failed), "no-store");

    // Errors: unknown order, no credentials.
    let unknown = h.customer_get("/api/shipment/ORD-404/track", &[]);
    assert_eq!(unknown.response.status(), 404);
    assert_eq!(cache_control(&unknown), "no-store");
    let anonymous = h.send(
        Request::builder()
            .uri("/api/shipment/ORD-1/track")
            .body(Vec::new())
            .unwrap(),
    );
    assert_eq!(anonymous.response.status(), 401);
    assert_eq!(cache_control(&anonymous), "no-store");
}

/// A PUT of an order whose body is exactly `len` bytes of valid JSON.
fn put_of_length(len: usize, declare: bool) -> Request<Vec<u8>> {
    let skeleton = json!({"customerId": "cust-9", "orderStatus": "Processing"}).to_string();
    // Whitespace is valid JSON padding.
    let body = format!("{skeleton}{}", " ".repeat(len - skeleton.len()));
    assert_eq!(body.len(), len);
    let mut builder = Request::builder()
        .method(Method::PUT)
        .uri("/api/admin/orders/ORD-9")
        .header("Authorization", format!("Bearer {ADMIN}"))
        .header("Content-Type", "application/json");
    if declare {
        builder = builder.header("Content-Length", len.to_string());
    }
    builder.body(body.into_bytes()).unwrap()
}

#[test]
fn the_body_limit_is_16_kib_exactly_with_or_without_a_declared_length() {
    assert_eq!(MAX_BODY_BYTES, 16 * 1024);
    let h = Harness::new();
    for declare in [false, true] {
        let at_limit = h.send(put_of_length(MAX_BODY_BYTES, declare));
        assert!(
            at_limit.response.status().is_success(),
            "declared: {declare}: {}",
            at_limit.response.body()
        );
        let over = h.send(put_of_length(MAX_BODY_BYTES + 1, declare));
        assert_eq!(over.response.status(), 413, "declared: {declare}");
        assert_eq!(json_of(&over)["code"], "PAYLOAD_TOO_LARGE");
    }
    // No Content-Length at all, a body far past the limit: refused after reading.
    let chunked = put_of_length(MAX_BODY_BYTES * 4, false);
    assert!(!chunked.headers().contains_key("content-length"));
    assert_eq!(h.send(chunked).response.status(), 413);
}

fn token_with(claims: Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(CUSTOMER_SECRET.as_bytes()).unwrap();
    mac.update(format!("{header}.{payload}").as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{header}.{payload}.{signature}")
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_769_241_600, 0).unwrap()
}

#[test]
fn a_token_is_refused_before_its_nbf_and_accepted_from_it() {
    let rules = TokenRules::default();
    let exp = (now() + Duration::hours(1)).timestamp();
    let verify = |nbf: i64| {
        let token = token_with(json!({
            "sub": "cust-1", "aud": rules.audience, "exp": exp, "nbf": nbf
        }));
        verify_customer_token(CUSTOMER_SECRET, &rules, &token, now())
    };
    let t = now().timestamp();
    assert_eq!(verify(t + 60), Err(CredentialError::Expired));
    assert_eq!(verify(t + 1), Err(CredentialError::Expired));
    assert_eq!(verify(t), Ok("cust-1".into()));
    assert_eq!(verify(t - 60), Ok("cust-1".into()));
    // The same token without nbf, to show the signature itself is fine.
    let plain = token_with(json!({"sub": "cust-1", "aud": rules.audience, "exp": exp}));
    assert_eq!(
        verify_customer_token(CUSTOMER_SECRET, &rules, &plain, now()),
        Ok("cust-1".into())
    );
}

#[test]
fn a_token_expires_at_its_exp_exactly() {
    let rules = TokenRules::default();
    let t = now().timestamp();
    let token = |exp: i64| token_with(json!({"sub": "cust-1", "aud": rules.audience, "exp": exp}));
    assert_eq!(
        verify_customer_token(CUSTOMER_SECRET, &rules, &token(t), now()),
        Err(CredentialError::Expired)
    );
    assert_eq!(
        verify_customer_token(CUSTOMER_SECRET, &rules, &token(t + 1), now()),
        Ok("cust-1".into())
    );
}

#[test]
fn a_token_of_exactly_the_longest_length_is_read() {
    let rules = TokenRules::default();
    let exp = (now() + Duration::hours(1)).timestamp();
    let token = (0..200)
        .map(|pad| {
            token_with(json!({
                "sub": "cust-1", "aud": rules.audience, "exp": exp, "pad": "x".repeat(2900 + pad)
            }))
        })
        .find(|t| t.len() == 4096)
        .expect("some padding gives a 4096-byte token");
    assert_eq!(
        verify_customer_token(CUSTOMER_SECRET, &rules, &token, now()),
        Ok("cust-1".into())
    );
    let longer = format!("{token}x");
    assert_eq!(
        verify_customer_token(CUSTOMER_SECRET, &rules, &longer, now()),
        Err(CredentialError::Malformed)
    );
}

#[test]
fn a_token_may_live_exactly_the_longest_lifetime_plus_the_skew() {
    let rules = TokenRules::default();
    let longest = now() + rules.max_token_lifetime + Duration::minutes(5);
    let token = |exp: DateTime<Utc>| {
        token_with(json!({"sub": "cust-1", "aud": rules.audience, "exp": exp.timestamp()}))
    };
    assert_eq!(
        verify_customer_token(CUSTOMER_SECRET, &rules, &token(longest), now()),
        Ok("cust-1".into())
    );
    assert_eq!(
        verify_customer_token(
            CUSTOMER_SECRET,
            &rules,
            &token(longest + Duration::seconds(1)),
            now()
        ),
        Err(CredentialError::LifetimeTooLong)
    );
}

/// An admin's `POST /api/admin/shipment/ORD-1/awb` with `body`.
fn post_awb(h: &Harness, body: &Value) -> Reply {
    h.send(
        Request::builder()
            .method(Method::POST)
            .uri("/api/admin/shipment/ORD-1/awb")
            .header("Authorization", format!("Bearer {ADMIN}"))
            .header("Content-Type", "application/json")
            .body(body.to_string().into_bytes())
            .unwrap(),
    )
}

#[test]
fn a_whole_number_of_pieces_may_be_written_as_a_float() {
    let mut h = Harness::new();
    h.settings.can_generate_waybills = true;
    let generate = |pieces: Value| {
        let request = json!({"generate": {
            "consignee": {"name": "A", "address1": "B", "pincode": "411001", "mobile": "9000000000"},
            "weightKg": 1.0, "pieces": pieces,
        }});
        let reply = post_awb(&h, &request);
        let answer = json_of(&reply);
        (
            reply.response.status().as_u16(),
            answer["code"].clone(),
            answer["field"].clone(),
        )
    };
    // 89.0 is read as 89: past the body, only the order's waybill stops it.
    for pieces in [json!(89), json!(89.0)] {
        assert_eq!(
            generate(pieces.clone()),
            (409, json!("AWB_EXISTS"), Value::Null),
            "{pieces}"
        );
    }
    // The same number either way, out of range.
    for pieces in [json!(100), json!(100.0)] {
        assert_eq!(
            generate(pieces.clone()),
            (400, json!("VALIDATION_ERROR"), json!("generate.pieces")),
            "{pieces}"
        );
    }
    // Not a whole number that fits, or not a number.
    for pieces in [json!(89.5), json!(-1), json!("2"), json!(1e12)] {
        assert_eq!(generate(pieces.clone()).0, 400, "{pieces}");
        assert_eq!(generate(pieces.clone()).1, "INVALID_JSON", "{pieces}");
    }
}

/// A consignee sent with a field of the wrong type is refused without the answer repeating
/// any of it: the phone as a number, or the whole person as one string.
#[test]
fn a_refused_consignee_is_not_repeated_in_the_answer() {
    let mut h = Harness::new();
    h.settings.can_generate_waybills = true;
    for consignee in [
        json!({"name": "ASHA MENON", "address1": "14 MARINE DRIVE", "pincode": "682031",
               "mobile": 9847012345_u64}),
        json!("ASHA MENON, 14 MARINE DRIVE, 682031, 9847012345"),
    ] {
        let reply = post_awb(
            &h,
            &json!({"generate": {"consignee": consignee, "weightKg": 1.0}}),
        );
        assert_eq!(reply.response.status(), 400, "{consignee}");
        let answer = json_of(&reply);
        assert_eq!(answer["code"], "INVALID_JSON", "{answer}");
        let said = answer.to_string();
        assert!(
            said.contains("expected"),
            "still says what was wrong: {said}"
        );
        for personal in ["9847012345", "ASHA", "MARINE"] {
            assert!(!said.contains(personal), "{personal} in {said}");
        }
    }
}

/// A server-side failure (5xx) is logged for operators, with its code; what the caller did
/// wrong (4xx) is not, so that a scan of bad requests cannot flood the log.
#[test]
fn server_errors_are_logged_and_client_errors_are_not() {
    let h = Harness::new();
    h.world.log.0.borrow_mut().clear();
    assert_eq!(
        h.customer_get("/api/shipment/ORD-404/track", &[])
            .response
            .status(),
        404
    );
    assert_eq!(
        h.customer_get("/track/ORD-404", &[]).response.status(),
        404,
        "nor a tracking page's"
    );
    assert_eq!(
        h.world.log.lines(),
        Vec::<String>::new(),
        "a 404 is not logged"
    );
    h.world.store.failing.set(true);
    h.world.kv.failing.set(true);
    let reply = h.customer_get("/api/shipment/ORD-1/track", &[]);
    let status = reply.response.status().as_u16();
    assert!(
        status >= 500,
        "storage down: {status} {}",
        reply.response.body()
    );
    let code = serde_json::from_str::<Value>(reply.response.body()).unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        h.world
            .log
            .lines()
            .iter()
            .any(|l| l.starts_with(&format!("WARN [HTTP] {status} {code}: "))),
        "{:?}",
        h.world.log.lines()
    );
    // The tracking page's failures are logged too.
    let page = h.customer_get("/track/ORD-1", &[]);
    assert!(page.response.status().as_u16() >= 500);
    assert!(
        h.world
            .log
            .lines()
            .iter()
            .any(|l| l.starts_with("WARN [HTTP] tracking page for order ORD-1: ")),
        "{:?}",
        h.world.log.lines()
    );
}
