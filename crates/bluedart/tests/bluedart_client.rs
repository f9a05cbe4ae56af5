//! The Blue Dart client against the simulator over real HTTP, natively: login and token caching,
//! re-login on a refused token, many waybills per call, and every fault mapped to its error.

use crate::support::{NativeHttp, sim_gateway, waybill_request};
use bluedart::client::{BlueDartClient, TOKEN_KEY};
use bluedart_sim::{Endpoint, Fault, FaultRule, SimConfig, Simulator};
use pollster::block_on;
use serde_json::json;
use tracking_core::carrier::{Carrier, CarrierError};
use tracking_core::model::Status;
use tracking_core::testing::{MemoryKv, SystemClock};

struct Rig {
    sim: Simulator,
    http: NativeHttp,
    kv: MemoryKv,
}

impl Rig {
    fn new() -> Rig {
        let config = SimConfig {
            demo: true,
            ..SimConfig::default()
        };
        Rig {
            sim: Simulator::start(config, "127.0.0.1:0".parse().unwrap()).unwrap(),
            http: NativeHttp::new(),
            kv: MemoryKv::default(),
        }
    }

    fn client(&self) -> BlueDartClient<'_, NativeHttp, MemoryKv, SystemClock> {
        BlueDartClient::new(
            &self.http,
            &self.kv,
            &SystemClock,
            sim_gateway(self.sim.base_url()),
        )
    }

    fn track(&self, awbs: &[&str]) -> Result<tracking_core::carrier::TrackingReply, CarrierError> {
        let awbs: Vec<String> = awbs.iter().map(|s| s.to_string()).collect();
        block_on(self.client().track(&awbs))
    }

    fn fault(&self, endpoint: Endpoint, rule: FaultRule) {
        self.sim.state().set_fault(endpoint, Some(rule));
    }
}

#[test]
fn many_waybills_in_one_call_with_the_token_cached() {
    let rig = Rig::new();
    let reply = rig
        .track(&["81234567890", "81234567892", "99999999999"])
        .unwrap();
    assert_eq!(reply.http_status, 200);
    let latest = |awb: &str| {
        reply
            .update_of(awb)
            .map(|u| u.events.last().unwrap().status)
    };
    assert_eq!(latest("81234567890"), Some(Status::OutForDelivery));
    assert_eq!(latest("81234567892"), Some(Status::Delivered));
    assert_eq!(
        latest("99999999999"),
        None,
        "unknown waybills are a valid empty answer"
    );

    rig.track(&["81234567891"]).unwrap();
    assert_eq!(
        rig.sim.calls(Endpoint::Login).len(),
        1,
        "the token is reused"
    );
    let tracking = rig.sim.calls(Endpoint::Tracking);
    assert_eq!(
        tracking[0].waybills,
        ["81234567890", "81234567892", "99999999999"]
    );
    assert!(rig.kv.entries.borrow().contains_key(TOKEN_KEY));
    let ttl = rig.kv.entries.borrow()[TOKEN_KEY].1.unwrap();
    assert!(
        (22 * 3600..=23 * 3600).contains(&ttl),
        "cached for about 23 h: {ttl}"
    );
}

#[test]
fn no_verno_is_sent_and_the_account_is_in_the_query() {
    let rig = Rig::new();
    rig.track(&["81234567890"]).unwrap();
    let sent = rig.http.sent.borrow();
    let url = &sent.last().unwrap().url;
    assert!(url.contains("/in/transportation/tracking/v1?handler=tnt&action=custawbquery&loginid=DEVLOGIN&awb=awb&numbers=81234567890&format=xml&lickey=dev-licence-key&scan=1"), "{url}");
    assert!(!url.contains("verno"));
    assert_eq!(sent.last().unwrap().headers[0].0, "JWTToken");
}

#[test]
fn a_refused_token_means_one_fresh_login_and_one_retry() {
    let rig = Rig::new();
    rig.track(&["81234567890"]).unwrap();
    rig.fault(
        Endpoint::Tracking,
        FaultRule::on_call(1, Fault::ExpiredToken),
    );
    let reply = rig.track(&["81234567890"]).unwrap();
    assert!(reply.update_of("81234567890").is_some());
    assert_eq!(rig.sim.calls(Endpoint::Login).len(), 2);
    assert_eq!(rig.sim.calls(Endpoint::Tracking).len(), 3);

    // Refused again after the fresh login: give up, no third try.
    rig.fault(Endpoint::Tracking, FaultRule::always(Fault::ExpiredToken));
    assert_eq!(
        rig.track(&["81234567890"]),
        Err(CarrierError::Unauthorized { status: 401 })
    );
    assert_eq!(rig.sim.calls(Endpoint::Tracking).len(), 5);
}

#[test]
fn wrong_credentials_fail_the_login() {
    let rig = Rig::new();
    let mut client = rig.client();
    client.gateway_mut().account.client_secret = "wrong".into();
    assert_eq!(
        block_on(client.track(&["81234567890".into()])),
        Err(CarrierError::Unauthorized { status: 401 })
    );
    assert!(rig.sim.calls(Endpoint::Tracking).is_empty());
}

#[test]
fn every_fault_becomes_its_error() {
    let cases: Vec<(Fault, CarrierError)> = vec![
        (Fault::Drop, CarrierError::Connection),
        (Fault::Hang { ms: 3000 }, CarrierError::Timeout { ms: 1500 }),
        (
            Fault::Status { code: 500 },
            CarrierError::Unavailable { status: 500 },
        ),
        (
            Fault::Status { code: 502 },
            CarrierError::Unavailable { status: 502 },
        ),
        (
            Fault::Status { code: 503 },
            CarrierError::Unavailable { status: 503 },
        ),
        (Fault::HtmlOk, CarrierError::UnreadableAnswer),
        (Fault::MalformedXml, CarrierError::UnreadableAnswer),
        (Fault::TruncatedXml, CarrierError::UnreadableAnswer),
        (Fault::LicenseMismatch, CarrierError::Licence),
        (
            Fault::TooManyRequests {
                retry_after_secs: 30,
            },
            CarrierError::Throttled {
                retry_after_secs: Some(30),
            },
        ),
    ];
    for (fault, expected) in cases {
        let rig = Rig::new();
        rig.fault(Endpoint::Tracking, FaultRule::always(fault.clone()));
        assert_eq!(rig.track(&["81234567890"]), Err(expected), "{fault:?}");
    }
}

#[test]
fn a_login_outage_is_an_outage() {
    let rig = Rig::new();
    rig.fault(
        Endpoint::Login,
        FaultRule::always(Fault::Status { code: 503 }),
    );
    assert_eq!(
        rig.track(&["81234567890"]),
        Err(CarrierError::Unavailable { status: 503 })
    );
}

#[test]
fn generate_waybill_returns_the_new_number() {
    let rig = Rig::new();
    let awb = block_on(
        rig.client()
            .generate_waybill(&waybill_request("ORD-77", "682031")),
    )
    .unwrap();
    assert_eq!(awb, "69000000001");
    let body: serde_json::Value = serde_json::from_str(
        rig.http
            .sent
            .borrow()
            .last()
            .unwrap()
            .body
            .as_ref()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(body["Request"]["Services"]["CreditReferenceNo"], "ORD-77");
    assert_eq!(body["Request"]["Services"]["SubProductCode"], "P");
    assert_eq!(
        body["Profile"],
        json!({"LoginID": "DEVLOGIN", "LicenceKey": "dev-licence-key", "Api_type": "S"})
    );
    assert!(
        body["Request"]["Services"]["PickupDate"]
            .as_str()
            .unwrap()
            .starts_with("/Date(")
    );
}

#[test]
fn a_waybill_answer_that_is_not_json_is_unreadable_and_an_outage_an_outage() {
    for (fault, expected) in [
        (Fault::HtmlOk, CarrierError::UnreadableAnswer),
        (
            Fault::Status { code: 503 },
            CarrierError::Unavailable { status: 503 },
        ),
        (
            Fault::Status { code: 400 },
            CarrierError::UnexpectedStatus { status: 400 },
        ),
    ] {
        let rig = Rig::new();
        rig.fault(Endpoint::Waybill, FaultRule::always(fault.clone()));
        assert_eq!(
            block_on(
                rig.client()
                    .generate_waybill(&waybill_request("ORD-77", "682031"))
            ),
            Err(expected),
            "{fault:?}"
        );
    }
}

#[test]
fn generate_waybill_refusals_carry_blue_darts_reason() {
    let rig = Rig::new();
    block_on(
        rig.client()
            .generate_waybill(&waybill_request("ORD-77", "682031")),
    )
    .unwrap();
    assert_eq!(
        block_on(
            rig.client()
                .generate_waybill(&waybill_request("ORD-77", "682031"))
        ),
        Err(CarrierError::Refused {
            code: "WaybillAlreadyGenerated".into(),
            message: "Waybill already generated".into()
        })
    );
    assert_eq!(
        block_on(
            rig.client()
                .generate_waybill(&waybill_request("ORD-78", ""))
        ),
        Err(CarrierError::Refused {
            code: "InvalidPinCode".into(),
            message: "Pincode cannot be blank".into()
        })
    );
}
