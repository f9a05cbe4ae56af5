//! The one place the services are assembled: configuration and secrets read once per isolate,
//! the platform's implementations of the domain's ports for each invocation, and the request
//! handler that runs the HTTP contract over them.

use std::cell::RefCell;
use std::rc::Rc;

use bluedart::client::{Account, BlueDartClient, Gateway, TokenCache};
use tracking_api::push::PushSettings;
use tracking_api::reply::After;
use tracking_api::{Api, ApiSettings, Secrets};
use tracking_core::breaker::{BreakerMemory, GuardedCarrier};
use tracking_core::ports::Log;
use tracking_core::rules::budget::Spent;
use tracking_core::service::{Deferred, ServiceSettings, TrackingService};
use tracking_core::webhooks::service::Webhooks;
use worker::{Context, Env, web_sys};

use crate::bridge::{to_http, to_worker};
use crate::config::{Config, ConfigError, Environment, Role, production_problems};
use crate::d1::{D1Store, DB_BINDING};
use crate::fetch::WorkerFetch;
use crate::kv::WorkersKv;
use crate::queues::WorkerQueues;
use crate::runtime::{ConsoleLog, Counted, Trace, WorkerClock, WorkerRandom};

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
pub struct SetupError(pub(crate) String);

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What `[vars]` and secrets say, read once per isolate: they cannot change while it lives,
/// and reading ~40 bindings on every request is the hot path's largest fixed cost.
pub struct Settings {
    pub config: Rc<Config>,
    secrets: Rc<Secrets>,
    api: Rc<ApiSettings>,
    gateway: Rc<Gateway>,
    settings: Rc<ServiceSettings>,
}

thread_local! {
    static SETTINGS: RefCell<Option<Rc<Settings>>> = const { RefCell::new(None) };
    /// Blue Dart's login token as this isolate last saw it (KV is its fallback and shares it
    /// with other isolates): a refresh then reads no KV key for it.
    static TOKEN: Rc<TokenCache> = Rc::default();
    /// The circuit breaker's state as this isolate last saw it (D1 is the shared truth; see
    /// `tracking_core::breaker::MEMORY_MAX_AGE_SECS` for how stale it may be).
    static BREAKER: Rc<BreakerMemory> = Rc::default();
}

fn settings(env: &Env) -> Result<Rc<Settings>, SetupError> {
    if let Some(loaded) = SETTINGS.with(|l| l.borrow().clone()) {
        return Ok(loaded);
    }
    let config = config(env).map_err(|e| SetupError(e.to_string()))?;
    // Checked once: an isolate's bindings do not change, and requests look the binding up only
    // when they send a statement.
    env.d1(DB_BINDING)
        .map_err(|_| SetupError(format!("the D1 binding {DB_BINDING} is missing")))?;
    let problems = production_problems(Role::THIS, &config, |name| secret(env, name));
    if !problems.is_empty() {
        return Err(SetupError(format!(
            "production refuses to serve with unsafe settings: {}",
            problems.join("; ")
        )));
    }
    let loaded = Rc::new(Settings {
        api: Rc::new(ApiSettings {
            allowed_origins: config.allowed_origins.clone(),
            tokens: config.tokens.clone(),
            can_generate_waybills: config.can_generate_waybills(),
            push: Some(PushSettings {
                path: config.push.path.clone(),
                header: config.push.header.clone(),
                max_bytes: config.push.max_bytes,
                allowed_ips: config.push.allowed_ips.clone(),
                read: bluedart::push::read_push_text,
            }),
        }),
        settings: Rc::new(config.service.clone()),
        secrets: Rc::new(Secrets {
            admin_token: secret(env, "ADMIN_TOKEN"),
            customer_token_secret: secret(env, "CUSTOMER_TOKEN_SECRET"),
            tracking_link_secret: secret(env, "TRACKING_LINK_SECRET"),
            push_token: secret(env, "BLUEDART_PUSH_TOKEN"),
        }),
        gateway: Rc::new(Gateway {
            base_url: config.bluedart_base_url.clone(),
            account: Account {
                client_id: secret(env, "BLUEDART_CLIENT_ID"),
                client_secret: secret(env, "BLUEDART_CLIENT_SECRET"),
                login_id: secret(env, "BLUEDART_LOGIN_ID"),
                licence_key: secret(env, "BLUEDART_LICENCE_KEY"),
            },
            shipper: config.shipper.clone(),
            timeout_ms: config.bluedart_timeout_ms,
        }),
        config: Rc::new(config),
    });
    SETTINGS.with(|l| *l.borrow_mut() = Some(loaded.clone()));
    Ok(loaded)
}

/// Everything one invocation works with: the platform behind the domain's ports.
pub struct Invocation {
    pub config: Rc<Config>,
    secrets: Rc<Secrets>,
    api: Rc<ApiSettings>,
    store: D1Store,
    kv: Counted<WorkersKv>,
    http: Counted<WorkerFetch>,
    clock: WorkerClock,
    log: ConsoleLog,
    gateway: Rc<Gateway>,
    settings: Rc<ServiceSettings>,
    pub queues: Counted<WorkerQueues>,
    /// The round trips, timed in development only.
    trace: Rc<Trace>,
    /// KV writes a customer's refresh left for after the answer.
    deferred: Deferred,
}

type Client<'a> = BlueDartClient<'a, Counted<WorkerFetch>, Counted<WorkersKv>, WorkerClock>;
type Carrier<'a> = GuardedCarrier<'a, Client<'a>, D1Store, WorkerClock, ConsoleLog>;
type Service<'a> =
    TrackingService<'a, D1Store, Counted<WorkersKv>, Carrier<'a>, WorkerClock, ConsoleLog>;

impl Invocation {
    pub fn from_env(env: &Env) -> Result<Invocation, SetupError> {
        let loaded = settings(env)?;
        let kv = env
            .kv("TRACKING_KV")
            .map_err(|_| SetupError("the KV binding TRACKING_KV is missing".into()))?;
        let trace = Trace::new(loaded.config.environment == Environment::Development);
        let mut store = D1Store::new(env);
        store.trace = trace.clone();
        Ok(Invocation {
            config: loaded.config.clone(),
            secrets: loaded.secrets.clone(),
            api: loaded.api.clone(),
            gateway: loaded.gateway.clone(),
            settings: loaded.settings.clone(),
            store,
            kv: Counted::new(WorkersKv { kv }).traced(&trace),
            http: Counted::new(WorkerFetch {
                max_response_bytes: loaded.config.bluedart_max_response_bytes,
            })
            .traced(&trace),
            clock: WorkerClock,
            log: ConsoleLog,
            queues: Counted::new(WorkerQueues::new(env)),
            trace,
            deferred: Deferred::default(),
        })
    }

    /// Blue Dart behind the circuit breaker.
    pub fn carrier(&self) -> Carrier<'_> {
        let client = BlueDartClient::new(&self.http, &self.kv, &self.clock, self.gateway.clone())
            .with_token_cache(TOKEN.with(Rc::clone));
        GuardedCarrier::new(
            client,
            &self.store,
            &self.clock,
            &self.log,
            self.config.breaker,
        )
        .with_memory(BREAKER.with(Rc::clone))
    }

    /// What this invocation has spent so far against the platform's limits.
    pub fn spent(&self) -> Spent {
        Spent {
            subrequests: self.http.count(),
            d1_queries: self.store.queries(),
            kv_operations: self.kv.count(),
            queue_sends: self.queues.count(),
        }
    }

    /// The webhook services over this invocation's store.
    pub fn webhooks(&self) -> Webhooks<'_, D1Store, WorkerClock, ConsoleLog> {
        Webhooks {
            store: &self.store,
            clock: &self.clock,
            log: &self.log,
            settings: &self.settings.webhooks,
        }
    }

    /// Whether this invocation recorded webhook deliveries that wait for the queue.
    pub fn webhooks_waiting(&self) -> bool {
        self.store.webhooks_waiting.get()
    }

    pub fn service<'a>(&'a self, carrier: &'a Carrier<'a>) -> Service<'a> {
        TrackingService {
            store: &self.store,
            kv: &self.kv,
            carrier,
            clock: &self.clock,
            log: &self.log,
            settings: &self.settings,
            deferred: Some(&self.deferred),
        }
    }
}

/// Answers one request: the HTTP contract over this invocation's ports, and a background
/// refresh after the response when the contract asks for one.
pub async fn serve(req: web_sys::Request, env: Env, ctx: Context) -> web_sys::Response {
    // The request as the contract sees it, with its own method (worker's `Method` would take
    // an unknown one for GET), whether or not the worker is configured.
    let request = match to_http(req) {
        Ok(request) => request,
        Err(e) => {
            ConsoleLog.warn(&format!("[HTTP] unreadable request: {e}"));
            return to_worker(
                tracking_api::error::ApiError::bad_request(
                    "INVALID_REQUEST",
                    "The request could not be read",
                )
                .into_response(),
            );
        }
    };
    #[cfg(feature = "full")]
    let request = match crate::assets::contract(request, &env).await {
        Ok(answer) => return answer,
        Err(request) => request,
    };
    #[cfg(not(feature = "full"))]
    let request = match crate::front::hand_off(request, &env).await {
        Ok(answer) => return answer,
        Err(request) => request,
    };
    let invocation = match Invocation::from_env(&env) {
        Ok(invocation) => invocation,
        Err(e) => {
            worker::console_error!("[HTTP] not configured: {e}");
            return to_worker(tracking_api::unconfigured(
                request.method(),
                request.uri().path(),
            ));
        }
    };
    let carrier = invocation.carrier();
    let spent = || invocation.spent();
    let api = Api {
        service: invocation.service(&carrier),
        settings: &invocation.api,
        secrets: &invocation.secrets,
        spent: &spent,
        random: &WorkerRandom,
    };
    let mut reply = api.handle(request).await;
    let after = reply.after.take();
    if let Some(After::Push(messages)) = &after {
        // The answer says the push is safely accepted: only once it is on the queue.
        if let Err(e) = invocation.queues.inner().send_push(messages).await {
            invocation
                .log
                .warn(&format!("[TRACKING PUSH] Could not queue a push: {e}"));
            reply.response = tracking_api::error::ApiError::new(
                503,
                "PUSH_NOT_QUEUED",
                "The push could not be queued; send it again",
            )
            .into_response();
        }
    }
    let refresh = match after {
        Some(After::Refresh(order_id)) => Some(order_id),
        _ => None,
    };
    let dispatch = invocation.webhooks_waiting();
    let cache = invocation.deferred.take();
    if refresh.is_some() || dispatch || !cache.is_empty() {
        // Answer now; after the response write the KV copy a customer's refresh left, hand
        // the refresh to the refresh queue, where it is combined with others into batched
        // carrier calls, and the webhook deliveries this request recorded to their queue.
        ctx.wait_until(async move {
            let Ok(invocation) = Invocation::from_env(&env) else {
                return;
            };
            let carrier = invocation.carrier();
            if !cache.is_empty() {
                // The refreshed snapshot, saved in D1 before answering, now goes to KV.
                invocation.service(&carrier).cache_deferred(&cache).await;
            }
            if dispatch {
                invocation.webhooks().dispatch(&invocation.queues).await;
            }
            let Some(order_id) = refresh else {
                return;
            };
            if let Err(e) = invocation
                .service(&carrier)
                .enqueue_refresh(&order_id, &invocation.queues)
                .await
            {
                invocation.log.warn(&format!(
                    "[TRACKING SYNC] Could not queue the refresh of order {order_id}: {e}"
                ));
            }
        });
    }
    if let Some(timing) = invocation.trace.header()
        && let Ok(value) = http::HeaderValue::from_str(&timing)
    {
        reply.response.headers_mut().insert("server-timing", value);
    }
    to_worker(reply.response)
}
