//! Time and logging on Workers.

use chrono::{DateTime, Utc};
use worker::{Date, console_log, console_warn};

use crate::ports::{Clock, Log};

/// `Date.now()`, to whole seconds: every stored time is second-precision text.
pub struct WorkerClock;

impl Clock for WorkerClock {
    fn now(&self) -> DateTime<Utc> {
        let secs = (Date::now().as_millis() / 1000) as i64;
        DateTime::from_timestamp(secs, 0).expect("the clock is within chrono's range")
    }
}

/// Log lines to the Workers console (`wrangler tail`, the dashboard, `wrangler dev` output).
pub struct ConsoleLog;

impl Log for ConsoleLog {
    fn info(&self, line: &str) {
        console_log!("{line}");
    }

    fn warn(&self, line: &str) {
        console_warn!("{line}");
    }
}
