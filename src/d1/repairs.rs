//! `kv_repairs`: orders whose KV snapshot must be rewritten by the next sync.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use tracking_core::ports::{KvRepairs, StoreError};

use super::{D1Store, ids_json, number, text, time};

impl KvRepairs for D1Store {
    async fn mark_kv_stale(
        &self,
        order_ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.all(self.statement(
            "INSERT OR IGNORE INTO kv_repairs (order_id, since) SELECT value, ?2 FROM json_each(?1)",
            &[ids_json(order_ids), time(now)],
        )?)
        .await?;
        Ok(())
    }

    async fn kv_stale(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        #[derive(Deserialize)]
        struct Row {
            order_id: String,
        }
        let rows: Vec<Row> = self
            .rows(
                "SELECT order_id FROM kv_repairs ORDER BY since, order_id LIMIT ?1",
                &[number(limit)],
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.order_id).collect())
    }

    async fn clear_kv_stale(&self, order_ids: &[String]) -> Result<(), StoreError> {
        if order_ids.is_empty() {
            return Ok(());
        }
        self.all(self.statement(
            "DELETE FROM kv_repairs WHERE order_id IN (SELECT value FROM json_each(?1))",
            &[ids_json(order_ids)],
        )?)
        .await?;
        Ok(())
    }

    async fn note_cached(
        &self,
        order_ids: &[String],
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.all(self.statement(
            "UPDATE orders SET kv_cached_until = ?2 WHERE id IN (SELECT value FROM json_each(?1))",
            &[ids_json(order_ids), time(until)],
        )?)
        .await?;
        Ok(())
    }

    async fn held_in_kv(
        &self,
        order_ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        #[derive(Deserialize)]
        struct Row {
            id: String,
        }
        let rows: Vec<Row> = self
            .rows(
                "SELECT id FROM orders WHERE id IN (SELECT value FROM json_each(?1)) \
                 AND kv_cached_until > ?2",
                &[ids_json(order_ids), time(now)],
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    async fn reserve_kv_writes(
        &self,
        day: NaiveDate,
        count: usize,
        limit: usize,
    ) -> Result<bool, StoreError> {
        #[derive(Deserialize)]
        struct Row {
            #[allow(dead_code)]
            writes: f64,
        }
        // One statement: the day's row is created or grown only if the total stays within the
        // limit, so concurrent consumers cannot overspend it together.
        let taken: Vec<Row> = self
            .rows(
                "INSERT INTO kv_write_budget (day, writes) SELECT ?1, ?2 WHERE ?2 <= ?3 \
                 ON CONFLICT (day) DO UPDATE SET writes = writes + excluded.writes \
                 WHERE kv_write_budget.writes + excluded.writes <= ?3 RETURNING writes",
                &[text(&day.to_string()), number(count), number(limit)],
            )
            .await?;
        Ok(!taken.is_empty())
    }
}
