//! `carrier_health`: the circuit breaker's state, shared by every invocation.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tracking_core::ports::{BreakerState, CarrierHealth, StoreError};

use super::{D1Store, changes, parse_time, text, time};
use wasm_bindgen::JsValue;

/// The breaker's row for Blue Dart.
const CARRIER: &str = "bluedart";

#[derive(Deserialize)]
struct HealthRow {
    failures: f64,
    open_until: Option<String>,
}

impl HealthRow {
    fn into_state(self) -> Result<BreakerState, StoreError> {
        Ok(BreakerState {
            failures: self.failures as u32,
            open_until: self.open_until.as_deref().map(parse_time).transpose()?,
        })
    }
}

impl CarrierHealth for D1Store {
    async fn breaker(&self) -> Result<BreakerState, StoreError> {
        let rows: Vec<HealthRow> = self
            .rows(
                "SELECT failures, open_until FROM carrier_health WHERE carrier = ?1",
                &[text(CARRIER)],
            )
            .await?;
        match rows.into_iter().next() {
            Some(row) => row.into_state(),
            None => Ok(BreakerState::default()),
        }
    }

    async fn claim_trial(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let claimed = self
            .all(self.statement(
                "UPDATE carrier_health SET open_until = ?1 WHERE carrier = ?2 AND open_until <= ?3",
                &[time(until), text(CARRIER), time(now)],
            )?)
            .await?;
        Ok(changes(&claimed) == 1)
    }

    async fn record_failure(
        &self,
        threshold: u32,
        open_until: DateTime<Utc>,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<BreakerState, StoreError> {
        let rows: Vec<HealthRow> = self
            .rows(
                "INSERT INTO carrier_health (carrier, failures, open_until, last_error, last_failure_at) \
                 VALUES (?1, 1, CASE WHEN ?2 <= 1 THEN ?3 END, ?4, ?5) \
                 ON CONFLICT (carrier) DO UPDATE SET failures = carrier_health.failures + 1, \
                   open_until = CASE WHEN carrier_health.failures + 1 >= ?2 THEN ?3 \
                                     ELSE carrier_health.open_until END, \
                   last_error = ?4, last_failure_at = ?5 \
                 RETURNING failures, open_until",
                &[
                    text(CARRIER),
                    JsValue::from_f64(f64::from(threshold)),
                    time(open_until),
                    text(error),
                    time(now),
                ],
            )
            .await?;
        rows.into_iter()
            .next()
            .ok_or_else(|| StoreError("no breaker state returned".into()))?
            .into_state()
    }

    async fn record_success(&self) -> Result<(), StoreError> {
        self.all(self.statement(
            "UPDATE carrier_health SET failures = 0, open_until = NULL WHERE carrier = ?1",
            &[text(CARRIER)],
        )?)
        .await?;
        Ok(())
    }
}
