//! A circuit breaker around the carrier, shared by all invocations through its stored state.
//!
//! After `threshold` failed calls in a row the breaker opens for `cooldown`: calls are not made
//! and fail at once with `CircuitOpen`, so customers get their cached answer immediately and a
//! sync stops instead of spending its budget. When the cool-down has passed, exactly one
//! invocation claims a trial call; its success closes the breaker, its failure opens it again.

use std::cell::RefCell;

use chrono::Duration;

use crate::carrier::{Carrier, CarrierError, TrackingReply, WaybillRequest};
use crate::ports::{BreakerState, CarrierHealth, Clock, Log};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Failed calls in a row that open the breaker.
    pub threshold: u32,
    pub cooldown: Duration,
}

pub struct GuardedCarrier<'a, C, H, T, L> {
    inner: C,
    health: &'a H,
    clock: &'a T,
    log: &'a L,
    settings: BreakerSettings,
    /// The state as this invocation last saw it: read once, then kept up to date by its own calls.
    state: RefCell<Option<BreakerState>>,
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
        }
    }

    async fn state(&self) -> BreakerState {
        if let Some(state) = self.state.borrow().clone() {
            return state;
        }
        // If the state cannot be read, fail open: calling Blue Dart beats refusing everyone.
        let state = self.health.breaker().await.unwrap_or_else(|e| {
            self.log
                .warn(&format!("[BREAKER] State unreadable, assuming closed: {e}"));
            BreakerState::default()
        });
        *self.state.borrow_mut() = Some(state.clone());
        state
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
                *self.state.borrow_mut() = Some(state);
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
                    *self.state.borrow_mut() = Some(BreakerState::default());
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
                *self.state.borrow_mut() = Some(after);
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
