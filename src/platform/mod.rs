//! The Workers side: entry points, routes, and the bindings (D1, KV, fetch) behind the domain's
//! traits.

mod cron;
mod http;

use worker::{Context, Env, Request, Response, ScheduleContext, ScheduledEvent, event};

use crate::config::{Config, ConfigError};

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    Ok(http::handle(req, &env).await)
}

#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    cron::run(&event, &env).await;
}

/// The configuration from the environment's `[vars]`.
fn config(env: &Env) -> Result<Config, ConfigError> {
    Config::from_lookup(|name| env.var(name).ok().map(|v| v.to_string()))
}
