//! The Workers side: entry points, routes, and the bindings (D1, KV, fetch) behind the domain's
//! traits.

mod cron;
mod d1;
mod fetch;
mod http;
mod kv;
mod runtime;

use std::cell::RefCell;
use std::rc::Rc;

use worker::{Context, Env, Request, Response, ScheduleContext, ScheduledEvent, event};

use crate::config::{Config, ConfigError, production_problems};
use bluedart::client::{Account, BlueDartClient, Gateway};
use d1::D1Store;
use fetch::WorkerFetch;
use kv::WorkersKv;
use runtime::{ConsoleLog, Counted, WorkerClock};
use tracking_core::breaker::GuardedCarrier;
use tracking_core::ports::Store;
use tracking_core::rules::budget::Spent;
use tracking_core::service::{ServiceSettings, TrackingService};

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    Ok(http::handle(req, env, ctx).await)
}

#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    cron::run(&event, &env).await;
}

/// The configuration from the environment's `[vars]`.
fn config(env: &Env) -> Result<Config, ConfigError> {
    Config::from_lookup(|name| env.var(name).ok().map(|v| v.to_string()))
}

/// A secret, or empty when it is not set (whatever needs it then refuses).
fn secret(env: &Env, name: &str) -> String {
    env.secret(name).map(|s| s.to_string()).unwrap_or_default()
}

/// Why the worker cannot serve: a missing binding, a bad `[vars]` entry, or settings production
/// refuses. The text names the binding or variable, never a secret's value; it is for the log
/// only — callers get a generic answer.
#[derive(Debug)]
pub struct SetupError(String);

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Secrets the HTTP layer checks credentials against.
pub struct Secrets {
    pub admin_token: String,
    pub customer_token_secret: String,
    pub tracking_link_secret: String,
}

/// What `[vars]` and secrets say, read once per isolate: they cannot change while it lives,
/// and reading ~40 bindings on every request is the hot path's largest fixed cost.
pub(super) struct Loaded {
    pub(super) config: Rc<Config>,
    secrets: Rc<Secrets>,
    account: Rc<Account>,
    settings: Rc<ServiceSettings>,
}

thread_local! {
    static LOADED: RefCell<Option<Rc<Loaded>>> = const { RefCell::new(None) };
}

pub(super) fn loaded(env: &Env) -> Result<Rc<Loaded>, SetupError> {
    if let Some(loaded) = LOADED.with(|l| l.borrow().clone()) {
        return Ok(loaded);
    }
    let config = config(env).map_err(|e| SetupError(e.to_string()))?;
    let problems = production_problems(&config, |name| secret(env, name));
    if !problems.is_empty() {
        return Err(SetupError(format!(
            "production refuses to serve with unsafe settings: {}",
            problems.join("; ")
        )));
    }
    let loaded = Rc::new(Loaded {
        settings: Rc::new(ServiceSettings {
            stale_after: config.schedule.moving,
            raw_max_bytes: config.carrier_response_max_bytes,
            refresh_interval: config.refresh_interval,
            cache_ttl_secs: config.cache_ttl_secs,
            schedule: config.schedule.clone(),
        }),
        config: Rc::new(config),
        secrets: Rc::new(Secrets {
            admin_token: secret(env, "ADMIN_TOKEN"),
            customer_token_secret: secret(env, "CUSTOMER_TOKEN_SECRET"),
            tracking_link_secret: secret(env, "TRACKING_LINK_SECRET"),
        }),
        account: Rc::new(Account {
            client_id: secret(env, "BLUEDART_CLIENT_ID"),
            client_secret: secret(env, "BLUEDART_CLIENT_SECRET"),
            login_id: secret(env, "BLUEDART_LOGIN_ID"),
            licence_key: secret(env, "BLUEDART_LICENCE_KEY"),
        }),
    });
    LOADED.with(|l| *l.borrow_mut() = Some(loaded.clone()));
    Ok(loaded)
}

/// Everything one invocation works with.
pub struct Bindings {
    pub config: Rc<Config>,
    pub secrets: Rc<Secrets>,
    store: D1Store,
    kv: Counted<WorkersKv>,
    http: Counted<WorkerFetch>,
    clock: WorkerClock,
    log: ConsoleLog,
    account: Rc<Account>,
    settings: Rc<ServiceSettings>,
}

type Client<'a> = BlueDartClient<'a, Counted<WorkerFetch>, Counted<WorkersKv>, WorkerClock>;
type Carrier<'a> = GuardedCarrier<'a, Client<'a>, D1Store, WorkerClock, ConsoleLog>;
type Service<'a> =
    TrackingService<'a, D1Store, Counted<WorkersKv>, Carrier<'a>, WorkerClock, ConsoleLog>;

impl Bindings {
    pub fn from_env(env: &Env) -> Result<Bindings, SetupError> {
        let loaded = loaded(env)?;
        let db = env
            .d1("DB")
            .map_err(|_| SetupError("the D1 binding DB is missing".into()))?;
        let kv = env
            .kv("TRACKING_KV")
            .map_err(|_| SetupError("the KV binding TRACKING_KV is missing".into()))?;
        Ok(Bindings {
            config: loaded.config.clone(),
            secrets: loaded.secrets.clone(),
            account: loaded.account.clone(),
            settings: loaded.settings.clone(),
            store: D1Store::new(db),
            kv: Counted::new(WorkersKv { kv }),
            http: Counted::new(WorkerFetch {
                max_response_bytes: loaded.config.bluedart_max_response_bytes,
            }),
            clock: WorkerClock,
            log: ConsoleLog,
        })
    }

    /// Blue Dart behind the circuit breaker.
    pub fn carrier(&self) -> Carrier<'_> {
        let client = BlueDartClient::new(
            &self.http,
            &self.kv,
            &self.clock,
            Gateway {
                base_url: self.config.bluedart_base_url.clone(),
                account: (*self.account).clone(),
                shipper: self.config.shipper.clone(),
                timeout_ms: self.config.bluedart_timeout_ms,
            },
        );
        GuardedCarrier::new(
            client,
            &self.store,
            &self.clock,
            &self.log,
            self.config.breaker,
        )
    }

    /// What this invocation has spent so far against the platform's limits.
    pub fn spent(&self) -> Spent {
        Spent {
            subrequests: self.http.count(),
            d1_queries: self.store.queries(),
            kv_operations: self.kv.count(),
        }
    }

    pub fn service<'a>(&'a self, carrier: &'a Carrier<'a>) -> Service<'a> {
        TrackingService {
            store: &self.store,
            kv: &self.kv,
            carrier,
            clock: &self.clock,
            log: &self.log,
            settings: &self.settings,
        }
    }

    pub fn clock(&self) -> &WorkerClock {
        &self.clock
    }

    pub fn log(&self) -> &ConsoleLog {
        &self.log
    }
}
