//! `kv_repairs`: orders whose KV snapshot must be rewritten by the next sync.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tracking_core::ports::{KvRepairs, StoreError};

use super::{D1Store, ids_json, number, time};

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
}
