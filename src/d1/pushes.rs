//! `push_counts` and `push_unmatched`: what is kept of Blue Dart's pushes; `push_deliveries`:
//! which queue messages were counted.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tracking_core::ports::{PushLog, StoreError, push_deliveries_forgotten_before};
use tracking_core::push::{PushCounts, PushStats, UnmatchedPush};
use wasm_bindgen::JsValue;

use super::{D1Store, ids_json, number, parse_time, time};

/// Adds to the totals (`?1`…`?7` in `PushCounts`' order) unless the delivery `?8` was counted
/// already. SQLite reads the old values on the right of SET, so concurrent consumers add up.
const ADD_COUNTS: &str = "UPDATE push_counts SET pushes = pushes + ?1, items = items + ?2, \
    accepted = accepted + ?3, rejected = rejected + ?4, unmatched = unmatched + ?5, \
    status_changes_push = status_changes_push + ?6, status_changes_poll = status_changes_poll + ?7 \
    WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM push_deliveries WHERE delivery_id = ?8)";

/// Notes unmatched waybills (`?1` a JSON array) as seen at `?2`, unless the delivery `?3` was
/// counted already.
const NOTE_UNMATCHED: &str = "INSERT INTO push_unmatched (awb_no, first_seen_at, last_seen_at, times) \
    SELECT value, ?2, ?2, 1 FROM json_each(?1) \
    WHERE NOT EXISTS (SELECT 1 FROM push_deliveries WHERE delivery_id = ?3) \
    ON CONFLICT (awb_no) DO UPDATE SET last_seen_at = excluded.last_seen_at, times = times + 1";

/// Marks the delivery `?1` counted at `?2`: last in the batch, after the statements it guards.
const REMEMBER_DELIVERY: &str =
    "INSERT OR IGNORE INTO push_deliveries (delivery_id, recorded_at) VALUES (?1, ?2)";

/// Forgets deliveries counted before `?1`.
const FORGET_DELIVERIES: &str = "DELETE FROM push_deliveries WHERE recorded_at < ?1";

#[derive(Deserialize)]
struct CountsRow {
    pushes: f64,
    items: f64,
    accepted: f64,
    rejected: f64,
    unmatched: f64,
    status_changes_push: f64,
    status_changes_poll: f64,
}

#[derive(Deserialize)]
struct UnmatchedRow {
    awb_no: String,
    first_seen_at: String,
    last_seen_at: String,
    times: f64,
}

fn count(n: u64) -> JsValue {
    number(n as usize)
}

impl PushLog for D1Store {
    async fn record_push(
        &self,
        delivery_id: &str,
        counts: &PushCounts,
        unmatched: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let delivery = JsValue::from_str(delivery_id);
        let mut statements = vec![self.statement(
            ADD_COUNTS,
            &[
                count(counts.pushes),
                count(counts.items),
                count(counts.accepted),
                count(counts.rejected),
                count(counts.unmatched),
                count(counts.status_changes_push),
                count(counts.status_changes_poll),
                delivery.clone(),
            ],
        )?];
        if !unmatched.is_empty() {
            statements.push(self.statement(
                NOTE_UNMATCHED,
                &[ids_json(unmatched), time(now), delivery.clone()],
            )?);
        }
        // An empty id is never remembered, so its guards above always pass.
        if !delivery_id.is_empty() {
            let forget_before = time(push_deliveries_forgotten_before(now));
            statements.insert(0, self.statement(FORGET_DELIVERIES, &[forget_before])?);
            statements.push(self.statement(REMEMBER_DELIVERY, &[delivery, time(now)])?);
        }
        self.batch(statements).await.map(|_| ())
    }

    async fn push_stats(&self, limit: usize) -> Result<PushStats, StoreError> {
        let counts: Vec<CountsRow> = self
            .rows(
                "SELECT pushes, items, accepted, rejected, unmatched, status_changes_push, \
                 status_changes_poll + (SELECT COALESCE(SUM(status_changes), 0) FROM sync_runs) \
                 AS status_changes_poll FROM push_counts WHERE id = 1",
                &[],
            )
            .await?;
        let rows: Vec<UnmatchedRow> = self
            .rows(
                "SELECT awb_no, first_seen_at, last_seen_at, times FROM push_unmatched \
                 ORDER BY last_seen_at DESC, awb_no LIMIT ?1",
                &[number(limit)],
            )
            .await?;
        let counts = counts
            .into_iter()
            .next()
            .map(|c| PushCounts {
                pushes: c.pushes as u64,
                items: c.items as u64,
                accepted: c.accepted as u64,
                rejected: c.rejected as u64,
                unmatched: c.unmatched as u64,
                status_changes_push: c.status_changes_push as u64,
                status_changes_poll: c.status_changes_poll as u64,
            })
            .unwrap_or_default();
        let unmatched = rows
            .into_iter()
            .map(|r| {
                Ok(UnmatchedPush {
                    awb_no: r.awb_no,
                    first_seen_at: parse_time(&r.first_seen_at)?,
                    last_seen_at: parse_time(&r.last_seen_at)?,
                    times: r.times as u64,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(PushStats { counts, unmatched })
    }
}
