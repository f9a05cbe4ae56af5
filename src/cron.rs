//! The hourly cron trigger (the sync's producer) and the sync queues' consumer.

use worker::{Env, MessageBatch, ScheduledEvent, console_error, console_log};

use crate::config::Environment;
use crate::queues::{REFRESH_QUEUE_NAME, apply};
use crate::runtime::{WorkerRandom, WorkerSleeper};
use crate::wiring::Invocation;
use tracking_core::queue::{Lane, SyncMessage};

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
}

/// Syncs the shipments of a batch of messages (from the sync or the refresh queue). An error
/// hands the whole batch back to the platform, which retries it and in the end dead-letters it.
pub async fn consume(batch: MessageBatch<SyncMessage>, env: &Env) -> worker::Result<()> {
    let bindings = Invocation::from_env(env).map_err(|e| {
        console_error!("[TRACKING SYNC] Consumer not started: {e}");
        worker::Error::RustError(format!("not configured: {e}"))
    })?;
    let lane = if batch.queue() == REFRESH_QUEUE_NAME {
        Lane::Refresh
    } else {
        Lane::Sync
    };
    let messages = batch.messages()?;
    let bodies: Vec<SyncMessage> = messages.iter().map(|m| m.body().clone()).collect();
    let carrier = bindings.carrier();
    let verdicts = bindings
        .service(&carrier)
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
    for (message, verdict) in messages.iter().zip(verdicts) {
        apply(message, verdict);
    }
    Ok(())
}
