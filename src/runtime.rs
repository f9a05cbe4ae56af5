//! Time, sleeping, logging and metering on Workers.

use std::cell::{Cell, RefCell};
use std::fmt::Write;
use std::future::Future;
use std::rc::Rc;

use chrono::{DateTime, Utc};
use worker::{Date, console_log, console_warn};

use tracking_core::ports::{
    Clock, HttpClient, HttpError, HttpRequest, HttpResponse, KeyValue, Log, Random, StoreError,
};
use tracking_core::queue::{Lane, MAX_MESSAGES_PER_SEND, SyncMessage, SyncQueues};
use tracking_core::webhooks::{DeliveryMessage, WebhookQueue};

/// `Date.now()`, to whole seconds: every stored time is second-precision text.
pub struct WorkerClock;

impl Clock for WorkerClock {
    fn now(&self) -> DateTime<Utc> {
        let secs = (Date::now().as_millis() / 1000) as i64;
        DateTime::from_timestamp(secs, 0).expect("the clock is within chrono's range")
    }
}

/// `crypto.getRandomValues`, through getrandom.
pub struct WorkerRandom;

impl Random for WorkerRandom {
    fn next_u64(&self) -> u64 {
        // Jitter only: should the source fail, no jitter is a fine answer.
        getrandom::u64().unwrap_or(0)
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

/// The round trips of one invocation, in the order they finished, with when each started
/// (ms after the invocation began) and its wall time: development answers carry them as a
/// `Server-Timing` header for the benchmarks to read, which shows what overlapped. Off (and
/// free) in production, whose answers never carry it.
#[derive(Default)]
pub struct Trace {
    on: bool,
    origin: u64,
    spans: RefCell<Vec<(&'static str, u64, u64)>>,
}

impl Trace {
    pub fn new(on: bool) -> Rc<Trace> {
        Rc::new(Trace {
            on,
            origin: if on { Date::now().as_millis() } else { 0 },
            spans: RefCell::default(),
        })
    }

    /// Runs `work`, noting its start and wall time under `name` when tracing.
    pub async fn time<F: Future>(&self, name: &'static str, work: F) -> F::Output {
        if !self.on {
            return work.await;
        }
        let start = Date::now().as_millis();
        let output = work.await;
        let took = Date::now().as_millis().saturating_sub(start);
        let at = start.saturating_sub(self.origin);
        self.spans.borrow_mut().push((name, at, took));
        output
    }

    /// The `Server-Timing` value (`kv-get;dur=1;desc="+0", d1;dur=4;desc="+1", ...`), or none
    /// when not tracing.
    pub fn header(&self) -> Option<String> {
        self.on.then(|| {
            let mut value = String::new();
            for (name, at, took) in self.spans.borrow().iter() {
                let sep = if value.is_empty() { "" } else { ", " };
                let _ = write!(value, "{sep}{name};dur={took};desc=\"+{at}\"");
            }
            value
        })
    }
}

/// Counts the operations sent through it: what an invocation spends against its limits; and
/// times them into the invocation's trace.
pub struct Counted<T> {
    inner: T,
    count: Cell<usize>,
    trace: Rc<Trace>,
}

impl<T> Counted<T> {
    pub fn new(inner: T) -> Counted<T> {
        Counted {
            inner,
            count: Cell::new(0),
            trace: Rc::default(),
        }
    }

    /// Times the operations into `trace`.
    pub fn traced(mut self, trace: &Rc<Trace>) -> Counted<T> {
        self.trace = trace.clone();
        self
    }

    pub fn count(&self) -> usize {
        self.count.get()
    }

    /// The implementation itself, for what no port covers (counted by the caller, if at all).
    pub fn inner(&self) -> &T {
        &self.inner
    }

    fn tick(&self) {
        self.count.set(self.count.get() + 1);
    }
}

impl<H: HttpClient> HttpClient for Counted<H> {
    async fn send(&self, request: HttpRequest, timeout_ms: u64) -> Result<HttpResponse, HttpError> {
        self.tick();
        self.trace
            .time("fetch", self.inner.send(request, timeout_ms))
            .await
    }
}

impl<K: KeyValue> KeyValue for Counted<K> {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.tick();
        self.trace.time("kv-get", self.inner.get(key)).await
    }

    async fn put(&self, key: &str, value: &str, ttl_secs: Option<u64>) -> Result<(), StoreError> {
        self.tick();
        self.trace
            .time("kv-put", self.inner.put(key, value, ttl_secs))
            .await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.tick();
        self.inner.delete(key).await
    }
}

impl<T> Counted<T> {
    /// One send call per hundred messages, as the platform counts them.
    fn tick_sends(&self, messages: usize) {
        for _ in 0..messages.div_ceil(MAX_MESSAGES_PER_SEND) {
            self.tick();
        }
    }
}

impl<Q: SyncQueues> SyncQueues for Counted<Q> {
    async fn send(
        &self,
        lane: Lane,
        messages: &[SyncMessage],
        delay_secs: u32,
    ) -> Result<(), StoreError> {
        self.tick_sends(messages.len());
        self.inner.send(lane, messages, delay_secs).await
    }
}

impl<Q: WebhookQueue> WebhookQueue for Counted<Q> {
    async fn send(&self, messages: &[DeliveryMessage], delay_secs: u32) -> Result<(), StoreError> {
        self.tick_sends(messages.len());
        self.inner.send(messages, delay_secs).await
    }
}
