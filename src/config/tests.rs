//! How `[vars]` and secrets are read into a `Config`.

use super::*;

/// `[vars]` and secrets from a list of pairs.
pub(super) fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |key| {
        pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_string())
    }
}

const BASE: (&str, &str) = ("BLUEDART_BASE_URL", "http://127.0.0.1:8788");

#[test]
fn push_settings_default_and_are_checked() {
    let config = Config::from_lookup(lookup(&[BASE])).unwrap();
    assert_eq!(config.push.path, "/api/carrier/bluedart/push");
    assert_eq!(config.push.header, "token");
    assert_eq!(config.push.max_bytes, 1024 * 1024);
    assert!(config.push.allowed_ips.is_empty());
    let config = Config::from_lookup(lookup(&[
        BASE,
        ("BLUEDART_PUSH_PATH", "/hooks/bd"),
        ("BLUEDART_PUSH_HEADER", "Client-Token"),
        ("BLUEDART_PUSH_ALLOWED_IPS", "203.0.113.0/24, 2001:db8::/32"),
    ]))
    .unwrap();
    assert_eq!(config.push.path, "/hooks/bd");
    assert_eq!(config.push.header, "client-token");
    assert_eq!(config.push.allowed_ips.len(), 2);
    for (var, value) in [
        ("BLUEDART_PUSH_PATH", "hooks"),
        ("BLUEDART_PUSH_HEADER", "Authorization"),
        ("BLUEDART_PUSH_HEADER", "bad header"),
        ("BLUEDART_PUSH_ALLOWED_IPS", "10.0.0.0/33"),
        ("BLUEDART_PUSH_MAX_BYTES", "10"),
    ] {
        let error = Config::from_lookup(lookup(&[BASE, (var, value)])).unwrap_err();
        assert_eq!(error.var, var, "{value}");
    }
}

#[test]
fn defaults_are_the_designs() {
    let config = Config::from_lookup(lookup(&[BASE])).unwrap();
    assert_eq!(config.environment, Environment::Development);
    assert_eq!(config.bluedart_timeout_ms, 5_000);
    assert_eq!(config.service.schedule.moving, Duration::minutes(45));
    assert_eq!(
        config.service.schedule.backoff,
        [
            (Duration::days(1), Duration::hours(3)),
            (Duration::days(2), Duration::hours(6)),
            (Duration::days(4), Duration::hours(12)),
            (Duration::days(7), Duration::hours(24)),
        ]
    );
    assert_eq!(config.service.schedule.give_up_after, Duration::days(30));
    assert_eq!(config.sync.batch_size, 50);
    assert_eq!(config.sync.delay_ms, 100);
    assert_eq!(config.sync.budget.d1_queries, 50);
    assert_eq!(config.sync.budget.wall_time, Duration::seconds(840));
    assert_eq!(config.sync.retries, 2);
    assert_eq!(config.service.refresh_interval, Duration::seconds(60));
    assert_eq!(config.breaker.threshold, 5);
    assert_eq!(config.breaker.cooldown, Duration::seconds(60));
    assert_eq!(config.service.cache_ttl_secs, 86_400);
    assert_eq!(config.service.raw_max_bytes, 16_384);
    assert_eq!(config.bluedart_max_response_bytes, 2 * 1024 * 1024);
    assert_eq!(config.tokens.audience, "shipment-tracker");
    assert_eq!(config.tokens.max_token_lifetime, Duration::days(7));
    assert_eq!(config.tokens.max_link_lifetime, Duration::days(30));
    assert!(config.allowed_origins.is_empty());
    assert!(!config.can_generate_waybills());
    let config = Config::from_lookup(lookup(&[BASE, ("ENVIRONMENT", "production")])).unwrap();
    assert_eq!(config.environment, Environment::Production);
}

#[test]
fn values_are_read_and_checked() {
    let config = Config::from_lookup(lookup(&[
        BASE,
        ("BLUEDART_TIMEOUT_MS", " 1500 "),
        (
            "ALLOWED_ORIGINS",
            "https://shop.example, https://www.shop.example/ ,",
        ),
        ("SHIPPER_ORIGIN_AREA", "PNQ"),
        ("SHIPPER_CUSTOMER_CODE", "099960"),
        ("SHIPPER_PINCODE", "411001"),
        ("SYNC_BACKOFF", "2h=1h"),
        ("SYNC_GIVE_UP_DAYS", "7"),
    ]))
    .unwrap();
    assert_eq!(config.bluedart_timeout_ms, 1500);
    assert_eq!(
        config.service.schedule.backoff,
        [(Duration::hours(2), Duration::hours(1))]
    );
    assert_eq!(config.service.schedule.give_up_after, Duration::days(7));
    assert_eq!(
        config.allowed_origins,
        ["https://shop.example", "https://www.shop.example"]
    );
    assert!(config.can_generate_waybills());
}

#[test]
fn bad_values_name_their_variable() {
    let cases = [
        ("ENVIRONMENT", "staging"),
        ("BLUEDART_TIMEOUT_MS", "soon"),
        ("BLUEDART_TIMEOUT_MS", "0"),
        ("SYNC_INTERVAL_MINUTES", "-5"),
        ("SYNC_BATCH_SIZE", "51"),
        ("SYNC_BACKOFF", "1d=3h,1h=1d"),
        ("SYNC_GIVE_UP_DAYS", "0"),
        ("SYNC_MAX_RUN_SECONDS", "901"),
        ("CACHE_TTL_SECONDS", "59"),
        ("BREAKER_FAILURE_THRESHOLD", "0"),
        ("BLUEDART_MAX_RESPONSE_BYTES", "1000"),
        ("CUSTOMER_TOKEN_MAX_LIFETIME_SECONDS", "31536000"),
        ("TRACKING_LINK_MAX_LIFETIME_SECONDS", "0"),
    ];
    for (var, value) in cases {
        let err = Config::from_lookup(lookup(&[BASE, (var, value)])).unwrap_err();
        assert_eq!(err.var, var);
    }
    let err = Config::from_lookup(lookup(&[])).unwrap_err();
    assert_eq!(err.var, "BLUEDART_BASE_URL");
}
