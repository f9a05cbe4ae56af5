//! Runtime configuration from `[vars]` in `wrangler.toml`, with the defaults the design names.
//! Read through a lookup function so that it can be tested without a Workers environment.
//! Credentials are not here: they are secrets, read by the platform layer, which has
//! [`production_problems`] check them (and the configuration) before a production worker serves.

mod production;

pub use production::{Role, production_problems};

use std::fmt;

use chrono::Duration;

use bluedart::client::Shipper;
use tracking_api::credentials::{
    DEFAULT_AUDIENCE, DEFAULT_MAX_LINK_LIFETIME_SECS, DEFAULT_MAX_TOKEN_LIFETIME_SECS, TokenRules,
};
use tracking_api::push::{self, IpRange};
use tracking_core::breaker::BreakerSettings;
use tracking_core::rules::budget::Budget;
use tracking_core::rules::schedule::{CheckSchedule, parse_backoff};
use tracking_core::service::ServiceSettings;
use tracking_core::service::sync::SyncSettings;
use tracking_core::webhooks::delivery::WebhookSettings;

/// Where the worker runs; the hourly sync only runs in production.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Environment::Development => "development",
            Environment::Production => "production",
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub environment: Environment,
    /// Blue Dart's API gateway (the simulator in development and tests).
    pub bluedart_base_url: String,
    /// Timeout of each Blue Dart call, body included.
    pub bluedart_timeout_ms: u64,
    /// The largest answer read from Blue Dart; a longer one is a carrier error.
    pub bluedart_max_response_bytes: usize,
    /// What customer tokens and tracking links must satisfy besides their signatures.
    pub tokens: TokenRules,
    /// The background sync's knobs and the plan's per-invocation budget.
    pub sync: SyncSettings,
    /// The tracking service's knobs: the check schedule, the raw answer kept for admins, the
    /// refresh interval, KV's lifetime and daily sync writes (defaults: `ServiceSettings`'s).
    pub service: ServiceSettings,
    pub breaker: BreakerSettings,
    /// Storefront origins allowed to call the customer endpoint from a browser.
    pub allowed_origins: Vec<String>,
    /// The store's pickup address, for waybill generation.
    pub shipper: Shipper,
    /// Blue Dart's push endpoint (on only when `BLUEDART_PUSH_TOKEN` is set).
    pub push: PushConfig,
}

/// `BLUEDART_PUSH_*`: where Blue Dart pushes, how it authenticates, how much it may send.
#[derive(Clone, Debug, PartialEq)]
pub struct PushConfig {
    pub path: String,
    /// Lower-case header name carrying the secret.
    pub header: String,
    pub max_bytes: usize,
    /// Source ranges allowed (`CF-Connecting-IP`); empty: any.
    pub allowed_ips: Vec<IpRange>,
}

/// A `[vars]` entry that is present but unusable.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration variable {}: {}", self.var, self.reason)
    }
}

impl std::error::Error for ConfigError {}

struct Vars<F>(F);

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    fn text(&self, var: &str) -> String {
        self.0(var).map(|v| v.trim().to_owned()).unwrap_or_default()
    }

    fn number(
        &self,
        var: &'static str,
        default: u64,
        range: (u64, u64),
    ) -> Result<u64, ConfigError> {
        let text = self.text(var);
        if text.is_empty() {
            return Ok(default);
        }
        let value: u64 = text.parse().map_err(|_| ConfigError {
            var,
            reason: format!("expected a whole number, got {text:?}"),
        })?;
        if value < range.0 || value > range.1 {
            return Err(ConfigError {
                var,
                reason: format!("{value} is outside {}..={}", range.0, range.1),
            });
        }
        Ok(value)
    }
}

fn push_config<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<PushConfig, ConfigError> {
    let path = match vars.text("BLUEDART_PUSH_PATH") {
        p if p.is_empty() => push::DEFAULT_PATH.to_owned(),
        p if p.starts_with('/') && !p.contains(['?', '#', ' ']) => p,
        _ => {
            return Err(ConfigError {
                var: "BLUEDART_PUSH_PATH",
                reason: "expected a path starting with /".into(),
            });
        }
    };
    let header = match vars.text("BLUEDART_PUSH_HEADER").to_ascii_lowercase() {
        h if h.is_empty() => push::DEFAULT_HEADER.to_owned(),
        h if http::HeaderName::from_bytes(h.as_bytes()).is_ok() && h != "authorization" => h,
        _ => {
            return Err(ConfigError {
                var: "BLUEDART_PUSH_HEADER",
                reason: "expected a header name other than Authorization".into(),
            });
        }
    };
    let mut allowed_ips = Vec::new();
    for range in vars.text("BLUEDART_PUSH_ALLOWED_IPS").split(',') {
        if range.trim().is_empty() {
            continue;
        }
        allowed_ips.push(IpRange::parse(range).ok_or_else(|| ConfigError {
            var: "BLUEDART_PUSH_ALLOWED_IPS",
            reason: format!(
                "{:?} is not an address or a range such as 192.0.2.0/24",
                range.trim()
            ),
        })?);
    }
    Ok(PushConfig {
        path,
        header,
        max_bytes: vars.number(
            "BLUEDART_PUSH_MAX_BYTES",
            push::DEFAULT_MAX_BYTES as u64,
            (1024, 32 * 1024 * 1024),
        )? as usize,
        allowed_ips,
    })
}

impl Config {
    /// Builds the configuration from a variable lookup (`env.var(..)` on Workers).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let vars = Vars(lookup);
        let d = ServiceSettings::default();
        // Under an hour by default, so that the hourly cron reaches every moving shipment each
        // hour.
        let moving = Duration::minutes(vars.number(
            "SYNC_INTERVAL_MINUTES",
            d.schedule.moving.num_minutes() as u64,
            (1, 7 * 24 * 60),
        )? as i64);
        let environment = match vars.text("ENVIRONMENT").as_str() {
            "" | "development" => Environment::Development,
            "production" => Environment::Production,
            other => {
                return Err(ConfigError {
                    var: "ENVIRONMENT",
                    reason: format!("expected development or production, got {other:?}"),
                });
            }
        };
        let bluedart_base_url = vars.text("BLUEDART_BASE_URL");
        if !(bluedart_base_url.starts_with("https://") || bluedart_base_url.starts_with("http://"))
        {
            return Err(ConfigError {
                var: "BLUEDART_BASE_URL",
                reason: "expected an http(s) URL".into(),
            });
        }
        let allowed_origins = vars
            .text("ALLOWED_ORIGINS")
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        Ok(Config {
            environment,
            bluedart_base_url,
            bluedart_timeout_ms: vars.number("BLUEDART_TIMEOUT_MS", 5_000, (100, 60_000))?,
            // A 50-waybill answer with full histories is some hundreds of KiB.
            bluedart_max_response_bytes: vars.number(
                "BLUEDART_MAX_RESPONSE_BYTES",
                2 * 1024 * 1024,
                (64 * 1024, 32 * 1024 * 1024),
            )? as usize,
            tokens: TokenRules {
                audience: match vars.text("CUSTOMER_TOKEN_AUDIENCE") {
                    a if a.is_empty() => DEFAULT_AUDIENCE.to_owned(),
                    a => a,
                },
                max_token_lifetime: Duration::seconds(vars.number(
                    "CUSTOMER_TOKEN_MAX_LIFETIME_SECONDS",
                    DEFAULT_MAX_TOKEN_LIFETIME_SECS,
                    (60, 30 * 86_400),
                )? as i64),
                max_link_lifetime: Duration::seconds(vars.number(
                    "TRACKING_LINK_MAX_LIFETIME_SECONDS",
                    DEFAULT_MAX_LINK_LIFETIME_SECS,
                    (60, 90 * 86_400),
                )? as i64),
            },
            sync: SyncSettings {
                // Blue Dart takes up to 50 waybills per call.
                batch_size: vars.number("SYNC_BATCH_SIZE", 50, (1, 50))? as usize,
                delay_ms: vars.number("SYNC_DELAY_MS", 100, (0, 60_000))?,
                max_per_run: vars.number("SYNC_MAX_PER_RUN", 10_000, (1, 1_000_000))? as usize,
                retries: vars.number("SYNC_RETRIES", 2, (0, 5))? as u32,
                retry_base_ms: vars.number("SYNC_RETRY_BASE_MS", 500, (0, 60_000))?,
                // Defaults are the free plan's per-invocation limits.
                budget: Budget {
                    subrequests: vars.number("SYNC_MAX_SUBREQUESTS", 50, (1, 100_000))? as usize,
                    d1_queries: vars.number("SYNC_MAX_D1_QUERIES", 50, (1, 100_000))? as usize,
                    kv_operations: vars.number("SYNC_MAX_KV_OPERATIONS", 1_000, (1, 100_000))?
                        as usize,
                    wall_time: Duration::seconds(vars.number(
                        "SYNC_MAX_RUN_SECONDS",
                        840,
                        (1, 900),
                    )? as i64),
                },
            },
            service: ServiceSettings {
                stale_after: moving,
                // 50 per batch must fit in one D1 parameter (2 MB).
                raw_max_bytes: vars.number(
                    "CARRIER_RESPONSE_MAX_BYTES",
                    d.raw_max_bytes as u64,
                    (256, 32 * 1024),
                )? as usize,
                refresh_interval: Duration::seconds(vars.number(
                    "FORCE_REFRESH_MIN_INTERVAL_SECONDS",
                    d.refresh_interval.num_seconds() as u64,
                    (0, 3_600),
                )? as i64),
                cache_ttl_secs: vars.number(
                    "CACHE_TTL_SECONDS",
                    d.cache_ttl_secs,
                    (60, 365 * 86_400),
                )?,
                kv_sync_writes_per_day: vars.number(
                    "KV_SYNC_WRITES_PER_DAY",
                    d.kv_sync_writes_per_day as u64,
                    (0, 100_000_000),
                )? as usize,
                schedule: CheckSchedule {
                    moving,
                    backoff: {
                        let text = vars.text("SYNC_BACKOFF");
                        if text.is_empty() {
                            d.schedule.backoff.clone()
                        } else {
                            parse_backoff(&text).map_err(|reason| ConfigError {
                                var: "SYNC_BACKOFF",
                                reason,
                            })?
                        }
                    },
                    give_up_after: Duration::days(vars.number(
                        "SYNC_GIVE_UP_DAYS",
                        d.schedule.give_up_after.num_days() as u64,
                        (1, 365),
                    )? as i64),
                },
                webhooks: WebhookSettings {
                    https_only: environment == Environment::Production,
                    timeout_ms: vars.number(
                        "WEBHOOK_TIMEOUT_MS",
                        d.webhooks.timeout_ms,
                        (100, 30_000),
                    )?,
                    retry_base_ms: vars.number(
                        "WEBHOOK_RETRY_BASE_MS",
                        d.webhooks.retry_base_ms,
                        (1_000, 3_600_000),
                    )?,
                    max_attempts: vars.number(
                        "WEBHOOK_MAX_ATTEMPTS",
                        d.webhooks.max_attempts as u64,
                        (1, 30),
                    )? as u32,
                    ..d.webhooks.clone()
                },
                // Customers' cached answers are kept rendered beside the snapshots.
                cached_view: Some(tracking_api::track_body::CACHED_VIEW),
            },
            breaker: BreakerSettings {
                threshold: vars.number("BREAKER_FAILURE_THRESHOLD", 5, (1, 1_000))? as u32,
                cooldown: Duration::seconds(vars.number(
                    "BREAKER_COOLDOWN_SECONDS",
                    60,
                    (1, 3_600),
                )? as i64),
            },
            allowed_origins,
            push: push_config(&vars)?,
            shipper: Shipper {
                origin_area: vars.text("SHIPPER_ORIGIN_AREA"),
                customer_code: vars.text("SHIPPER_CUSTOMER_CODE"),
                name: vars.text("SHIPPER_NAME"),
                address: [
                    vars.text("SHIPPER_ADDRESS1"),
                    vars.text("SHIPPER_ADDRESS2"),
                    vars.text("SHIPPER_ADDRESS3"),
                ],
                pincode: vars.text("SHIPPER_PINCODE"),
                mobile: vars.text("SHIPPER_MOBILE"),
            },
        })
    }

    /// Whether waybills can be generated: Blue Dart needs the shipper's area, code and pincode.
    pub fn can_generate_waybills(&self) -> bool {
        let s = &self.shipper;
        !s.origin_area.is_empty() && !s.customer_code.is_empty() && !s.pincode.is_empty()
    }
}

#[cfg(test)]
mod tests;
