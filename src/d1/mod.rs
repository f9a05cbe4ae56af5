//! The store on D1. Times are ISO-8601 UTC text; each multi-statement write is one `batch`,
//! which D1 runs as a single transaction.
//!
//! Batch writes pass their rows as one JSON parameter read with `json_each`, so a batch of any
//! size costs the same few statements: D1 limits queries per invocation (50 on the free plan)
//! and parameters per statement (100).

pub mod rows;

use std::cell::Cell;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result};

use rows::{encode, event_row, identity_row, sync_params};
use tracking_core::model::iso;
use tracking_core::model::{Location, Order, ShippingStatus, Snapshot, Status, TrackingEvent};
use tracking_core::ports::{
    AttachOutcome, BreakerState, CarrierHealth, DueShipment, OrderInput, Store, StoreError,
    StoredResponse, UpsertOutcome,
};
use tracking_core::rules::merge::OrderSync;
use tracking_core::runs::{BatchFailure, RunStatus, SyncRun, Trigger};

/// Runs kept in `sync_runs`; older ones are deleted as new ones finish.
const RUNS_KEPT: i64 = 1000;

pub struct D1Store {
    pub db: D1Database,
    /// Statements sent in this invocation.
    pub sent: Cell<usize>,
}

fn err(e: worker::Error) -> StoreError {
    StoreError(e.to_string())
}

fn text(value: &str) -> JsValue {
    JsValue::from_str(value)
}

fn opt_text(value: Option<&str>) -> JsValue {
    value.map_or(JsValue::NULL, JsValue::from_str)
}

fn time(at: DateTime<Utc>) -> JsValue {
    JsValue::from_str(&iso(at))
}

fn number(n: usize) -> JsValue {
    JsValue::from_f64(n as f64)
}

fn parse_time(value: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError(format!("unreadable time {value:?} in D1")))
}

const ORDER_COLUMNS: &str = "id, customer_id, order_status, shipping_status, awb_no, courier, \
    shipping_error, expected_delivery_date, created_at, updated_at, last_synced_at, last_sync_error, \
    next_check_at, last_progress_at, polling_stopped_at";

#[derive(Deserialize)]
struct OrderRow {
    id: String,
    customer_id: String,
    order_status: String,
    shipping_status: String,
    awb_no: Option<String>,
    courier: String,
    shipping_error: Option<String>,
    expected_delivery_date: Option<String>,
    created_at: String,
    updated_at: String,
    last_synced_at: Option<String>,
    last_sync_error: Option<String>,
    next_check_at: Option<String>,
    last_progress_at: Option<String>,
    polling_stopped_at: Option<String>,
}

impl OrderRow {
    fn into_order(self) -> Result<Order, StoreError> {
        Ok(Order {
            shipping_status: ShippingStatus::parse(&self.shipping_status).ok_or_else(|| {
                StoreError(format!(
                    "unknown shipping status {:?}",
                    self.shipping_status
                ))
            })?,
            expected_delivery_date: self
                .expected_delivery_date
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
            created_at: parse_time(&self.created_at)?,
            updated_at: parse_time(&self.updated_at)?,
            last_synced_at: self.last_synced_at.as_deref().map(parse_time).transpose()?,
            next_check_at: self.next_check_at.as_deref().map(parse_time).transpose()?,
            last_progress_at: self
                .last_progress_at
                .as_deref()
                .map(parse_time)
                .transpose()?,
            polling_stopped_at: self
                .polling_stopped_at
                .as_deref()
                .map(parse_time)
                .transpose()?,
            id: self.id,
            customer_id: self.customer_id,
            order_status: self.order_status,
            awb_no: self.awb_no,
            courier: self.courier,
            shipping_error: self.shipping_error,
            last_sync_error: self.last_sync_error,
        })
    }
}

#[derive(Deserialize)]
struct EventRow {
    order_id: String,
    awb_no: String,
    carrier_status: String,
    status: String,
    description: String,
    scan_code: String,
    facility: String,
    city: String,
    state: String,
    country: String,
    place_key: String,
    event_at: String,
    is_latest: f64,
}

impl EventRow {
    fn into_event(self) -> Result<(String, TrackingEvent, bool), StoreError> {
        let event = TrackingEvent {
            status: Status::parse(&self.status)
                .ok_or_else(|| StoreError(format!("unknown status {:?}", self.status)))?,
            event_at: parse_time(&self.event_at)?,
            awb_no: self.awb_no,
            carrier_status: self.carrier_status,
            description: self.description,
            scan_code: self.scan_code,
            location: Location {
                facility: self.facility,
                city: self.city,
                state: self.state,
                country: self.country,
            },
            place_key: self.place_key,
        };
        Ok((self.order_id, event, self.is_latest != 0.0))
    }
}

const INSERT_EVENTS: &str = "INSERT OR IGNORE INTO tracking_events (order_id, awb_no, carrier_status, \
    status, description, scan_code, facility, city, state, country, place_key, event_at, synced_at, \
    is_latest) \
    SELECT json_extract(value, '$.o'), json_extract(value, '$.a'), json_extract(value, '$.cs'), \
           json_extract(value, '$.s'), json_extract(value, '$.d'), json_extract(value, '$.k'), \
           json_extract(value, '$.fa'), json_extract(value, '$.ci'), json_extract(value, '$.st'), \
           json_extract(value, '$.co'), json_extract(value, '$.pk'), json_extract(value, '$.e'), \
           json_extract(value, '$.y'), 0 \
    FROM json_each(?1)";

const CLEAR_LATEST: &str = "UPDATE tracking_events SET is_latest = 0 WHERE is_latest = 1 \
    AND order_id IN (SELECT json_extract(value, '$.o') FROM json_each(?1))";

const SET_LATEST: &str = "UPDATE tracking_events SET is_latest = 1 WHERE id IN ( \
    SELECT t.id FROM json_each(?1) AS j JOIN tracking_events AS t \
      ON t.order_id = json_extract(j.value, '$.o') AND t.awb_no = json_extract(j.value, '$.a') \
     AND t.event_at = json_extract(j.value, '$.e') AND t.scan_code = json_extract(j.value, '$.k') \
     AND t.place_key = json_extract(j.value, '$.pk'))";

const UPDATE_SYNCED_ORDERS: &str = "UPDATE orders SET \
    shipping_status = json_extract(j.value, '$.ss'), order_status = json_extract(j.value, '$.os'), \
    expected_delivery_date = json_extract(j.value, '$.ed'), last_synced_at = json_extract(j.value, '$.t'), \
    last_sync_error = NULL, updated_at = json_extract(j.value, '$.t'), \
    next_check_at = json_extract(j.value, '$.nc'), last_progress_at = json_extract(j.value, '$.lp'), \
    polling_stopped_at = json_extract(j.value, '$.ps') \
    FROM json_each(?1) AS j WHERE orders.id = json_extract(j.value, '$.id')";

const UPSERT_RESPONSES: &str = "INSERT INTO carrier_responses (order_id, fetched_at, http_status, body, truncated) \
    SELECT json_extract(value, '$.o'), json_extract(value, '$.t'), json_extract(value, '$.h'), \
           json_extract(value, '$.b'), json_extract(value, '$.tr') FROM json_each(?1) WHERE true \
    ON CONFLICT (order_id) DO UPDATE SET fetched_at = excluded.fetched_at, \
      http_status = excluded.http_status, body = excluded.body, truncated = excluded.truncated";

const RUN_COLUMNS: &str = "id, triggered_by, status, started_at, finished_at, considered, succeeded, \
    failed, batches, carrier_calls, d1_queries, kv_operations, stop_reason, failures";

#[derive(Deserialize)]
struct RunRow {
    id: f64,
    triggered_by: String,
    status: String,
    started_at: String,
    finished_at: Option<String>,
    considered: f64,
    succeeded: f64,
    failed: f64,
    batches: f64,
    carrier_calls: f64,
    d1_queries: f64,
    kv_operations: f64,
    stop_reason: Option<String>,
    failures: String,
}

impl RunRow {
    fn into_run(self) -> Result<SyncRun, StoreError> {
        let failures: Vec<BatchFailure> = serde_json::from_str(&self.failures)
            .map_err(|e| StoreError(format!("unreadable sync run failures: {e}")))?;
        Ok(SyncRun {
            id: Some(self.id as i64),
            trigger: from_name::<Trigger>(self.triggered_by)?,
            status: from_name::<RunStatus>(self.status)?,
            started_at: parse_time(&self.started_at)?,
            finished_at: self.finished_at.as_deref().map(parse_time).transpose()?,
            considered: self.considered as usize,
            succeeded: self.succeeded as usize,
            failed: self.failed as usize,
            batches: self.batches as usize,
            carrier_calls: self.carrier_calls as usize,
            d1_queries: self.d1_queries as usize,
            kv_operations: self.kv_operations as usize,
            stop_reason: self.stop_reason,
            failures,
        })
    }
}

/// An enum from its serialised name.
fn from_name<T: serde::de::DeserializeOwned>(name: String) -> Result<T, StoreError> {
    serde_json::from_value(Value::String(name))
        .map_err(|e| StoreError(format!("unreadable sync run: {e}")))
}

fn run_status(run: &SyncRun) -> &'static str {
    match run.status {
        RunStatus::Running => "running",
        RunStatus::Completed => "completed",
        RunStatus::Stopped => "stopped",
        RunStatus::Failed => "failed",
    }
}

impl D1Store {
    pub fn new(db: D1Database) -> D1Store {
        D1Store {
            db,
            sent: Cell::new(0),
        }
    }

    fn statement(&self, sql: &str, values: &[JsValue]) -> Result<D1PreparedStatement, StoreError> {
        self.db.prepare(sql).bind(values).map_err(err)
    }

    async fn all(&self, statement: D1PreparedStatement) -> Result<D1Result, StoreError> {
        self.sent.set(self.sent.get() + 1);
        statement.all().await.map_err(err)
    }

    /// Runs one query and reads its rows.
    async fn rows<T: DeserializeOwned>(
        &self,
        sql: &str,
        values: &[JsValue],
    ) -> Result<Vec<T>, StoreError> {
        self.all(self.statement(sql, values)?)
            .await?
            .results()
            .map_err(err)
    }

    /// Runs statements as one transaction.
    async fn batch(
        &self,
        statements: Vec<D1PreparedStatement>,
    ) -> Result<Vec<D1Result>, StoreError> {
        if statements.is_empty() {
            return Ok(Vec::new());
        }
        self.sent.set(self.sent.get() + statements.len());
        self.db.batch(statements).await.map_err(err)
    }

    /// The statements that save a batch's events and move its latest flags, skipping empty ones.
    fn event_statements(
        &self,
        events: Option<&str>,
        latest: Option<&str>,
    ) -> Result<Vec<D1PreparedStatement>, StoreError> {
        let mut statements = Vec::new();
        if let Some(events) = events {
            statements.push(self.statement(INSERT_EVENTS, &[text(events)])?);
        }
        if let Some(latest) = latest {
            statements.push(self.statement(CLEAR_LATEST, &[text(latest)])?);
            statements.push(self.statement(SET_LATEST, &[text(latest)])?);
        }
        Ok(statements)
    }

    /// The order row and who holds `awb`, in one query.
    async fn order_and_awb_holder(
        &self,
        order_id: &str,
        awb: Option<&str>,
    ) -> Result<(Option<Order>, Option<String>), StoreError> {
        let rows: Vec<OrderRow> = self
            .rows(
                &format!(
                    "SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?1 OR (?2 IS NOT NULL AND awb_no = ?2)"
                ),
                &[text(order_id), opt_text(awb)],
            )
            .await?;
        let mut order = None;
        let mut holder = None;
        for row in rows {
            if row.id == order_id {
                order = Some(row.into_order()?);
            } else {
                holder = Some(row.id);
            }
        }
        Ok((order, holder))
    }
}

impl Store for D1Store {
    async fn snapshots(&self, order_ids: &[String]) -> Result<Vec<Snapshot>, StoreError> {
        let ids = JsValue::from_str(&json!(order_ids).to_string());
        let results = self
            .batch(vec![
                self.statement(
                    &format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id IN (SELECT value FROM json_each(?1))"),
                    std::slice::from_ref(&ids),
                )?,
                self.statement(
                    "SELECT order_id, awb_no, carrier_status, status, description, scan_code, facility, \
                     city, state, country, place_key, event_at, is_latest FROM tracking_events \
                     WHERE order_id IN (SELECT value FROM json_each(?1)) ORDER BY order_id, event_at, id",
                    &[ids],
                )?,
            ])
            .await?;
        let [orders, events] = results.as_slice() else {
            return Err(StoreError(
                "D1 batch returned the wrong number of results".into(),
            ));
        };
        let mut snapshots: Vec<Snapshot> = Vec::new();
        for row in orders.results::<OrderRow>().map_err(err)? {
            snapshots.push(Snapshot {
                order: row.into_order()?,
                latest: None,
                events: Vec::new(),
            });
        }
        for row in events.results::<EventRow>().map_err(err)? {
            let (order_id, event, is_latest) = row.into_event()?;
            if let Some(snapshot) = snapshots.iter_mut().find(|s| s.order.id == order_id) {
                if is_latest {
                    snapshot.latest = Some(event.clone());
                }
                snapshot.events.push(event);
            }
        }
        // In the order asked for.
        snapshots.sort_by_key(|s| order_ids.iter().position(|id| *id == s.order.id));
        Ok(snapshots)
    }

    async fn due_shipments(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DueShipment>, StoreError> {
        #[derive(Deserialize)]
        struct Row {
            id: String,
            awb_no: String,
        }
        let rows: Vec<Row> = self
            .rows(
                "SELECT id, awb_no FROM orders \
                 WHERE shipping_status = 'In-Transit' AND awb_no IS NOT NULL \
                   AND polling_stopped_at IS NULL \
                   AND (next_check_at IS NULL OR next_check_at <= ?1) \
                 ORDER BY next_check_at, id LIMIT ?2",
                &[time(now), number(limit)],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| DueShipment {
                order_id: r.id,
                awb_no: r.awb_no,
            })
            .collect())
    }

    async fn upsert_order(
        &self,
        order_id: &str,
        input: &OrderInput,
        now: DateTime<Utc>,
    ) -> Result<UpsertOutcome, StoreError> {
        let (existing, holder) = self
            .order_and_awb_holder(order_id, input.awb_no.as_deref())
            .await?;
        let other_awb = existing
            .as_ref()
            .and_then(|o| o.awb_no.as_deref())
            .zip(input.awb_no.as_deref())
            .is_some_and(|(current, given)| current != given);
        if holder.is_some() || other_awb {
            return Ok(UpsertOutcome::AwbInUse);
        }
        let shipping = if input.awb_no.is_some() {
            ShippingStatus::InTransit
        } else {
            ShippingStatus::Pending
        };
        self.all(self.statement(
            "INSERT INTO orders (id, customer_id, order_status, shipping_status, awb_no, created_at, \
               updated_at, last_progress_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, CASE WHEN ?5 IS NULL THEN NULL ELSE ?7 END) \
             ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, \
               order_status = excluded.order_status, \
               shipping_status = CASE WHEN orders.awb_no IS NULL AND excluded.awb_no IS NOT NULL \
                                      THEN 'In-Transit' ELSE orders.shipping_status END, \
               last_progress_at = CASE WHEN orders.awb_no IS NULL AND excluded.awb_no IS NOT NULL \
                                      THEN excluded.updated_at ELSE orders.last_progress_at END, \
               awb_no = COALESCE(orders.awb_no, excluded.awb_no), \
               updated_at = excluded.updated_at",
            &[
                text(order_id),
                text(&input.customer_id),
                text(&input.order_status),
                text(shipping.as_str()),
                opt_text(input.awb_no.as_deref()),
                time(input.created_at.unwrap_or(now)),
                time(now),
            ],
        )?)
        .await?;
        Ok(if existing.is_some() {
            UpsertOutcome::Updated
        } else {
            UpsertOutcome::Created
        })
    }

    async fn attach_awb(
        &self,
        order_id: &str,
        booked: &TrackingEvent,
        now: DateTime<Utc>,
    ) -> Result<AttachOutcome, StoreError> {
        let awb = &booked.awb_no;
        let (order, holder) = self.order_and_awb_holder(order_id, Some(awb)).await?;
        if let Some(holder) = holder {
            return Ok(AttachOutcome::UsedByOrder(holder));
        }
        let Some(order) = order else {
            return Ok(AttachOutcome::NoSuchOrder);
        };
        match order.awb_no {
            Some(existing) if existing == *awb => return Ok(AttachOutcome::AlreadyAttached),
            Some(existing) => return Ok(AttachOutcome::OrderHasAnother(existing)),
            None => {}
        }
        let mut statements = vec![self.statement(
            "UPDATE orders SET awb_no = ?1, order_status = 'Shipped', shipping_status = 'In-Transit', \
             updated_at = ?2, last_progress_at = ?2, next_check_at = NULL, polling_stopped_at = NULL \
             WHERE id = ?3 AND awb_no IS NULL",
            &[text(awb), time(now), text(order_id)],
        )?];
        let events = encode(&[event_row(order_id, booked, now)]);
        let latest = encode(&[identity_row(order_id, booked)]);
        statements.extend(self.event_statements(events.as_deref(), latest.as_deref())?);
        self.batch(statements).await?;
        Ok(AttachOutcome::Attached)
    }

    async fn save_syncs(&self, syncs: &[OrderSync]) -> Result<(), StoreError> {
        let params = sync_params(syncs);
        let mut statements =
            self.event_statements(params.events.as_deref(), params.latest.as_deref())?;
        if let Some(orders) = &params.orders {
            statements.push(self.statement(UPDATE_SYNCED_ORDERS, &[text(orders)])?);
        }
        if let Some(responses) = &params.responses {
            statements.push(self.statement(UPSERT_RESPONSES, &[text(responses)])?);
        }
        self.batch(statements).await?;
        Ok(())
    }

    async fn record_sync_error(&self, order_ids: &[String], error: &str) -> Result<(), StoreError> {
        self.all(self.statement(
            "UPDATE orders SET last_sync_error = ?1 WHERE id IN (SELECT value FROM json_each(?2))",
            &[
                text(error),
                JsValue::from_str(&json!(order_ids).to_string()),
            ],
        )?)
        .await?;
        Ok(())
    }

    async fn carrier_response(&self, order_id: &str) -> Result<Option<StoredResponse>, StoreError> {
        #[derive(Deserialize)]
        struct Row {
            fetched_at: String,
            http_status: f64,
            body: String,
            truncated: f64,
        }
        let rows: Vec<Row> = self
            .rows(
                "SELECT fetched_at, http_status, body, truncated FROM carrier_responses WHERE order_id = ?1",
                &[text(order_id)],
            )
            .await?;
        rows.into_iter()
            .next()
            .map(|r| {
                Ok(StoredResponse {
                    fetched_at: parse_time(&r.fetched_at)?,
                    http_status: r.http_status as u16,
                    body: r.body,
                    truncated: r.truncated != 0.0,
                })
            })
            .transpose()
    }

    async fn start_run(&self, run: &SyncRun) -> Result<i64, StoreError> {
        #[derive(Deserialize)]
        struct Row {
            id: f64,
        }
        let rows: Vec<Row> = self
            .rows(
                "INSERT INTO sync_runs (triggered_by, status, started_at, considered) \
                 VALUES (?1, ?2, ?3, ?4) RETURNING id",
                &[
                    text(run.trigger.as_str()),
                    text(run_status(run)),
                    time(run.started_at),
                    number(run.considered),
                ],
            )
            .await?;
        rows.first()
            .map(|r| r.id as i64)
            .ok_or_else(|| StoreError("no id returned for the sync run".into()))
    }

    async fn finish_run(&self, id: i64, run: &SyncRun) -> Result<(), StoreError> {
        let failures = serde_json::to_string(&run.failures).expect("failures serialise");
        self.batch(vec![
            self.statement(
                "UPDATE sync_runs SET status = ?1, finished_at = ?2, considered = ?3, succeeded = ?4, \
                 failed = ?5, batches = ?6, carrier_calls = ?7, d1_queries = ?8, kv_operations = ?9, \
                 stop_reason = ?10, failures = ?11 WHERE id = ?12",
                &[
                    text(run_status(run)),
                    opt_text(run.finished_at.map(iso).as_deref()),
                    number(run.considered),
                    number(run.succeeded),
                    number(run.failed),
                    number(run.batches),
                    number(run.carrier_calls),
                    number(run.d1_queries),
                    number(run.kv_operations),
                    opt_text(run.stop_reason.as_deref()),
                    text(&failures),
                    JsValue::from_f64(id as f64),
                ],
            )?,
            self.statement(
                "DELETE FROM sync_runs WHERE id <= ?1",
                &[JsValue::from_f64((id - RUNS_KEPT) as f64)],
            )?,
        ])
        .await?;
        Ok(())
    }

    async fn recent_runs(&self, limit: usize) -> Result<Vec<SyncRun>, StoreError> {
        let rows: Vec<RunRow> = self
            .rows(
                &format!("SELECT {RUN_COLUMNS} FROM sync_runs ORDER BY id DESC LIMIT ?1"),
                &[number(limit)],
            )
            .await?;
        rows.into_iter().map(RunRow::into_run).collect()
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

    async fn mark_kv_stale(
        &self,
        order_ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.all(self.statement(
            "INSERT OR IGNORE INTO kv_repairs (order_id, since) SELECT value, ?2 FROM json_each(?1)",
            &[JsValue::from_str(&json!(order_ids).to_string()), time(now)],
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
            &[JsValue::from_str(&json!(order_ids).to_string())],
        )?)
        .await?;
        Ok(())
    }

    fn queries(&self) -> usize {
        self.sent.get()
    }
}

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

fn changes(result: &D1Result) -> usize {
    result
        .meta()
        .ok()
        .flatten()
        .and_then(|m| m.changes)
        .unwrap_or(0)
}
