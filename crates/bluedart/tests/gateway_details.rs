//! Details of the Blue Dart gateway client that a deliberate bug could change unnoticed
//! (cargo-mutants; issue 18): the pickup time in IST, and the token cache's one-hour margin.

use crate::support::{NativeHttp, sim_gateway, waybill_request};
use bluedart::client::{BlueDartClient, TOKEN_KEY};
use bluedart_sim::{Endpoint, SimConfig, Simulator};
use chrono::{Duration, TimeZone, Utc};
use pollster::block_on;
use serde_json::Value;
use tracking_core::carrier::{Carrier, WaybillRequest};
use tracking_core::testing::{MemoryKv, SystemClock};

struct Rig {
    sim: Simulator,
    http: NativeHttp,
    kv: MemoryKv,
}

impl Rig {
    fn new() -> Rig {
        Rig::with(SimConfig {
            demo: true,
            ..SimConfig::default()
        })
    }

    fn with(config: SimConfig) -> Rig {
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

    fn track(&self) {
        block_on(self.client().track(&["81234567890".to_owned()])).unwrap();
    }

    fn logins(&self) -> usize {
        self.sim.calls(Endpoint::Login).len()
    }

    /// Moves the cached token's recorded expiry to `from_now` ahead.
    fn token_expires_in(&self, from_now: Duration) {
        let mut entries = self.kv.entries.borrow_mut();
        let (value, ttl) = entries.get(TOKEN_KEY).expect("a cached token").clone();
        let mut cached: Value = serde_json::from_str(&value).unwrap();
        cached["expires_at"] = serde_json::to_value(Utc::now() + from_now).unwrap();
        entries.insert(TOKEN_KEY.into(), (cached.to_string(), ttl));
    }
}

#[test]
fn the_pickup_time_is_sent_in_ist_and_the_date_as_the_instant() {
    let rig = Rig::new();
    // 03:42 UTC is 09:12 in India (UTC+5:30).
    let pickup_at = Utc.with_ymd_and_hms(2026, 1, 24, 3, 42, 0).unwrap();
    let request = WaybillRequest {
        cod_amount: 250.0,
        pickup_at,
        ..waybill_request("ORD-78", "682031")
    };
    block_on(rig.client().generate_waybill(&request)).unwrap();
    let sent = rig.http.sent.borrow();
    let body: Value = serde_json::from_str(sent.last().unwrap().body.as_ref().unwrap()).unwrap();
    let services = &body["Request"]["Services"];
    assert_eq!(services["PickupTime"], "0912");
    assert_eq!(
        services["PickupDate"],
        format!("/Date({})/", pickup_at.timestamp_millis())
    );
    assert_eq!(services["SubProductCode"], "C", "cash on delivery");
    assert_eq!(services["CollectableAmount"], 250.0);
}

#[test]
fn a_cached_token_is_used_until_an_hour_before_it_expires() {
    let rig = Rig::new();
    rig.track();
    assert_eq!(rig.logins(), 1);
    // Cached for the token's life less the margin: the simulator's tokens live 24 h.
    let ttl = rig.kv.entries.borrow()[TOKEN_KEY].1.unwrap();
    assert!(
        (23 * 3600 - 60..=23 * 3600).contains(&ttl),
        "cached for 23 h: {ttl}"
    );

    // 61 minutes of validity left: still used (a fresh client reads it from KV).
    rig.token_expires_in(Duration::minutes(61));
    rig.track();
    assert_eq!(rig.logins(), 1, "the cached token is reused");

    // 59 minutes left: inside the margin, so a fresh login first.
    rig.token_expires_in(Duration::minutes(59));
    rig.track();
    assert_eq!(rig.logins(), 2, "a token about to expire is replaced");
    assert_eq!(rig.sim.calls(Endpoint::Tracking).len(), 3);
}

#[test]
fn a_token_is_cached_for_its_own_lifetime_not_an_assumed_one() {
    // Tokens that live 3 h, not the usual 24 h: cached for 2 h (its `exp` less the margin).
    let rig = Rig::with(SimConfig {
        demo: true,
        token_ttl_secs: 3 * 3600,
        ..SimConfig::default()
    });
    rig.track();
    let ttl = rig.kv.entries.borrow()[TOKEN_KEY].1.unwrap();
    assert!(
        (2 * 3600 - 60..=2 * 3600).contains(&ttl),
        "cached for 2 h: {ttl}"
    );
    let cached: Value = serde_json::from_str(&rig.kv.entries.borrow()[TOKEN_KEY].0).unwrap();
    let expires_at: chrono::DateTime<Utc> =
        serde_json::from_value(cached["expires_at"].clone()).unwrap();
    let left = expires_at - Utc::now();
    assert!(
        left > Duration::minutes(170) && left <= Duration::hours(3),
        "{left}"
    );
}
