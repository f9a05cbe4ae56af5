//! The hourly cron trigger (the sync's producer) and the queues' consumer (sync, refresh, push,
//! webhook deliveries).

use std::time::Duration;

use serde::de::DeserializeOwned;
use worker::wasm_bindgen::JsValue;
use worker::{
    Delay, Env, MessageBatch, MessageExt, QueueRetryOptionsBuilder, RawMessage, ScheduledEvent,
    console_error, console_log,
};

use crate::config::Environment;
use crate::fetch::WorkerFetch;
use crate::runtime::WorkerRandom;
use crate::wiring::Invocation;
use tracking_core::ports::Sleeper;
use tracking_core::push::PushMessage;
use tracking_core::queue::{Lane, SyncMessage, Verdict};
use tracking_core::webhooks::DeliveryMessage;

/// The push queue's name (`wrangler.toml`, both environments): how the one queue handler
/// tells its batches apart.
const PUSH_QUEUE_NAME: &str = "shipment-push";

/// The webhook queue's name (`wrangler.toml`, both environments).
const WEBHOOK_QUEUE_NAME: &str = "webhook-deliveries";

/// The refresh queue's name (wrangler.toml, both environments): its messages are handed back
/// to it, not to the sync queue.
const REFRESH_QUEUE_NAME: &str = "shipment-refresh";

/// The sync's pause between Blue Dart calls.
struct WorkerSleeper;

impl Sleeper for WorkerSleeper {
    async fn sleep(&self, ms: u64) {
        Delay::from(Duration::from_millis(ms)).await;
    }
}

/// Applies the consumer's verdict to a delivered message.
fn apply(message: &impl MessageExt, verdict: Verdict) {
    match verdict {
        Verdict::Ack => message.ack(),
        Verdict::Retry { delay_secs } => message.retry_with_options(
            &QueueRetryOptionsBuilder::new()
                .with_delay_seconds(delay_secs)
                .build(),
        ),
    }
}

/// The most of an endpoint's answer to a webhook read: only its status matters.
const WEBHOOK_MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Sends the due shipments to the sync queue in production; elsewhere says that it skipped. Never panics: a
/// scheduled handler has nobody to return an error to, so every error is logged.
pub async fn run(event: &ScheduledEvent, env: &Env) {
    let bindings = match Invocation::from_env(env) {
        Ok(bindings) => bindings,
        Err(e) => {
            console_error!("[TRACKING SYNC] Not started: {e}");
            return;
        }
    };
    let config = &bindings.config;
    if config.environment != Environment::Production {
        console_log!(
            "[TRACKING SYNC] Skipped: ENVIRONMENT is {} (cron {}); the sync runs in production only",
            config.environment,
            event.cron()
        );
        return;
    }
    let carrier = bindings.carrier();
    bindings
        .service(&carrier)
        .enqueue_due(&config.sync, &bindings.queues, || bindings.spent())
        .await;
    // Webhook deliveries whose queue send failed earlier go now.
    bindings.webhooks().dispatch(&bindings.queues).await;
}

/// The one queue handler: a batch from the push queue is merged as pushed updates; any other
/// (the sync and refresh queues) is synced. Bodies are read per message, so that one that
/// cannot be read is logged and dropped instead of failing its whole batch for ever. An error
/// hands the whole batch back to the platform, which retries it and in the end dead-letters it.
pub async fn consume(batch: MessageBatch<JsValue>, env: &Env) -> worker::Result<()> {
    let bindings = Invocation::from_env(env).map_err(|e| {
        console_error!("[TRACKING SYNC] Consumer not started: {e}");
        worker::Error::RustError(format!("not configured: {e}"))
    })?;
    let lane = if batch.queue() == REFRESH_QUEUE_NAME {
        Lane::Refresh
    } else {
        Lane::Sync
    };
    let messages: Vec<RawMessage> = batch.raw_iter().collect();
    let carrier = bindings.carrier();
    let service = bindings.service(&carrier);
    let (readable, verdicts) = if batch.queue() == PUSH_QUEUE_NAME {
        let (readable, mut bodies) = read_bodies::<PushMessage>(&messages);
        // The queue's id is the same on every delivery: a redelivery's counts are not added.
        for (message, body) in readable.iter().zip(&mut bodies) {
            body.delivery_id = message.id();
        }
        (readable, service.consume_push(&bodies).await)
    } else if batch.queue() == WEBHOOK_QUEUE_NAME {
        let (readable, bodies) = read_bodies::<DeliveryMessage>(&messages);
        let http = WorkerFetch {
            max_response_bytes: WEBHOOK_MAX_RESPONSE_BYTES,
        };
        let verdicts = bindings
            .webhooks()
            .deliver(&bodies, &http, &WorkerRandom, &bindings.queues)
            .await;
        (readable, verdicts)
    } else {
        let (readable, bodies) = read_bodies::<SyncMessage>(&messages);
        let verdicts = service
            .consume(
                lane,
                &bodies,
                &bindings.config.sync,
                &WorkerSleeper,
                &WorkerRandom,
                &bindings.queues,
                || bindings.spent(),
            )
            .await;
        (readable, verdicts)
    };
    for (message, verdict) in readable.into_iter().zip(verdicts) {
        apply(message, verdict);
    }
    // Status changes this batch made, for the webhooks.
    if bindings.webhooks_waiting() {
        bindings.webhooks().dispatch(&bindings.queues).await;
    }
    Ok(())
}

/// The messages whose bodies read as `T`, and those bodies; the others are acknowledged (a
/// retry would fail the same way) and logged. Read straight from the JavaScript value, not
/// through a `serde_json::Value`, whose deserializer was instantiated for each body type (with
/// the enum names once read the same way, about 7 KB of the wasm, gzip).
fn read_bodies<T: DeserializeOwned>(messages: &[RawMessage]) -> (Vec<&RawMessage>, Vec<T>) {
    let mut readable = Vec::with_capacity(messages.len());
    let mut bodies = Vec::with_capacity(messages.len());
    for message in messages {
        match serde_wasm_bindgen::from_value::<T>(message.body()) {
            Ok(body) => {
                readable.push(message);
                bodies.push(body);
            }
            Err(e) => {
                console_error!(
                    "[QUEUE] Dropped an unreadable message {}: {e}",
                    message.id()
                );
                message.ack();
            }
        }
    }
    (readable, bodies)
}
