//! What production refuses to serve with: plain HTTP to Blue Dart, short secrets, the example
//! values everyone can read in `.dev.vars.example`.

use super::{Config, Environment};

/// Secrets this service makes up itself (admin token, HMAC keys): production wants at least
/// this many bytes of each.
pub const MIN_SECRET_BYTES: usize = 32;

/// The secrets, by name, as the platform read them.
pub const OWN_SECRETS: [&str; 3] = [
    "ADMIN_TOKEN",
    "CUSTOMER_TOKEN_SECRET",
    "TRACKING_LINK_SECRET",
];
/// The secret Blue Dart's pushes carry: optional (push is off without it), but when set it
/// guards an endpoint anyone can reach, so it is held to the rules of our own secrets.
pub const PUSH_SECRET: &str = "BLUEDART_PUSH_TOKEN";
/// The Blue Dart account's credentials, as Blue Dart issued them.
pub const BLUEDART_SECRETS: [&str; 4] = [
    "BLUEDART_CLIENT_ID",
    "BLUEDART_CLIENT_SECRET",
    "BLUEDART_LOGIN_ID",
    "BLUEDART_LICENCE_KEY",
];

/// Which worker checks its secrets: each is given, and needs, only the secrets of the routes
/// it answers. The customer worker (`build-worker.sh --front`) answers no admin route and no
/// push, so neither `ADMIN_TOKEN` nor `BLUEDART_PUSH_TOKEN`; the back office
/// (`build-worker.sh --back-office`) checks no customer's token or link, so neither
/// `CUSTOMER_TOKEN_SECRET` nor `TRACKING_LINK_SECRET`. The build with every route needs all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Full,
    Customer,
    BackOffice,
}

impl Role {
    /// This build's.
    pub const THIS: Role = match (cfg!(feature = "full"), cfg!(feature = "customer")) {
        (true, true) => Role::Full,
        (true, false) => Role::BackOffice,
        (false, _) => Role::Customer,
    };

    /// Whether it answers the admin routes and Blue Dart's push.
    fn serves_back_office(self) -> bool {
        matches!(self, Role::Full | Role::BackOffice)
    }

    /// Whether it answers customers' tokens and signed links.
    fn serves_customers(self) -> bool {
        matches!(self, Role::Full | Role::Customer)
    }
}

/// The values `.dev.vars.example` gives each secret: known to everyone, so never fit for
/// production.
pub fn example_secrets() -> Vec<(&'static str, &'static str)> {
    include_str!("../../.dev.vars.example")
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .collect()
}

/// Whether `url`'s host is this machine: only a local simulator can live there (Cloudflare's
/// network cannot reach it), so plain HTTP and the example credentials go nowhere.
fn is_loopback(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    matches!(
        host.to_ascii_lowercase().as_str(),
        "127.0.0.1" | "localhost" | "::1"
    )
}

/// Why a production worker must not serve with this configuration and these secrets (empty:
/// it may). Each problem names a variable or secret, never a value. Outside production there
/// is nothing to check.
///
/// - Blue Dart's base URL must be `https://` (credentials and the licence key travel with every
///   call), unless it is a loopback address, i.e. the simulator in a local rehearsal;
/// - `ADMIN_TOKEN` (where admin routes are answered), `CUSTOMER_TOKEN_SECRET` and
///   `TRACKING_LINK_SECRET` (where customer routes are) must have at least [`MIN_SECRET_BYTES`]
///   bytes and differ from `.dev.vars.example`;
/// - Blue Dart's credentials must be set and, unless the base URL is loopback, differ from
///   `.dev.vars.example`;
/// - `BLUEDART_PUSH_TOKEN`, when set where the push is answered, must have at least
///   [`MIN_SECRET_BYTES`] bytes and differ from `.dev.vars.example`.
pub fn production_problems(
    role: Role,
    config: &Config,
    secret: impl Fn(&str) -> String,
) -> Vec<String> {
    if config.environment != Environment::Production {
        return Vec::new();
    }
    let mut problems = Vec::new();
    let local = is_loopback(&config.bluedart_base_url);
    if !config.bluedart_base_url.starts_with("https://") && !local {
        problems.push("BLUEDART_BASE_URL must be an https:// URL".to_owned());
    }
    let examples = example_secrets();
    let is_example =
        |name: &str, value: &str| examples.iter().any(|(k, v)| *k == name && *v == value);
    for name in OWN_SECRETS {
        let needed = if name == "ADMIN_TOKEN" {
            role.serves_back_office()
        } else {
            role.serves_customers()
        };
        if !needed {
            continue;
        }
        let value = secret(name);
        if value.len() < MIN_SECRET_BYTES {
            problems.push(format!(
                "{name} must be at least {MIN_SECRET_BYTES} bytes (it has {})",
                value.len()
            ));
        } else if is_example(name, &value) {
            problems.push(format!("{name} is the value from .dev.vars.example"));
        }
    }
    for name in BLUEDART_SECRETS {
        let value = secret(name);
        if value.is_empty() {
            problems.push(format!("{name} is not set"));
        } else if !local && is_example(name, &value) {
            problems.push(format!("{name} is the value from .dev.vars.example"));
        }
    }
    let push = if role.serves_back_office() {
        secret(PUSH_SECRET)
    } else {
        String::new()
    };
    if !push.is_empty() {
        if push.len() < MIN_SECRET_BYTES {
            problems.push(format!(
                "{PUSH_SECRET} must be at least {MIN_SECRET_BYTES} bytes (it has {})",
                push.len()
            ));
        } else if is_example(PUSH_SECRET, &push) {
            problems.push(format!("{PUSH_SECRET} is the value from .dev.vars.example"));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::lookup;

    /// Secrets that pass every production check.
    fn strong(name: &str) -> String {
        format!("{name}-0123456789abcdef0123456789abcdef")
    }

    fn production(base: &str) -> Config {
        Config::from_lookup(lookup(&[
            ("ENVIRONMENT", "production"),
            ("BLUEDART_BASE_URL", base),
        ]))
        .unwrap()
    }

    #[test]
    fn the_example_secrets_are_known() {
        let examples = example_secrets();
        for name in OWN_SECRETS.iter().chain(BLUEDART_SECRETS.iter()) {
            assert!(
                examples.iter().any(|(k, _)| k == name),
                "{name} is in .dev.vars.example"
            );
        }
    }

    /// The back office needs neither customer secret, whatever they are, and every other
    /// secret as the full worker does.
    #[test]
    fn the_back_office_needs_no_customer_secret() {
        let config = production("https://apigateway.bluedart.com");
        let back_office = |name: &str| match name {
            "CUSTOMER_TOKEN_SECRET" => String::new(),
            "TRACKING_LINK_SECRET" => "short".into(),
            other => strong(other),
        };
        assert_eq!(
            production_problems(Role::BackOffice, &config, back_office),
            Vec::<String>::new()
        );
        assert_eq!(
            production_problems(Role::Full, &config, back_office),
            [
                "CUSTOMER_TOKEN_SECRET must be at least 32 bytes (it has 0)",
                "TRACKING_LINK_SECRET must be at least 32 bytes (it has 5)"
            ]
        );
        for (name, weak) in [("ADMIN_TOKEN", ""), (PUSH_SECRET, "short")] {
            let weak_secret = |asked: &str| {
                if asked == name {
                    weak.to_owned()
                } else {
                    back_office(asked)
                }
            };
            assert_eq!(
                production_problems(Role::BackOffice, &config, weak_secret),
                [format!(
                    "{name} must be at least 32 bytes (it has {})",
                    weak.len()
                )]
            );
        }
    }

    /// The customer worker needs neither the admin token nor the push token, whatever they
    /// are, and every other secret as the full worker does.
    #[test]
    fn the_customer_worker_needs_no_admin_or_push_token() {
        let config = production("https://apigateway.bluedart.com");
        let customer = |name: &str| match name {
            "ADMIN_TOKEN" => String::new(),
            PUSH_SECRET => "short".into(),
            other => strong(other),
        };
        assert_eq!(
            production_problems(Role::Customer, &config, customer),
            Vec::<String>::new()
        );
        assert_eq!(
            production_problems(Role::Full, &config, customer),
            [
                "ADMIN_TOKEN must be at least 32 bytes (it has 0)",
                "BLUEDART_PUSH_TOKEN must be at least 32 bytes (it has 5)"
            ]
        );
        let weak_customer_secret = |name: &str| match name {
            "CUSTOMER_TOKEN_SECRET" => "short".into(),
            other => customer(other),
        };
        assert_eq!(
            production_problems(Role::Customer, &config, weak_customer_secret),
            ["CUSTOMER_TOKEN_SECRET must be at least 32 bytes (it has 5)"]
        );
    }

    #[test]
    fn a_push_token_is_optional_but_never_weak() {
        let config = production("https://apigateway.bluedart.com");
        let without = |name: &str| {
            if name == PUSH_SECRET {
                String::new()
            } else {
                strong(name)
            }
        };
        assert!(production_problems(Role::Full, &config, without).is_empty());
        let short = |name: &str| {
            if name == PUSH_SECRET {
                "p".repeat(31)
            } else {
                strong(name)
            }
        };
        assert_eq!(
            production_problems(Role::Full, &config, short),
            ["BLUEDART_PUSH_TOKEN must be at least 32 bytes (it has 31)"]
        );
    }

    #[test]
    fn production_with_strong_secrets_and_https_may_serve() {
        let config = production("https://apigateway.bluedart.com");
        assert_eq!(
            production_problems(Role::Full, &config, strong),
            Vec::<String>::new()
        );
    }

    #[test]
    fn production_refuses_plain_http_to_blue_dart() {
        let config = production("http://apigateway.bluedart.com");
        assert_eq!(
            production_problems(Role::Full, &config, strong),
            ["BLUEDART_BASE_URL must be an https:// URL"]
        );
        // A loopback simulator is a local rehearsal: nothing leaves the machine.
        for local in [
            "http://127.0.0.1:8788",
            "http://localhost:8788/",
            "http://[::1]:8788",
        ] {
            assert!(
                production_problems(Role::Full, &production(local), strong).is_empty(),
                "{local}"
            );
        }
        assert!(!is_loopback("http://127.0.0.1.evil.example"));
        assert!(!is_loopback("http://localhost.evil.example:80"));
    }

    #[test]
    fn production_refuses_short_missing_and_example_secrets() {
        let config = production("https://apigateway.bluedart.com");
        let examples = example_secrets();
        let example = |name: &str| {
            examples
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        };
        let problems = production_problems(Role::Full, &config, example);
        assert_eq!(problems.len(), 8, "{problems:?}");
        assert!(problems[7].starts_with("BLUEDART_PUSH_TOKEN must be at least 32 bytes"));
        assert!(problems[0].starts_with("ADMIN_TOKEN must be at least 32 bytes"));
        assert_eq!(
            problems[3],
            "BLUEDART_CLIENT_ID is the value from .dev.vars.example"
        );
        let short = |name: &str| {
            if name == "TRACKING_LINK_SECRET" {
                "x".repeat(31)
            } else {
                strong(name)
            }
        };
        assert_eq!(
            production_problems(Role::Full, &config, short),
            ["TRACKING_LINK_SECRET must be at least 32 bytes (it has 31)"]
        );
        let missing = |name: &str| {
            if name == "BLUEDART_LICENCE_KEY" {
                String::new()
            } else {
                strong(name)
            }
        };
        assert_eq!(
            production_problems(Role::Full, &config, missing),
            ["BLUEDART_LICENCE_KEY is not set"]
        );
        // Problems name what is wrong, never the value.
        for problem in production_problems(Role::Full, &config, example) {
            assert!(!problem.contains("dev-"), "{problem}");
        }
    }

    #[test]
    fn outside_production_nothing_is_checked() {
        let config =
            Config::from_lookup(lookup(&[("BLUEDART_BASE_URL", "http://example.com")])).unwrap();
        assert!(production_problems(Role::Full, &config, |_| String::new()).is_empty());
    }
}
