//! The hourly cron trigger.

use worker::{Env, ScheduledEvent, console_error, console_log};

use crate::config::Environment;
use crate::runtime::{WorkerRandom, WorkerSleeper};
use crate::wiring::Invocation;
use tracking_core::runs::Trigger;

/// Runs the tracking sync in production; elsewhere says that it skipped. Never panics: a
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
        .sync_due(
            &config.sync,
            &WorkerSleeper,
            &WorkerRandom,
            Trigger::Cron,
            || bindings.spent(),
        )
        .await;
}
