//! `webhook_endpoints`, `webhook_events` (the outbox), `webhook_deliveries` and
//! `webhook_attempts`.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tracking_core::model::iso;
use tracking_core::ports::{StoreError, WebhookStore};
use tracking_core::webhooks::{
    Attempt, AttemptRecord, Delivery, DeliveryJob, DeliveryState, Endpoint, WebhookEvent,
};
use wasm_bindgen::JsValue;

use super::{D1Store, changes, number, opt_text, parse_time, text, time};

const ENDPOINT_COLUMNS: &str = "id, url, description, event_types, secret, previous_secret, \
    previous_secret_expires_at, enabled, disabled_reason, failing_since, created_at, updated_at";

#[derive(Deserialize)]
struct EndpointRow {
    id: String,
    url: String,
    description: Option<String>,
    event_types: String,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_expires_at: Option<String>,
    enabled: f64,
    disabled_reason: Option<String>,
    failing_since: Option<String>,
    created_at: String,
    updated_at: String,
}

fn opt_time(value: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    value.as_deref().map(parse_time).transpose()
}

impl EndpointRow {
    fn endpoint(self) -> Result<Endpoint, StoreError> {
        Ok(Endpoint {
            event_types: serde_json::from_slice(self.event_types.as_bytes())
                .map_err(|_| StoreError("unreadable event types in D1".into()))?,
            previous_secret_expires_at: opt_time(self.previous_secret_expires_at)?,
            failing_since: opt_time(self.failing_since)?,
            created_at: parse_time(&self.created_at)?,
            updated_at: parse_time(&self.updated_at)?,
            id: self.id,
            url: self.url,
            description: self.description,
            secret: self.secret,
            previous_secret: self.previous_secret,
            enabled: self.enabled != 0.0,
            disabled_reason: self.disabled_reason,
        })
    }
}

#[derive(Deserialize)]
struct JobRow {
    state: String,
    attempts: f64,
    endpoint_id: String,
    event_id: String,
    order_id: Option<String>,
    sequence: String,
    replayed_after: f64,
    kind: String,
    payload: String,
    earlier_pending: f64,
}

#[derive(Deserialize)]
struct DeliveryRow {
    id: f64,
    event_id: String,
    kind: String,
    order_id: Option<String>,
    state: String,
    next_retry_at: Option<String>,
    created_at: String,
}

#[derive(Deserialize)]
struct AttemptRow {
    delivery_id: f64,
    attempt: f64,
    at: String,
    http_status: Option<f64>,
    latency_ms: f64,
    error: Option<String>,
    next_retry_at: Option<String>,
}

#[derive(Deserialize)]
struct ClaimRow {
    id: f64,
    attempts: f64,
}

fn state(value: &str) -> Result<DeliveryState, StoreError> {
    DeliveryState::parse(value)
        .ok_or_else(|| StoreError(format!("unknown delivery state {value:?}")))
}

fn endpoint_values(e: &Endpoint) -> Vec<JsValue> {
    vec![
        text(&e.id),
        text(&e.url),
        opt_text(e.description.as_deref()),
        text(&serde_json::to_string(&e.event_types).expect("strings serialise")),
        text(&e.secret),
        opt_text(e.previous_secret.as_deref()),
        opt_text(e.previous_secret_expires_at.map(iso).as_deref()),
        number(usize::from(e.enabled)),
        opt_text(e.disabled_reason.as_deref()),
        opt_text(e.failing_since.map(iso).as_deref()),
        time(e.created_at),
        time(e.updated_at),
    ]
}

fn id_value(id: i64) -> JsValue {
    JsValue::from_f64(id as f64)
}

impl D1Store {
    /// Notes that deliveries wait to be sent to the queue, for the platform to dispatch them
    /// once the invocation's work is done.
    pub(super) fn note_waiting(&self) {
        self.webhooks_waiting.set(true);
    }
}

impl WebhookStore for D1Store {
    async fn create_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO webhook_endpoints ({ENDPOINT_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        );
        self.all(self.statement(&sql, &endpoint_values(endpoint))?)
            .await
            .map(|_| ())
    }

    async fn endpoints(&self) -> Result<Vec<Endpoint>, StoreError> {
        let sql =
            format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY created_at, id");
        self.rows::<EndpointRow>(&sql, &[])
            .await?
            .into_iter()
            .map(EndpointRow::endpoint)
            .collect()
    }

    async fn endpoint(&self, id: &str) -> Result<Option<Endpoint>, StoreError> {
        let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ?1");
        self.rows::<EndpointRow>(&sql, &[text(id)])
            .await?
            .into_iter()
            .next()
            .map(EndpointRow::endpoint)
            .transpose()
    }

    async fn update_endpoint(&self, endpoint: &Endpoint) -> Result<bool, StoreError> {
        let sql = "UPDATE webhook_endpoints SET url = ?2, description = ?3, event_types = ?4, \
                   secret = ?5, previous_secret = ?6, previous_secret_expires_at = ?7, \
                   enabled = ?8, disabled_reason = ?9, failing_since = ?10, updated_at = ?12 \
                   WHERE id = ?1 AND created_at = ?11";
        let result = self
            .all(self.statement(sql, &endpoint_values(endpoint))?)
            .await?;
        Ok(changes(&result) > 0)
    }

    async fn delete_endpoint(&self, id: &str) -> Result<bool, StoreError> {
        let results = self
            .batch(vec![
                self.statement(
                    "DELETE FROM webhook_attempts WHERE delivery_id IN \
                     (SELECT id FROM webhook_deliveries WHERE endpoint_id = ?1)",
                    &[text(id)],
                )?,
                self.statement(
                    "DELETE FROM webhook_deliveries WHERE endpoint_id = ?1",
                    &[text(id)],
                )?,
                self.statement("DELETE FROM webhook_endpoints WHERE id = ?1", &[text(id)])?,
            ])
            .await?;
        Ok(results.last().is_some_and(|r| changes(r) > 0))
    }

    async fn add_delivery(
        &self,
        endpoint_id: &str,
        event: &WebhookEvent,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let results = self
            .batch(vec![
                self.statement(
                    "INSERT INTO webhook_events (id, type, order_id, sequence, payload, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    &[
                        text(&event.id),
                        text(&event.kind),
                        opt_text(event.order_id.as_deref()),
                        text(&event.sequence),
                        text(&event.payload),
                        time(now),
                    ],
                )?,
                self.statement(
                    "INSERT INTO webhook_deliveries (endpoint_id, event_id, order_id, sequence, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                    &[
                        text(endpoint_id),
                        text(&event.id),
                        opt_text(event.order_id.as_deref()),
                        text(&event.sequence),
                        time(now),
                    ],
                )?,
            ])
            .await?;
        #[derive(Deserialize)]
        struct Id {
            id: f64,
        }
        let id = results
            .last()
            .and_then(|r| r.results::<Id>().ok())
            .and_then(|rows| rows.into_iter().next())
            .ok_or_else(|| StoreError("the new delivery's id was not returned".into()))?;
        self.note_waiting();
        Ok(id.id as i64)
    }

    async fn deliveries(
        &self,
        endpoint_id: &str,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let rows: Vec<DeliveryRow> = self
            .rows(
                "SELECT d.id, d.event_id, w.type AS kind, d.order_id, d.state, d.next_retry_at, \
                 d.created_at FROM webhook_deliveries d JOIN webhook_events w ON w.id = d.event_id \
                 WHERE d.endpoint_id = ?1 ORDER BY d.id DESC LIMIT ?2",
                &[text(endpoint_id), number(limit)],
            )
            .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<f64> = rows.iter().map(|r| r.id).collect();
        let attempts: Vec<AttemptRow> = self
            .rows(
                "SELECT delivery_id, attempt, at, http_status, latency_ms, error, next_retry_at \
                 FROM webhook_attempts WHERE delivery_id IN (SELECT value FROM json_each(?1)) \
                 ORDER BY delivery_id, attempt",
                &[text(
                    &serde_json::to_string(&ids).expect("numbers serialise"),
                )],
            )
            .await?;
        rows.into_iter()
            .map(|r| {
                let attempts = attempts
                    .iter()
                    .filter(|a| a.delivery_id == r.id)
                    .map(|a| {
                        Ok(Attempt {
                            attempt: a.attempt as u32,
                            at: parse_time(&a.at)?,
                            http_status: a.http_status.map(|s| s as u16),
                            latency_ms: a.latency_ms as u64,
                            error: a.error.clone(),
                            next_retry_at: opt_time(a.next_retry_at.clone())?,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                Ok(Delivery {
                    id: r.id as i64,
                    webhook_id: r.event_id,
                    kind: r.kind,
                    order_id: r.order_id,
                    state: state(&r.state)?,
                    attempts,
                    next_retry_at: opt_time(r.next_retry_at)?,
                    created_at: parse_time(&r.created_at)?,
                })
            })
            .collect()
    }

    async fn replay(&self, endpoint_id: &str, delivery: i64) -> Result<bool, StoreError> {
        let result = self
            .all(self.statement(
                "UPDATE webhook_deliveries SET state = 'pending', queued_at = NULL, \
                 next_retry_at = NULL, replayed_after = attempts WHERE id = ?1 AND endpoint_id = ?2",
                &[id_value(delivery), text(endpoint_id)],
            )?)
            .await?;
        let replayed = changes(&result) > 0;
        if replayed {
            self.note_waiting();
        }
        Ok(replayed)
    }

    async fn claim_unqueued(
        &self,
        now: DateTime<Utc>,
        retake_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(i64, u32)>, StoreError> {
        let mut rows: Vec<ClaimRow> = self
            .rows(
                "UPDATE webhook_deliveries SET queued_at = ?1 WHERE id IN \
                 (SELECT id FROM webhook_deliveries WHERE state = 'pending' AND (queued_at IS NULL \
                 OR (queued_at < ?3 AND (next_retry_at IS NULL OR next_retry_at < ?3))) \
                 ORDER BY id LIMIT ?2) RETURNING id, attempts",
                &[time(now), number(limit), time(retake_before)],
            )
            .await?;
        tracking_core::sorting::sort_by(&mut rows, |a, b| a.id.total_cmp(&b.id));
        Ok(rows
            .into_iter()
            .map(|r| (r.id as i64, r.attempts as u32))
            .collect())
    }

    async fn unqueue(&self, deliveries: &[i64]) -> Result<(), StoreError> {
        self.all(self.statement(
            "UPDATE webhook_deliveries SET queued_at = NULL \
             WHERE id IN (SELECT value FROM json_each(?1))",
            &[text(
                &serde_json::to_string(deliveries).expect("numbers serialise"),
            )],
        )?)
        .await
        .map(|_| ())
    }

    async fn delivery_job(&self, delivery: i64) -> Result<Option<DeliveryJob>, StoreError> {
        let rows: Vec<JobRow> = self
            .rows(
                "SELECT d.state, d.attempts, d.replayed_after, d.endpoint_id, d.event_id, d.order_id, d.sequence, \
                 w.type AS kind, w.payload, EXISTS (SELECT 1 FROM webhook_deliveries p \
                 WHERE p.endpoint_id = d.endpoint_id AND p.order_id = d.order_id \
                 AND p.state = 'pending' AND (p.sequence < d.sequence \
                 OR (p.sequence = d.sequence AND p.id < d.id))) AS earlier_pending \
                 FROM webhook_deliveries d JOIN webhook_events w ON w.id = d.event_id \
                 WHERE d.id = ?1",
                &[id_value(delivery)],
            )
            .await?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let Some(endpoint) = self.endpoint(&row.endpoint_id).await? else {
            return Ok(None);
        };
        Ok(Some(DeliveryJob {
            delivery,
            state: state(&row.state)?,
            attempts: row.attempts as u32,
            replayed_after: row.replayed_after as u32,
            event: WebhookEvent {
                id: row.event_id,
                kind: row.kind,
                order_id: row.order_id,
                sequence: row.sequence,
                payload: row.payload,
            },
            endpoint,
            earlier_pending: row.earlier_pending != 0.0,
        }))
    }

    async fn record_attempt(&self, record: &AttemptRecord) -> Result<(), StoreError> {
        let mut statements = Vec::with_capacity(3);
        if let Some(a) = &record.attempt {
            statements.push(
                self.statement(
                    "INSERT OR REPLACE INTO webhook_attempts \
                 (delivery_id, attempt, at, http_status, latency_ms, error, next_retry_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    &[
                        id_value(record.delivery),
                        number(a.attempt as usize),
                        time(a.at),
                        a.http_status
                            .map_or(JsValue::NULL, |s| JsValue::from_f64(f64::from(s))),
                        JsValue::from_f64(a.latency_ms as f64),
                        opt_text(a.error.as_deref()),
                        opt_text(a.next_retry_at.map(iso).as_deref()),
                    ],
                )?,
            );
        }
        let next_retry_at = record.attempt.as_ref().and_then(|a| a.next_retry_at);
        statements.push(self.statement(
            "UPDATE webhook_deliveries SET state = ?2, attempts = attempts + ?3, \
             next_retry_at = ?4 WHERE id = ?1",
            &[
                id_value(record.delivery),
                text(record.state.as_str()),
                number(usize::from(record.attempt.is_some())),
                opt_text(next_retry_at.map(iso).as_deref()),
            ],
        )?);
        statements.push(self.statement(
            "UPDATE webhook_endpoints SET failing_since = ?2, \
             enabled = CASE WHEN ?3 IS NULL THEN enabled ELSE 0 END, \
             disabled_reason = COALESCE(?3, disabled_reason) WHERE id = ?1",
            &[
                text(&record.endpoint_id),
                opt_text(record.failing_since.map(iso).as_deref()),
                opt_text(record.disable.as_deref()),
            ],
        )?);
        self.batch(statements).await.map(|_| ())
    }
}
