//! Blue Dart shipment tracking at the edge: the Worker. The only crate that names `worker`.
//!
//! The domain (`tracking-core`), the Blue Dart adapter (`bluedart`) and the HTTP contract
//! (`tracking-api`) are plain Rust crates tested natively; this crate wires them to the
//! platform: D1, KV, Queues, `fetch`, the cron trigger, and the request/response bridge.

#[cfg(feature = "full")]
mod assets;
// Natively for `benches/runtime.rs` and `examples/sync_batch.rs`; in wasm only in the bench
// build.
#[cfg(any(feature = "bench-cpu", not(target_arch = "wasm32")))]
pub mod bench_cpu;
mod bridge;
pub mod config;
#[cfg(feature = "full")]
mod cron;
pub mod d1;
mod fetch;
#[cfg(not(feature = "full"))]
mod front;
mod kv;
mod queues;
mod runtime;
mod runtime_js;
#[cfg(feature = "store-contract")]
mod store_contract;
mod wiring;

use worker::{Context, Env, event, web_sys};
#[cfg(feature = "full")]
use worker::{MessageBatch, ScheduleContext, ScheduledEvent};

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// Takes and gives the runtime's own request and response (see `bridge`).
#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, ctx: Context) -> worker::Result<web_sys::Response> {
    #[cfg(feature = "bench-cpu")]
    if let Some(answer) = bench_cpu::serve(&mut worker::Request::from(Clone::clone(&req))).await {
        return answer.map(Into::into);
    }
    #[cfg(feature = "store-contract")]
    if let Some(answer) =
        store_contract::serve(&worker::Request::from(Clone::clone(&req)), &env).await
    {
        return answer.map(Into::into);
    }
    Ok(wiring::serve(req, env, ctx).await)
}

#[cfg(feature = "full")]
#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    cron::run(&event, &env).await;
}

#[cfg(feature = "full")]
#[event(queue)]
async fn queue(
    batch: MessageBatch<wasm_bindgen::JsValue>,
    env: Env,
    _ctx: Context,
) -> worker::Result<()> {
    cron::consume(batch, &env).await
}
