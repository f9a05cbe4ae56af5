//! A circuit breaker around the carrier, shared by all invocations through its stored state.
//!
//! After `threshold` failed calls in a row the breaker opens for `cooldown`: calls are not made
//! and fail at once with `CircuitOpen`, so customers get their cached answer immediately and a
//! sync stops instead of spending its budget. When the cool-down has passed, exactly one
//! invocation claims a trial call; its success closes the breaker, its failure opens it again.
//!
//! D1 holds the shared truth. An isolate may keep the state it last saw in [`BreakerMemory`]
//! for [`MEMORY_MAX_AGE_SECS`]: a refresh then reads no D1 row for it. Every failure is still
//! recorded in D1 (and D1's answer is what this isolate then remembers), a trial is still
//! claimed in D1, and a healthy success still writes nothing. The cost is bounded staleness:
//! a circuit another isolate opened is noticed here at most [`MEMORY_MAX_AGE_SECS`] later.

use std::cell::RefCell;
use std::rc::Rc;

use chrono::{DateTime, Duration, Utc};

use crate::carrier::{Carrier, CarrierError, TrackingReply, WaybillRequest};
use crate::ports::{BreakerState, CarrierHealth, Clock, Log};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Failed calls in a row that open the breaker.
    pub threshold: u32,
    pub cooldown: Duration,
}

/// How long an isolate trusts the breaker state it last saw before reading D1 again: the
/// longest another isolate's open circuit can go unnoticed here.
pub const MEMORY_MAX_AGE_SECS: i64 = 5;

/// The breaker state an isolate last saw, and when (kept across invocations in isolate memory).
#[derive(Debug, Default)]
pub struct BreakerMemory(RefCell<Option<(BreakerState, DateTime<Utc>)>>);

impl BreakerMemory {
    /// The remembered state, if it was seen within [`MEMORY_MAX_AGE_SECS`] of `now`.
    fn recent(&self, now: DateTime<Utc>) -> Option<BreakerState> {
        self.0
            .borrow()
            .as_ref()
            .filter(|(_, seen)| {
                now >= *seen && now - *seen < Duration::seconds(MEMORY_MAX_AGE_SECS)
            })
            .map(|(state, _)| state.clone())
    }

    fn remember(&self, state: &BreakerState, now: DateTime<Utc>) {
        *self.0.borrow_mut() = Some((state.clone(), now));
    }
}

pub struct GuardedCarrier<'a, C, H, T, L> {
    inner: C,
    health: &'a H,
    clock: &'a T,
    log: &'a L,
    settings: BreakerSettings,
    /// The state as this invocation last saw it: read once, then kept up to date by its own calls.
    state: RefCell<Option<BreakerState>>,
    /// The isolate's memory of the state, shared by its invocations.
    memory: Rc<BreakerMemory>,
}

impl<'a, C: Carrier, H: CarrierHealth, T: Clock, L: Log> GuardedCarrier<'a, C, H, T, L> {
    pub fn new(
        inner: C,
        health: &'a H,
        clock: &'a T,
        log: &'a L,
        settings: BreakerSettings,
    ) -> Self {
        GuardedCarrier {
            inner,
            health,
            clock,
            log,
            settings,
            state: RefCell::new(None),
            memory: Rc::default(),
        }
    }

    /// Shares the isolate's memory of the state: within [`MEMORY_MAX_AGE_SECS`] of the last
    /// look, no D1 read.
    pub fn with_memory(mut self, memory: Rc<BreakerMemory>) -> Self {
        self.memory = memory;
        self
    }

    /// Keeps `state` as this invocation's view and the isolate's memory.
    fn keep(&self, state: BreakerState) {
        self.memory.remember(&state, self.clock.now());
        *self.state.borrow_mut() = Some(state);
    }

    async fn state(&self) -> BreakerState {
        if let Some(state) = self.state.borrow().clone() {
            return state;
        }
        if let Some(state) = self.memory.recent(self.clock.now()) {
            *self.state.borrow_mut() = Some(state.clone());
            return state;
        }
        match self.health.breaker().await {
            Ok(state) => {
                self.keep(state.clone());
                state
            }
            // Fail open: calling Blue Dart beats refusing everyone. Not remembered for the
            // isolate: the next invocation reads D1 again.
            Err(e) => {
                self.log
                    .warn(&format!("[BREAKER] State unreadable, assuming closed: {e}"));
                *self.state.borrow_mut() = Some(BreakerState::default());
                BreakerState::default()
            }
        }
    }

    /// Lets a call through, or says for how long the breaker stays open.
    async fn admit(&self) -> Result<(), CarrierError> {
        let mut state = self.state().await;
        let now = self.clock.now();
        let Some(open_until) = state.open_until else {
            return Ok(());
        };
        if open_until > now {
            return Err(CarrierError::CircuitOpen {
                retry_after_secs: (open_until - now).num_seconds().max(1) as u64,
            });
        }
        // Cool-down over: one trial, for whoever claims it first.
        let until = now + self.settings.cooldown;
        match self.health.claim_trial(now, until).await {
            Ok(true) => {
                state.open_until = Some(until);
                self.keep(state);
                self.log
                    .info("[BREAKER] Trying Blue Dart again after the cool-down");
                Ok(())
            }
            Ok(false) => Err(CarrierError::CircuitOpen {
                retry_after_secs: self.settings.cooldown.num_seconds().max(1) as u64,
            }),
            Err(e) => {
                self.log
                    .warn(&format!("[BREAKER] Could not claim a trial call: {e}"));
                Err(CarrierError::CircuitOpen {
                    retry_after_secs: self.settings.cooldown.num_seconds().max(1) as u64,
                })
            }
        }
    }

    async fn record<R>(&self, result: &Result<R, CarrierError>) {
        let state = self.state().await;
        match result {
            Ok(_) => {
                if state.failures > 0 || state.open_until.is_some() {
                    if let Err(e) = self.health.record_success().await {
                        self.log
                            .warn(&format!("[BREAKER] Could not record a success: {e}"));
                    }
                    if state.open_until.is_some() {
                        self.log
                            .info("[BREAKER] Blue Dart answered; circuit closed");
                    }
                    self.keep(BreakerState::default());
                }
            }
            Err(error) if error.counts_against_carrier() => {
                let now = self.clock.now();
                let open_until = now + self.settings.cooldown;
                let recorded = self
                    .health
                    .record_failure(self.settings.threshold, open_until, &error.to_string(), now)
                    .await;
                let after = recorded.unwrap_or_else(|e| {
                    self.log
                        .warn(&format!("[BREAKER] Could not record a failure: {e}"));
                    BreakerState {
                        failures: state.failures + 1,
                        open_until: (state.failures + 1 >= self.settings.threshold)
                            .then_some(open_until),
                    }
                });
                if after.open_until.is_some() && after.open_until != state.open_until {
                    self.log.warn(&format!(
                        "[BREAKER] Circuit open for {} s after {} failed calls in a row: {error}",
                        self.settings.cooldown.num_seconds(),
                        after.failures
                    ));
                }
                self.keep(after);
            }
            Err(_) => {}
        }
    }
}

impl<C: Carrier, H: CarrierHealth, T: Clock, L: Log> Carrier for GuardedCarrier<'_, C, H, T, L> {
    async fn track(&self, awbs: &[String]) -> Result<TrackingReply, CarrierError> {
        self.admit().await?;
        let result = self.inner.track(awbs).await;
        self.record(&result).await;
        result
    }

    async fn generate_waybill(&self, request: &WaybillRequest) -> Result<String, CarrierError> {
        self.admit().await?;
        let result = self.inner.generate_waybill(request).await;
        self.record(&result).await;
        result
    }
}
