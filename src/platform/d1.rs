//! The store on D1. Times are ISO-8601 UTC text; each multi-statement write is one `batch`,
//! which D1 runs as a single transaction.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result};

use crate::ports::{AttachOutcome, OrderInput, Store, StoreError, StoredResponse, UpsertOutcome};
use crate::tracking::merge::OrderSync;
use crate::tracking::model::{Location, Order, ShippingStatus, Snapshot, Status, TrackingEvent};
use crate::tracking::response::iso;

pub struct D1Store {
    pub db: D1Database,
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

fn parse_time(value: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError(format!("unreadable time {value:?} in D1")))
}

const ORDER_COLUMNS: &str = "id, customer_id, order_status, shipping_status, awb_no, courier, \
    shipping_error, expected_delivery_date, created_at, updated_at, last_synced_at, last_sync_error";

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

const EVENT_COLUMNS: &str = "awb_no, carrier_status, status, description, scan_code, city, state, \
    country, event_at, is_latest";

#[derive(Deserialize)]
struct EventRow {
    awb_no: String,
    carrier_status: String,
    status: String,
    description: String,
    scan_code: String,
    city: String,
    state: String,
    country: String,
    event_at: String,
    is_latest: f64,
}

impl EventRow {
    fn into_event(self) -> Result<(TrackingEvent, bool), StoreError> {
        let event = TrackingEvent {
            status: Status::parse(&self.status)
                .ok_or_else(|| StoreError(format!("unknown status {:?}", self.status)))?,
            event_at: parse_time(&self.event_at)?,
            awb_no: self.awb_no,
            carrier_status: self.carrier_status,
            description: self.description,
            scan_code: self.scan_code,
            location: Location {
                city: self.city,
                state: self.state,
                country: self.country,
            },
        };
        Ok((event, self.is_latest != 0.0))
    }
}

/// Events per multi-row INSERT: 12 parameters each, within D1's 100 per statement.
const EVENTS_PER_INSERT: usize = 8;

const INSERT_EVENTS: &str = "INSERT OR IGNORE INTO tracking_events (order_id, awb_no, carrier_status, \
    status, description, scan_code, city, state, country, event_at, synced_at, is_latest) VALUES ";

fn event_values(
    order_id: &str,
    e: &TrackingEvent,
    synced_at: DateTime<Utc>,
    latest: bool,
) -> [JsValue; 12] {
    [
        text(order_id),
        text(&e.awb_no),
        text(&e.carrier_status),
        text(e.status.as_str()),
        text(&e.description),
        text(&e.scan_code),
        text(&e.location.city),
        text(&e.location.state),
        text(&e.location.country),
        time(e.event_at),
        time(synced_at),
        JsValue::from_f64(if latest { 1.0 } else { 0.0 }),
    ]
}

impl D1Store {
    fn statement(&self, sql: &str, values: &[JsValue]) -> Result<D1PreparedStatement, StoreError> {
        self.db.prepare(sql).bind(values).map_err(err)
    }

    /// INSERT OR IGNORE statements for `events`, several rows each.
    fn insert_events(
        &self,
        order_id: &str,
        events: &[TrackingEvent],
        synced_at: DateTime<Utc>,
    ) -> Result<Vec<D1PreparedStatement>, StoreError> {
        events
            .chunks(EVENTS_PER_INSERT)
            .map(|chunk| {
                let placeholders =
                    vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
                let values: Vec<JsValue> = chunk
                    .iter()
                    .flat_map(|e| event_values(order_id, e, synced_at, false))
                    .collect();
                self.statement(&format!("{INSERT_EVENTS}{placeholders}"), &values)
            })
            .collect()
    }

    /// Moves the latest flag of `order_id` to the event with `latest`'s identity.
    fn flag_latest(
        &self,
        order_id: &str,
        latest: &TrackingEvent,
    ) -> Result<[D1PreparedStatement; 2], StoreError> {
        Ok([
            self.statement(
                "UPDATE tracking_events SET is_latest = 0 WHERE order_id = ?1 AND is_latest = 1",
                &[text(order_id)],
            )?,
            self.statement(
                "UPDATE tracking_events SET is_latest = 1 WHERE order_id = ?1 AND awb_no = ?2 \
                 AND event_at = ?3 AND scan_code = ?4 AND city = ?5",
                &[
                    text(order_id),
                    text(&latest.awb_no),
                    time(latest.event_at),
                    text(&latest.scan_code),
                    text(&latest.location.city),
                ],
            )?,
        ])
    }

    /// The order row and who holds `awb`, in one query.
    async fn order_and_awb_holder(
        &self,
        order_id: &str,
        awb: Option<&str>,
    ) -> Result<(Option<Order>, Option<String>), StoreError> {
        let rows: Vec<OrderRow> = self
            .statement(
                &format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?1 OR (?2 IS NOT NULL AND awb_no = ?2)"),
                &[text(order_id), opt_text(awb)],
            )?
            .all()
            .await
            .map_err(err)?
            .results()
            .map_err(err)?;
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

fn changes(result: &D1Result) -> usize {
    result
        .meta()
        .ok()
        .flatten()
        .and_then(|m| m.changes)
        .unwrap_or(0)
}

impl Store for D1Store {
    async fn snapshot(&self, order_id: &str) -> Result<Option<Snapshot>, StoreError> {
        let results = self
            .db
            .batch(vec![
                self.statement(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?1"), &[text(order_id)])?,
                self.statement(
                    &format!("SELECT {EVENT_COLUMNS} FROM tracking_events WHERE order_id = ?1 ORDER BY event_at, id"),
                    &[text(order_id)],
                )?,
            ])
            .await
            .map_err(err)?;
        let [orders, events] = results.as_slice() else {
            return Err(StoreError(
                "D1 batch returned the wrong number of results".into(),
            ));
        };
        let Some(order) = orders
            .results::<OrderRow>()
            .map_err(err)?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let mut latest = None;
        let mut history = Vec::new();
        for row in events.results::<EventRow>().map_err(err)? {
            let (event, is_latest) = row.into_event()?;
            if is_latest {
                latest = Some(event.clone());
            }
            history.push(event);
        }
        Ok(Some(Snapshot {
            order: order.into_order()?,
            latest,
            events: history,
        }))
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
        self.statement(
            "INSERT INTO orders (id, customer_id, order_status, shipping_status, awb_no, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, \
               order_status = excluded.order_status, \
               shipping_status = CASE WHEN orders.awb_no IS NULL AND excluded.awb_no IS NOT NULL \
                                      THEN 'In-Transit' ELSE orders.shipping_status END, \
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
        )?
        .run()
        .await
        .map_err(err)?;
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
             updated_at = ?2 WHERE id = ?3 AND awb_no IS NULL",
            &[text(awb), time(now), text(order_id)],
        )?];
        statements.extend(self.insert_events(order_id, std::slice::from_ref(booked), now)?);
        statements.extend(self.flag_latest(order_id, booked)?);
        self.db.batch(statements).await.map_err(err)?;
        Ok(AttachOutcome::Attached)
    }

    async fn save_syncs(&self, syncs: &[OrderSync]) -> Result<Vec<usize>, StoreError> {
        let mut statements = Vec::new();
        // Which statements insert each order's events, to count what they added.
        let mut inserts: Vec<std::ops::Range<usize>> = Vec::new();
        for sync in syncs {
            let start = statements.len();
            statements.extend(self.insert_events(&sync.order_id, &sync.events, sync.synced_at)?);
            inserts.push(start..statements.len());
            if let Some(latest) = &sync.latest {
                statements.extend(self.flag_latest(&sync.order_id, latest)?);
            }
            statements.push(self.statement(
                "UPDATE orders SET shipping_status = ?1, order_status = ?2, expected_delivery_date = ?3, \
                 last_synced_at = ?4, last_sync_error = NULL, updated_at = ?4 WHERE id = ?5",
                &[
                    text(sync.shipping_status.as_str()),
                    text(&sync.order_status),
                    opt_text(sync.expected_delivery.map(|d| d.format("%Y-%m-%d").to_string()).as_deref()),
                    time(sync.synced_at),
                    text(&sync.order_id),
                ],
            )?);
            if let Some(raw) = &sync.raw {
                statements.push(self.statement(
                    "INSERT INTO carrier_responses (order_id, fetched_at, http_status, body, truncated) \
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (order_id) DO UPDATE SET \
                     fetched_at = excluded.fetched_at, http_status = excluded.http_status, \
                     body = excluded.body, truncated = excluded.truncated",
                    &[
                        text(&sync.order_id),
                        time(sync.synced_at),
                        JsValue::from_f64(f64::from(raw.http_status)),
                        text(&raw.body),
                        JsValue::from_f64(if raw.truncated { 1.0 } else { 0.0 }),
                    ],
                )?);
            }
        }
        let results = self.db.batch(statements).await.map_err(err)?;
        Ok(inserts
            .into_iter()
            .map(|range| results[range].iter().map(changes).sum())
            .collect())
    }

    async fn record_sync_error(&self, order_ids: &[String], error: &str) -> Result<(), StoreError> {
        let statements = order_ids
            .iter()
            .map(|id| {
                self.statement(
                    "UPDATE orders SET last_sync_error = ?1 WHERE id = ?2",
                    &[text(error), text(id)],
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.db.batch(statements).await.map_err(err)?;
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
        let row: Option<Row> = self
            .statement(
                "SELECT fetched_at, http_status, body, truncated FROM carrier_responses WHERE order_id = ?1",
                &[text(order_id)],
            )?
            .first(None)
            .await
            .map_err(err)?;
        row.map(|r| {
            Ok(StoredResponse {
                fetched_at: parse_time(&r.fetched_at)?,
                http_status: r.http_status as u16,
                body: r.body,
                truncated: r.truncated != 0.0,
            })
        })
        .transpose()
    }
}
