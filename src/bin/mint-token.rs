//! Mints credentials for the customer endpoint, as a storefront backend or an e-mail would:
//!
//!   mint-token customer <customer-id> [hours]   → a storefront token (Authorization: Bearer)
//!   mint-token link <order-id> [hours]          → the query string of a signed tracking link
//!
//! Secrets come from CUSTOMER_TOKEN_SECRET and TRACKING_LINK_SECRET in the environment; the
//! token's audience from CUSTOMER_TOKEN_AUDIENCE (default `shipment-tracker`, as in
//! wrangler.toml). Hours default to 24 and may not exceed the worker's default caps: 168 (7
//! days) for tokens, 720 (30 days) for links.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Duration, Utc};
use tracking_api::credentials::{
    DEFAULT_AUDIENCE, DEFAULT_MAX_LINK_LIFETIME_SECS, DEFAULT_MAX_TOKEN_LIFETIME_SECS,
    customer_token, link_signature,
};

const USAGE: &str =
    "usage: mint-token customer <customer-id> [hours] | mint-token link <order-id> [hours]";

fn secret(name: &str) -> Result<String, String> {
    std::env::var(name)
        .ok()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("{name} is not set"))
}

fn run(args: &[String]) -> Result<String, String> {
    let (kind, subject) = match args {
        [kind, subject] | [kind, subject, _] => (kind.as_str(), subject.as_str()),
        _ => return Err(USAGE.into()),
    };
    let hours: i64 = match args.get(2) {
        Some(h) => h.parse().map_err(|_| USAGE.to_owned())?,
        None => 24,
    };
    let max_secs = match kind {
        "link" => DEFAULT_MAX_LINK_LIFETIME_SECS,
        _ => DEFAULT_MAX_TOKEN_LIFETIME_SECS,
    };
    let max_hours = (max_secs / 3600) as i64;
    if !(1..=max_hours).contains(&hours) {
        return Err(format!(
            "hours must be 1-{max_hours}: the worker refuses {kind} credentials valid for longer"
        ));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs() as i64;
    let exp: DateTime<Utc> =
        DateTime::from_timestamp(now, 0).ok_or("clock out of range")? + Duration::hours(hours);
    match kind {
        "customer" => Ok(customer_token(
            &secret("CUSTOMER_TOKEN_SECRET")?,
            &std::env::var("CUSTOMER_TOKEN_AUDIENCE")
                .ok()
                .filter(|a| !a.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned()),
            subject,
            exp,
        )),
        "link" => Ok(format!(
            "exp={}&sig={}",
            exp.timestamp(),
            link_signature(&secret("TRACKING_LINK_SECRET")?, subject, exp)
        )),
        _ => Err(USAGE.into()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mint-token: {e}");
            ExitCode::from(2)
        }
    }
}
