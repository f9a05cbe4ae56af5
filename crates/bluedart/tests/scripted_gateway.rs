//! The client against a gateway that answers from memory, on a fixed clock: the login token's
//! cache (the one-hour margin at exactly one hour, a token that carries no `exp`), and answers
//! the simulator does not give.

use std::cell::RefCell;
use std::rc::Rc;

use bluedart::client::{Account, BlueDartClient, Gateway, TOKEN_KEY, TokenCache};
use chrono::{DateTime, Duration, Utc};
use pollster::block_on;
use serde_json::json;
use tracking_core::carrier::{Carrier, CarrierError};
use tracking_core::ports::{HttpClient, HttpError, HttpRequest, HttpResponse};
use tracking_core::testing::{FixedClock, MemoryKv};

/// Answers a login with `token`, anything else with `answer` (status, JSON body); keeps the
/// URLs asked for.
struct Gatekeeper {
    token: &'static str,
    answer: (u16, &'static str),
    urls: RefCell<Vec<String>>,
}

impl Gatekeeper {
    fn new(token: &'static str) -> Gatekeeper {
        Gatekeeper {
            token,
            answer: (503, ""),
            urls: RefCell::default(),
        }
    }
}

impl HttpClient for Gatekeeper {
    async fn send(&self, request: HttpRequest, _: u64) -> Result<HttpResponse, HttpError> {
        self.urls.borrow_mut().push(request.url.clone());
        Ok(if request.url.contains("/token/v1/login") {
            HttpResponse {
                status: 200,
                headers: Vec::new(),
                body: json!({"JWTToken": self.token}).to_string(),
            }
        } else {
            HttpResponse {
                status: self.answer.0,
                headers: Vec::new(),
                body: self.answer.1.to_owned(),
            }
        })
    }
}

fn gateway() -> Gateway {
    Gateway {
        base_url: "http://bluedart.invalid".into(),
        account: Account {
            client_id: "id".into(),
            client_secret: "secret".into(),
            login_id: "LOGIN".into(),
            licence_key: "key".into(),
        },
        shipper: crate::support::demo_shipper(),
        timeout_ms: 1000,
    }
}

/// The URLs one tracking call sent, with a cached token expiring at `expires_at` in KV.
fn first_url_with_token_expiring(clock: &FixedClock, expires_at: DateTime<Utc>) -> String {
    let http = Gatekeeper::new("fresh");
    let kv = MemoryKv::default();
    let cached = json!({"token": "cached", "expires_at": expires_at}).to_string();
    kv.entries
        .borrow_mut()
        .insert(TOKEN_KEY.into(), (cached, Some(3600)));
    let client = BlueDartClient::new(&http, &kv, clock, gateway());
    let _ = block_on(client.track(&["81234567890".to_owned()]));
    http.urls.borrow()[0].clone()
}

#[test]
fn a_token_with_exactly_an_hour_left_is_not_used() {
    let clock = FixedClock::at(2026, 1, 24, 10);
    let now = clock.0.get();
    let at_margin = first_url_with_token_expiring(&clock, now + Duration::hours(1));
    assert!(at_margin.contains("/token/v1/login"), "{at_margin}");
    let just_outside =
        first_url_with_token_expiring(&clock, now + Duration::hours(1) + Duration::seconds(1));
    assert!(just_outside.contains("/tracking/v1"), "{just_outside}");
}

#[test]
fn a_token_without_exp_is_taken_to_live_24_hours() {
    let clock = FixedClock::at(2026, 1, 24, 10);
    let http = Gatekeeper::new("opaque-token-without-claims");
    let kv = MemoryKv::default();
    let client = BlueDartClient::new(&http, &kv, &clock, gateway());
    let _ = block_on(client.track(&["81234567890".to_owned()]));
    let (value, ttl) = kv.entries.borrow()[TOKEN_KEY].clone();
    assert_eq!(ttl, Some(23 * 3600), "24 h less the one-hour margin");
    let cached: serde_json::Value = serde_json::from_str(&value).unwrap();
    let expires_at: DateTime<Utc> = serde_json::from_value(cached["expires_at"].clone()).unwrap();
    assert_eq!(expires_at, clock.0.get() + Duration::hours(24));
}

/// The isolate's invocations share the token: the second one neither logs in nor needs KV,
/// until the token comes within the one-hour margin of its expiry; then KV (empty here) and a
/// login give a new one.
#[test]
fn a_token_shared_by_the_isolate_is_used_until_the_margin() {
    let clock = FixedClock::at(2026, 1, 24, 10);
    let http = Gatekeeper::new("opaque-token-without-claims");
    let kv = MemoryKv::default();
    let shared = Rc::new(TokenCache::default());
    let awbs = ["81234567890".to_owned()];
    let first = BlueDartClient::new(&http, &kv, &clock, gateway()).with_token_cache(shared.clone());
    let _ = block_on(first.track(&awbs));
    kv.entries.borrow_mut().clear();
    let logins = || {
        http.urls
            .borrow()
            .iter()
            .filter(|u| u.contains("/token/v1/login"))
            .count()
    };
    assert_eq!(logins(), 1);

    let second =
        BlueDartClient::new(&http, &kv, &clock, gateway()).with_token_cache(shared.clone());
    let _ = block_on(second.track(&awbs));
    assert_eq!(logins(), 1, "the token from memory, with KV empty");

    // 24 h tokens: 23 h on, exactly an hour is left, which is not enough.
    clock.0.set(clock.0.get() + Duration::hours(23));
    let third = BlueDartClient::new(&http, &kv, &clock, gateway()).with_token_cache(shared);
    let _ = block_on(third.track(&awbs));
    assert_eq!(logins(), 2, "a token at the margin is replaced");
}

/// Blue Dart's refusals of a waybill come as a 400 with an `error-response` list; any other 400
/// (a gateway's own fault, in JSON) is not a refusal with an empty reason but an unexpected
/// status.
#[test]
fn only_a_400_with_an_error_response_is_a_refusal() {
    let clock = FixedClock::at(2026, 1, 24, 10);
    let kv = MemoryKv::default();
    let request = crate::support::waybill_request("ORD-77", "682031");
    let refused = Gatekeeper {
        answer: (
            400,
            r#"{"error-response":[{"StatusCode":"InvalidPinCode","StatusInformation":"Pincode is not serviceable"}]}"#,
        ),
        ..Gatekeeper::new("fresh")
    };
    let client = BlueDartClient::new(&refused, &kv, &clock, gateway());
    assert_eq!(
        block_on(client.generate_waybill(&request)),
        Err(CarrierError::Refused {
            code: "InvalidPinCode".into(),
            message: "Pincode is not serviceable".into()
        })
    );
    let gateway_fault = Gatekeeper {
        answer: (400, r#"{"fault":{"faultstring":"Invalid request"}}"#),
        ..Gatekeeper::new("fresh")
    };
    let client = BlueDartClient::new(&gateway_fault, &kv, &clock, gateway());
    assert_eq!(
        block_on(client.generate_waybill(&request)),
        Err(CarrierError::UnexpectedStatus { status: 400 })
    );
}

/// Blue Dart's own words reach logs and admins, so whatever in them could only have come from
/// our request is blanked: the account's credentials in an `<Error>`, and a refused waybill's
/// consignee, in whatever case the gateway writes them. Its other words stay.
#[test]
fn blue_darts_words_never_repeat_our_credentials_or_the_consignee() {
    let clock = FixedClock::at(2026, 1, 24, 10);
    let kv = MemoryKv::default();
    let mut gateway = gateway();
    gateway.account.login_id = "BDLOGIN7".into();
    gateway.account.licence_key = "LK-4471-ab".into();
    let echoed_login = Gatekeeper {
        answer: (
            200,
            "<ShipmentData><Error>Invalid LoginID bdlogin7 with licence lk-4471-AB; \
             BDLOGIN7 again</Error></ShipmentData>",
        ),
        ..Gatekeeper::new("fresh")
    };
    let client = BlueDartClient::new(&echoed_login, &kv, &clock, gateway.clone());
    assert_eq!(
        block_on(client.track(&["81234567890".to_owned()])).map(|_| ()),
        Err(CarrierError::Message(
            "Invalid LoginID [redacted] with licence [redacted]; [redacted] again".into()
        ))
    );

    let request = crate::support::waybill_request("ORD-77", "682031");
    let echoed_consignee = Gatekeeper {
        answer: (
            400,
            r#"{"error-response":[{"StatusCode":"InvalidMobile","StatusInformation":"Asha Menon, 14/221 MARINE DRIVE, Ernakulam 682031: mobile 9847012345 is invalid"}]}"#,
        ),
        ..Gatekeeper::new("fresh")
    };
    let client = BlueDartClient::new(&echoed_consignee, &kv, &clock, gateway);
    assert_eq!(
        block_on(client.generate_waybill(&request)),
        Err(CarrierError::Refused {
            code: "InvalidMobile".into(),
            message: "[redacted], [redacted], [redacted] [redacted]: mobile [redacted] is invalid"
                .into()
        })
    );
}
