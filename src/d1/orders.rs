//! `orders` (with their events and the carrier's last answer): reading snapshots, registering
//! orders and attaching waybills.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tracking_core::model::{Order, ShippingStatus, Snapshot, TrackingEvent, iso};
use tracking_core::ports::{AttachOutcome, OrderStore, OrderUpsert, StoreError, StoredResponse};
use tracking_core::utc;
use tracking_core::webhooks::WebhookEvent;

use super::events::EventRow;
use super::{D1Store, ids_json, opt_text, parse_time, text, time};
use d1_rows::{encode, encode_events, encode_identities};

pub(super) const ORDER_COLUMNS: &str = "id, customer_id, order_status, shipping_status, awb_no, courier, \
    shipping_error, expected_delivery_date, created_at, updated_at, last_synced_at, last_sync_error, \
    next_check_at, last_progress_at, polling_stopped_at, version";

#[derive(Deserialize)]
pub(super) struct OrderRow {
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
    version: f64,
    /// Only `snapshots` selects it: the order's events as JSON. (A field rather than a row type
    /// that flattens this one: serde's flatten would add its buffering code to the wasm.)
    #[serde(default)]
    events: Option<String>,
}

impl OrderRow {
    pub(super) fn into_order(self) -> Result<Order, StoreError> {
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
                .and_then(utc::parse_day),
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
            version: self.version as u64,
        })
    }
}

/// One order to create or update, as a row of [`UPSERT_ORDERS`]' JSON parameter.
#[derive(Serialize)]
struct UpsertRow<'a> {
    id: &'a str,
    c: &'a str,
    os: &'a str,
    ss: &'static str,
    a: Option<&'a str>,
    t: String,
}

fn upsert_rows(orders: &[OrderUpsert], now: DateTime<Utc>) -> Vec<UpsertRow<'_>> {
    orders
        .iter()
        .map(|OrderUpsert { order_id, input }| UpsertRow {
            id: order_id,
            c: &input.customer_id,
            os: &input.order_status,
            ss: if input.awb_no.is_some() {
                ShippingStatus::InTransit
            } else {
                ShippingStatus::Pending
            }
            .as_str(),
            a: input.awb_no.as_deref(),
            t: iso(input.created_at.unwrap_or(now)),
        })
        .collect()
}

/// Creates or updates the orders of `?1` at time `?2`. An update keeps the creation time and
/// the waybill; a waybill given to an order that had none makes it In-Transit.
const UPSERT_ORDERS: &str = "INSERT INTO orders (id, customer_id, order_status, shipping_status, \
      awb_no, created_at, updated_at, last_progress_at) \
    SELECT json_extract(value, '$.id'), json_extract(value, '$.c'), json_extract(value, '$.os'), \
      json_extract(value, '$.ss'), json_extract(value, '$.a'), json_extract(value, '$.t'), ?2, \
      CASE WHEN json_extract(value, '$.a') IS NULL THEN NULL ELSE ?2 END \
    FROM json_each(?1) WHERE true \
    ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, \
      order_status = excluded.order_status, \
      shipping_status = CASE WHEN orders.awb_no IS NULL AND excluded.awb_no IS NOT NULL \
                             THEN 'In-Transit' ELSE orders.shipping_status END, \
      last_progress_at = CASE WHEN orders.awb_no IS NULL AND excluded.awb_no IS NOT NULL \
                             THEN excluded.updated_at ELSE orders.last_progress_at END, \
      awb_no = COALESCE(orders.awb_no, excluded.awb_no), \
      updated_at = excluded.updated_at, version = orders.version + 1";

impl D1Store {
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

impl OrderStore for D1Store {
    async fn snapshots(&self, order_ids: &[String]) -> Result<Vec<Snapshot>, StoreError> {
        // One statement, one round trip: each order with its events, oldest first, as a JSON
        // array of rows in `EventRow`'s field order.
        let rows: Vec<OrderRow> = self
            .rows(
                &format!(
                    "SELECT {ORDER_COLUMNS}, (SELECT json_group_array(json_array(awb_no, \
                     carrier_status, status, description, scan_code, facility, city, state, country, \
                     place_key, event_at, is_latest) ORDER BY event_at, id) FROM tracking_events \
                     WHERE order_id = orders.id) AS events \
                     FROM orders WHERE id IN (SELECT value FROM json_each(?1))"
                ),
                &[ids_json(order_ids)],
            )
            .await?;
        let mut snapshots: Vec<Snapshot> = Vec::with_capacity(rows.len());
        for mut row in rows {
            let events = row
                .events
                .take()
                .ok_or_else(|| StoreError("D1 read an order without its events".into()))?;
            let events: Vec<EventRow> = serde_json::from_slice(events.as_bytes())
                .map_err(|e| StoreError(format!("unreadable events in D1: {e}")))?;
            let mut snapshot = Snapshot {
                order: row.into_order()?,
                latest: None,
                events: Vec::with_capacity(events.len()),
            };
            for event in events {
                let (event, is_latest) = event.into_event()?;
                if is_latest {
                    snapshot.latest = Some(event.clone());
                }
                snapshot.events.push(event);
            }
            snapshots.push(snapshot);
        }
        // In the order asked for.
        tracking_core::sorting::sort_by_key(&mut snapshots, |s| {
            order_ids.iter().position(|id| *id == s.order.id)
        });
        Ok(snapshots)
    }

    async fn orders_for_intake(
        &self,
        order_ids: &[String],
        awbs: &[String],
    ) -> Result<Vec<Order>, StoreError> {
        let rows: Vec<OrderRow> = self
            .rows(
                &format!(
                    "SELECT {ORDER_COLUMNS} FROM orders WHERE id IN (SELECT value FROM json_each(?1)) \
                     OR awb_no IN (SELECT value FROM json_each(?2))"
                ),
                &[ids_json(order_ids), ids_json(awbs)],
            )
            .await?;
        rows.into_iter().map(OrderRow::into_order).collect()
    }

    async fn upsert_orders(
        &self,
        orders: &[OrderUpsert],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Some(rows) = encode(&upsert_rows(orders, now)) else {
            return Ok(());
        };
        self.batch(vec![
            self.statement(UPSERT_ORDERS, &[text(&rows), time(now)])?,
        ])
        .await?;
        Ok(())
    }

    async fn attach_awb(
        &self,
        order_id: &str,
        booked: &TrackingEvent,
        now: DateTime<Utc>,
        messages: &dyn Fn(&Order) -> Vec<WebhookEvent>,
    ) -> Result<AttachOutcome, StoreError> {
        let awb = &booked.awb_no;
        let (order, holder) = self.order_and_awb_holder(order_id, Some(awb)).await?;
        if let Some(holder) = holder {
            return Ok(AttachOutcome::UsedByOrder(holder));
        }
        let Some(order) = order else {
            return Ok(AttachOutcome::NoSuchOrder);
        };
        match &order.awb_no {
            Some(existing) if existing == awb => return Ok(AttachOutcome::AlreadyAttached),
            Some(existing) => return Ok(AttachOutcome::OrderHasAnother(existing.clone())),
            None => {}
        }
        let mut statements = vec![self.statement(
            "UPDATE orders SET awb_no = ?1, order_status = 'Shipped', shipping_status = 'In-Transit', \
             updated_at = ?2, last_progress_at = ?2, next_check_at = NULL, polling_stopped_at = NULL, \
             version = version + 1 WHERE id = ?3 AND awb_no IS NULL",
            &[text(awb), time(now), text(order_id)],
        )?];
        let events = encode_events([(order_id, booked, iso(now).as_str())]);
        let latest = encode_identities([(order_id, booked)]);
        statements.extend(self.event_statements(events.as_deref(), latest.as_deref())?);
        self.batch_with_messages(statements, &messages(&order), now)
            .await?;
        Ok(AttachOutcome::Attached)
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
}
