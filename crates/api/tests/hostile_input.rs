//! The malformed, hostile and unauthorised requests of the shared table
//! (`hostile/cases.rs`, also run end to end by `tests/hostile_input.rs`), natively through
//! `Api::handle` over the in-memory ports: each gets a JSON 4xx with the right status and code.

use std::cell::Cell;

use crate::hostile::cases::{Secrets as CaseSecrets, cases};
use crate::support;
use chrono::Utc;
use pollster::block_on;
use tracking_api::credentials::{DEFAULT_AUDIENCE, TokenRules};
use tracking_api::{ApiSettings, Secrets};
use tracking_core::ports::OrderInput;
use tracking_core::testing::{FixedClock, ScriptedCarrier, World};

const SECRETS: CaseSecrets = CaseSecrets {
    admin: "native-admin-token-0123456789abcdef",
    customer: "native-customer-secret-0123456789abcdef",
    link: "native-link-secret-0123456789abcdef",
    audience: DEFAULT_AUDIENCE,
};

/// The end-to-end suite's orders: ORD-1 for cust-1 and ORD-2 for cust-2, both shipped; ORD-3
/// for cust-1 without a waybill. The clock is real time: the table mints tokens from it.
fn world() -> World<ScriptedCarrier> {
    let mut world = World::new(ScriptedCarrier::default());
    world.clock = FixedClock(Cell::new(Utc::now()));
    let put = |id: &str, customer: &str| {
        let input = OrderInput {
            customer_id: customer.into(),
            order_status: "Processing".into(),
            created_at: None,
            awb_no: None,
        };
        block_on(world.service().put_order(id, &input)).unwrap();
    };
    put("ORD-1", "cust-1");
    put("ORD-2", "cust-2");
    put("ORD-3", "cust-1");
    block_on(world.service().attach_awb("ORD-1", "81234567890")).unwrap();
    block_on(world.service().attach_awb("ORD-2", "81234567891")).unwrap();
    world
}

#[test]
fn every_malformed_request_gets_a_json_4xx_that_says_what_was_wrong() {
    let world = world();
    let settings = ApiSettings {
        allowed_origins: vec!["http://localhost:3000".into()],
        tokens: TokenRules::default(),
        can_generate_waybills: true,
        push: None,
    };
    let secrets = Secrets {
        admin_token: SECRETS.admin.into(),
        customer_token_secret: SECRETS.customer.into(),
        tracking_link_secret: SECRETS.link.into(),
        push_token: String::new(),
    };
    let cases = cases(&SECRETS);
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let mut request = http::Request::builder()
            .method(case.method)
            .uri(case.path.as_str());
        for (name, value) in &case.headers {
            request = request.header(*name, value.as_str());
        }
        let body = case.body.clone().unwrap_or_default().into_bytes();
        let request = request
            .body(body)
            .unwrap_or_else(|e| panic!("{}: not an HTTP request: {e}", case.what));
        let reply = support::send(&world, &settings, &secrets, request);
        let content_type = reply
            .response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        failures.extend(case.check(
            reply.response.status().as_u16(),
            content_type,
            reply.response.body(),
        ));
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
