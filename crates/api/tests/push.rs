//! `POST /api/carrier/bluedart/push`, natively: off without the secret, the secret in the
//! configured header or as the basic-auth password, the source allow-list, the size limit,
//! per-item counts, and the messages handed to the platform to enqueue before answering.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bluedart_sim::demo;
use bluedart_sim::push::{Variant, scan_push};
use http::{Method, Request};
use pollster::block_on;
use serde_json::Value;
use tracking_api::credentials::TokenRules;
use tracking_api::push::{DEFAULT_PATH, IpRange, PushSettings};
use tracking_api::reply::{After, Reply};
use tracking_api::{ApiSettings, Secrets};
use tracking_core::testing::{ScriptedCarrier, World};

use crate::support;

const TOKEN: &str = "push-token-for-the-contract-tests";
const ADMIN: &str = "admin-token-for-the-push-tests";

fn settings(path: &str, allowed: &[&str], max_bytes: usize) -> ApiSettings {
    ApiSettings {
        allowed_origins: vec![],
        tokens: TokenRules::default(),
        can_generate_waybills: false,
        push: Some(PushSettings {
            path: path.into(),
            header: "token".into(),
            max_bytes,
            allowed_ips: allowed.iter().map(|r| IpRange::parse(r).unwrap()).collect(),
            read: bluedart::push::read_push_text,
        }),
    }
}

fn secrets(push_token: &str) -> Secrets {
    Secrets {
        admin_token: ADMIN.into(),
        customer_token_secret: "c".repeat(32),
        tracking_link_secret: "l".repeat(32),
        push_token: push_token.into(),
    }
}

fn send(settings: &ApiSettings, secrets: &Secrets, request: Request<Vec<u8>>) -> Reply {
    support::send(
        &World::new(ScriptedCarrier::default()),
        settings,
        secrets,
        request,
    )
}

fn a_push() -> String {
    let shipment = demo::in_transit("81234567890", "ORD-1");
    scan_push(&shipment, &demo::delivered_in_kochi(), Variant::Plus)
}

fn push(path: &str, headers: &[(&str, &str)], body: &str) -> Request<Vec<u8>> {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("Content-Type", "application/json");
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder.body(body.as_bytes().to_vec()).unwrap()
}

fn status_and_code(reply: &Reply) -> (u16, String) {
    let body: Value = serde_json::from_str(reply.response.body()).unwrap();
    (
        reply.response.status().as_u16(),
        body["code"].as_str().unwrap_or_default().to_owned(),
    )
}

#[test]
fn an_authorised_push_is_counted_and_handed_over_for_the_queue() {
    let s = settings(DEFAULT_PATH, &[], 1 << 20);
    let reply = send(
        &s,
        &secrets(TOKEN),
        push(DEFAULT_PATH, &[("token", TOKEN)], &a_push()),
    );
    assert_eq!(reply.response.status(), 200);
    let body: Value = serde_json::from_str(reply.response.body()).unwrap();
    assert_eq!(body["received"], 1);
    assert_eq!(body["accepted"], 1);
    assert_eq!(body["rejected"], 0);
    let Some(After::Push(messages)) = reply.after else {
        panic!("no messages to enqueue");
    };
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].updates[0].awb, "81234567890");
    // Nothing personal in the answer or the messages.
    let all = format!("{}{messages:?}", reply.response.body());
    for secret in ["SIM RECEIVER", "SIMPAN", "iVBOR", "SIM-SECURE"] {
        assert!(!all.contains(secret), "{secret}");
    }
}

#[test]
fn basic_auth_carries_the_secret_as_its_password() {
    let s = settings(DEFAULT_PATH, &[], 1 << 20);
    let good = format!("Basic {}", STANDARD.encode(format!("bluedart:{TOKEN}")));
    let reply = send(
        &s,
        &secrets(TOKEN),
        push(DEFAULT_PATH, &[("Authorization", &good)], &a_push()),
    );
    assert_eq!(reply.response.status(), 200);
    let bad = format!("Basic {}", STANDARD.encode("bluedart:guess"));
    let reply = send(
        &s,
        &secrets(TOKEN),
        push(DEFAULT_PATH, &[("Authorization", &bad)], &a_push()),
    );
    assert_eq!(status_and_code(&reply), (401, "UNAUTHORIZED".into()));
    assert!(reply.after.is_none());
}

#[test]
fn wrong_or_missing_credentials_are_refused_before_the_body_is_read() {
    let s = settings(DEFAULT_PATH, &[], 1 << 20);
    for headers in [&[][..], &[("token", "nope")], &[("token", "")]] {
        let reply = send(
            &s,
            &secrets(TOKEN),
            push(DEFAULT_PATH, headers, "not even json"),
        );
        assert_eq!(reply.response.status(), 401, "{headers:?}");
        assert!(reply.after.is_none());
    }
    // The admin token is not the push token.
    let bearer = format!("Bearer {ADMIN}");
    let reply = send(
        &s,
        &secrets(TOKEN),
        push(DEFAULT_PATH, &[("Authorization", &bearer)], &a_push()),
    );
    assert_eq!(reply.response.status(), 401);
}

#[test]
fn without_the_secret_push_does_not_exist() {
    let s = settings(DEFAULT_PATH, &[], 1 << 20);
    let reply = send(
        &s,
        &secrets(""),
        push(DEFAULT_PATH, &[("token", "")], &a_push()),
    );
    assert_eq!(status_and_code(&reply), (404, "NOT_FOUND".into()));
}

#[test]
fn the_path_is_configurable_and_the_default_then_unknown() {
    let s = settings("/hooks/bd-7f3a", &[], 1 << 20);
    let reply = send(
        &s,
        &secrets(TOKEN),
        push("/hooks/bd-7f3a", &[("token", TOKEN)], &a_push()),
    );
    assert_eq!(reply.response.status(), 200);
    let reply = send(
        &s,
        &secrets(TOKEN),
        push(DEFAULT_PATH, &[("token", TOKEN)], &a_push()),
    );
    assert_eq!(reply.response.status(), 404);
    let get = Request::builder()
        .uri("/hooks/bd-7f3a")
        .body(vec![])
        .unwrap();
    assert_eq!(send(&s, &secrets(TOKEN), get).response.status(), 405);
}

#[test]
fn only_listed_sources_may_push_when_a_list_is_set() {
    let s = settings(DEFAULT_PATH, &["203.0.113.0/24"], 1 << 20);
    let from = |ip: &str| {
        let headers = [("token", TOKEN), ("CF-Connecting-IP", ip)];
        send(&s, &secrets(TOKEN), push(DEFAULT_PATH, &headers, &a_push()))
    };
    assert_eq!(from("203.0.113.40").response.status(), 200);
    assert_eq!(
        status_and_code(&from("198.51.100.1")),
        (403, "PUSH_SOURCE_NOT_ALLOWED".into())
    );
    let reply = send(
        &s,
        &secrets(TOKEN),
        push(DEFAULT_PATH, &[("token", TOKEN)], &a_push()),
    );
    assert_eq!(reply.response.status(), 403);
}

#[test]
fn a_body_over_the_limit_is_413_and_nothing_is_enqueued() {
    let s = settings(DEFAULT_PATH, &[], 1024);
    let big = format!("{{\"statustracking\":[],\"pad\":\"{}\"}}", "x".repeat(2048));
    let reply = send(
        &s,
        &secrets(TOKEN),
        push(DEFAULT_PATH, &[("token", TOKEN)], &big),
    );
    assert_eq!(status_and_code(&reply), (413, "PAYLOAD_TOO_LARGE".into()));
    assert!(reply.after.is_none());
}

#[test]
fn malformed_bodies_and_items_are_reported() {
    let s = settings(DEFAULT_PATH, &[], 1 << 20);
    let reply = send(
        &s,
        &secrets(TOKEN),
        push(DEFAULT_PATH, &[("token", TOKEN)], "{nope"),
    );
    assert_eq!(status_and_code(&reply), (400, "INVALID_PUSH".into()));
    assert!(reply.after.is_none());
    let mixed = format!(
        "{{\"statustracking\":[{}, {{\"Shipment\":{{\"WaybillNo\":\"x\"}}}}, 7]}}",
        serde_json::from_str::<Value>(&a_push()).unwrap()["statustracking"][0]
    );
    let reply = send(
        &s,
        &secrets(TOKEN),
        push(DEFAULT_PATH, &[("token", TOKEN)], &mixed),
    );
    assert_eq!(reply.response.status(), 200);
    let body: Value = serde_json::from_str(reply.response.body()).unwrap();
    assert_eq!(
        (body["accepted"].as_u64(), body["rejected"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(body["errors"][0]["item"], 1);
    assert_eq!(body["errors"][1]["item"], 2);
}

#[test]
fn admins_see_the_push_counts() {
    let s = settings(DEFAULT_PATH, &[], 1 << 20);
    let request = Request::builder()
        .uri("/api/admin/push")
        .header("Authorization", format!("Bearer {ADMIN}"))
        .body(vec![])
        .unwrap();
    let reply = send(&s, &secrets(TOKEN), request);
    assert_eq!(reply.response.status(), 200);
    let body: Value = serde_json::from_str(reply.response.body()).unwrap();
    assert_eq!(body["enabled"], true);
    assert_eq!(body["counts"]["pushes"], 0);
    assert_eq!(body["statusChanges"]["pushShare"], Value::Null);
    let anonymous = Request::builder()
        .uri("/api/admin/push")
        .body(vec![])
        .unwrap();
    assert_eq!(send(&s, &secrets(TOKEN), anonymous).response.status(), 401);
}

#[test]
fn the_push_share_is_pushed_changes_over_all_changes() {
    use tracking_core::ports::{PushLog, RunLog};
    use tracking_core::push::PushCounts;
    use tracking_core::runs::{RunTally, SyncRun, Trigger};

    let s = settings(DEFAULT_PATH, &[], 1 << 20);
    let world = World::new(ScriptedCarrier::default());
    let now = world.clock.0.get();
    let pushed = PushCounts {
        pushes: 1,
        items: 1,
        accepted: 1,
        status_changes_push: 1,
        ..PushCounts::default()
    };
    block_on(world.store.record_push("", &pushed, &[], now)).unwrap();
    let run = block_on(world.store.start_run(&SyncRun::new(Trigger::Cron, now))).unwrap();
    let polled = RunTally {
        status_changes: 3,
        ..RunTally::default()
    };
    block_on(world.store.add_to_run(run, &polled, now)).unwrap();
    let request = Request::builder()
        .uri("/api/admin/push")
        .header("Authorization", format!("Bearer {ADMIN}"))
        .body(vec![])
        .unwrap();
    let reply = support::send(&world, &s, &secrets(TOKEN), request);
    let body: Value = serde_json::from_str(reply.response.body()).unwrap();
    assert_eq!(
        body["statusChanges"],
        serde_json::json!({"push": 1, "poll": 3, "pushShare": 0.25})
    );
}

/// The README and the contract promise 1 MiB unless `BLUEDART_PUSH_MAX_BYTES` says otherwise.
#[test]
fn the_default_limit_is_the_documented_mebibyte() {
    assert_eq!(tracking_api::push::DEFAULT_MAX_BYTES, 1_048_576);
}
