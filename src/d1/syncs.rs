//! What a sync writes (orders' statuses and next checks, the carrier's last answer), which
//! shipments are due, and the refresh claims.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tracking_core::ports::{DueShipment, StoreError, SyncStore};
use tracking_core::rules::merge::OrderSync;
use tracking_core::webhooks::WebhookEvent;
use worker::D1PreparedStatement;

use super::{D1Store, ids_json, number, opt_text, parse_time, text, time};
use d1_rows::sync_params;
use tracking_core::model::iso;

/// The version moves when the plan says the tracking changed (the batch's first statement,
/// [`GUARD_VERSIONS`], has checked that every plan was made from the version the row has).
const UPDATE_SYNCED_ORDERS: &str = "UPDATE orders SET \
    shipping_status = json_extract(j.value, '$.ss'), order_status = json_extract(j.value, '$.os'), \
    expected_delivery_date = json_extract(j.value, '$.ed'), last_synced_at = json_extract(j.value, '$.t'), \
    last_sync_error = NULL, updated_at = json_extract(j.value, '$.t'), \
    next_check_at = json_extract(j.value, '$.nc'), last_progress_at = json_extract(j.value, '$.lp'), \
    polling_stopped_at = json_extract(j.value, '$.ps'), enqueued_at = NULL, \
    kv_cached_until = COALESCE(json_extract(j.value, '$.kh'), kv_cached_until), \
    version = version + json_extract(j.value, '$.v') \
    FROM json_each(?1) AS j WHERE orders.id = json_extract(j.value, '$.id')";

const UPSERT_RESPONSES: &str = "INSERT INTO carrier_responses (order_id, fetched_at, http_status, body, truncated) \
    SELECT json_extract(value, '$.o'), json_extract(value, '$.t'), json_extract(value, '$.h'), \
           json_extract(value, '$.b'), json_extract(value, '$.tr') FROM json_each(?1) WHERE true \
    ON CONFLICT (order_id) DO UPDATE SET fetched_at = excluded.fetched_at, \
      http_status = excluded.http_status, body = excluded.body, truncated = excluded.truncated";

/// Refuses (see migration 0008) a save with an order no longer at the version its sync was
/// planned from; reads the same rows as [`UPDATE_SYNCED_ORDERS`].
const GUARD_VERSIONS: &str = "INSERT INTO stale_saves (order_id) \
    SELECT orders.id FROM orders, json_each(?1) AS j \
    WHERE orders.id = json_extract(j.value, '$.id') AND orders.version != json_extract(j.value, '$.fv')";

/// What D1's error says when [`GUARD_VERSIONS`] trips its constraint.
const STALE_SAVE: &str = "CHECK constraint failed: stale_save";

impl D1Store {
    /// The statements of the syncs' writes, skipping empty ones, behind the check of the
    /// versions they were planned from.
    fn sync_statements(&self, syncs: &[OrderSync]) -> Result<Vec<D1PreparedStatement>, StoreError> {
        let params = sync_params(syncs);
        let mut statements = Vec::new();
        if let Some(orders) = &params.orders {
            statements.push(self.statement(GUARD_VERSIONS, &[text(orders)])?);
        }
        statements
            .extend(self.event_statements(params.events.as_deref(), params.latest.as_deref())?);
        if let Some(orders) = &params.orders {
            statements.push(self.statement(UPDATE_SYNCED_ORDERS, &[text(orders)])?);
        }
        if let Some(responses) = &params.responses {
            statements.push(self.statement(UPSERT_RESPONSES, &[text(responses)])?);
        }
        Ok(statements)
    }
}

impl SyncStore for D1Store {
    async fn take_due(
        &self,
        now: DateTime<Utc>,
        retake_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DueShipment>, StoreError> {
        #[derive(Deserialize)]
        struct Row {
            id: String,
            awb_no: String,
            next_check_at: Option<String>,
        }
        // One statement selects and marks, so two firings cannot both take a shipment.
        let mut rows: Vec<Row> = self
            .rows(
                "UPDATE orders SET enqueued_at = ?1 WHERE id IN ( \
                   SELECT id FROM orders \
                   WHERE shipping_status = 'In-Transit' AND awb_no IS NOT NULL \
                     AND polling_stopped_at IS NULL \
                     AND (next_check_at IS NULL OR next_check_at <= ?1) \
                     AND (enqueued_at IS NULL OR enqueued_at < ?2) \
                   ORDER BY next_check_at, id LIMIT ?3) \
                 RETURNING id, awb_no, next_check_at",
                &[time(now), time(retake_before), number(limit)],
            )
            .await?;
        // RETURNING keeps no order: the longest-waiting first again.
        tracking_core::sorting::sort_by(&mut rows, |a, b| {
            (&a.next_check_at, &a.id).cmp(&(&b.next_check_at, &b.id))
        });
        Ok(rows
            .into_iter()
            .map(|r| DueShipment {
                order_id: r.id,
                awb_no: r.awb_no,
            })
            .collect())
    }

    async fn release(&self, order_ids: &[String]) -> Result<(), StoreError> {
        self.all(self.statement(
            "UPDATE orders SET enqueued_at = NULL WHERE id IN (SELECT value FROM json_each(?1))",
            &[ids_json(order_ids)],
        )?)
        .await?;
        Ok(())
    }

    async fn save_syncs(
        &self,
        syncs: &[OrderSync],
        messages: &[WebhookEvent],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let statements = self.sync_statements(syncs)?;
        match self.batch_with_messages(statements, messages, now).await {
            Ok(()) => Ok(true),
            Err(e) if e.0.contains(STALE_SAVE) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn record_sync_error(
        &self,
        order_ids: &[String],
        error: &str,
        next_check_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.all(self.statement(
            "UPDATE orders SET last_sync_error = ?1, \
               next_check_at = COALESCE(?3, next_check_at), \
               enqueued_at = CASE WHEN ?3 IS NULL THEN enqueued_at ELSE NULL END \
             WHERE id IN (SELECT value FROM json_each(?2))",
            &[
                text(error),
                ids_json(order_ids),
                opt_text(next_check_at.map(iso).as_deref()),
            ],
        )?)
        .await?;
        Ok(())
    }

    async fn claim_refresh(
        &self,
        order_id: &str,
        now: DateTime<Utc>,
        not_before: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        #[derive(Deserialize)]
        struct Row {
            claimed_at: String,
        }
        // D1 runs one write at a time, so of many concurrent claims exactly one succeeds.
        let claimed: Vec<Row> = self
            .rows(
                "INSERT INTO refresh_claims (order_id, claimed_at) VALUES (?1, ?2) \
                 ON CONFLICT (order_id) DO UPDATE SET claimed_at = excluded.claimed_at \
                 WHERE refresh_claims.claimed_at <= ?3 RETURNING claimed_at",
                &[text(order_id), time(now), time(not_before)],
            )
            .await?;
        if !claimed.is_empty() {
            return Ok(None);
        }
        let standing: Vec<Row> = self
            .rows(
                "SELECT claimed_at FROM refresh_claims WHERE order_id = ?1",
                &[text(order_id)],
            )
            .await?;
        standing
            .first()
            .map(|r| parse_time(&r.claimed_at))
            .transpose()
            .map(|t| t.or(Some(now)))
    }
}
