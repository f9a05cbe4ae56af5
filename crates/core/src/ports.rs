//! The few traits the domain talks to the world through. `platform` implements them with D1,
//! KV, `fetch` and `Date`; tests implement them in memory.
//!
//! The futures are not `Send`: on Workers everything runs on one thread, and these traits are
//! only used through generics.
#![allow(async_fn_in_trait)]

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};

use crate::model::{Order, Snapshot, TrackingEvent};
use crate::push::{PushCounts, PushStats};
use crate::rules::merge::OrderSync;
use crate::runs::{RunTally, SyncRun};
use crate::webhooks::{AttemptRecord, Delivery, DeliveryJob, Endpoint, WebhookEvent};

/// Wall-clock time. Never `SystemTime::now()`, which panics on wasm.
pub trait Clock {
    fn now(&self) -> DateTime<Utc>;
}

/// Random numbers, for jitter (Workers: `crypto.getRandomValues`).
pub trait Random {
    fn next_u64(&self) -> u64;
}

/// Waits without blocking a thread (Workers: `Delay`).
pub trait Sleeper {
    async fn sleep(&self, ms: u64);
}

/// Where the domain's log lines go. Lines never carry personal data or credentials.
pub trait Log {
    fn info(&self, line: &str);
    fn warn(&self, line: &str);
}

/// An outbound HTTP request.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A request that got no HTTP answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// No complete answer within this many milliseconds.
    Timeout(u64),
    /// Refused, reset or dropped.
    Connection,
    /// The answer's body was longer than this many bytes; reading stopped there.
    TooLarge(usize),
}

pub trait HttpClient {
    /// Sends `request`, giving up after `timeout_ms` for the whole exchange, body included.
    async fn send(&self, request: HttpRequest, timeout_ms: u64) -> Result<HttpResponse, HttpError>;
}

/// A storage failure. The text is for logs, never for callers: it may name tables or bindings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key-value cache (Workers KV): the latest-status snapshots and the carrier's login token.
pub trait KeyValue {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// `ttl_secs` must be at least 60 on Workers KV.
    async fn put(&self, key: &str, value: &str, ttl_secs: Option<u64>) -> Result<(), StoreError>;
    /// Removes `key`; removing a key that is not there is no error.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
}

/// An order as the store's order system sends it to `PUT /api/admin/orders/:id`.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderInput {
    pub customer_id: String,
    pub order_status: String,
    pub created_at: Option<DateTime<Utc>>,
    /// A waybill the order already has (imported orders); no history is made for it.
    pub awb_no: Option<String>,
}

/// One order to create or update: its id and what the order system says of it.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderUpsert {
    pub order_id: String,
    pub input: OrderInput,
}

/// What attaching a waybill found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttachOutcome {
    Attached,
    NoSuchOrder,
    /// The order has this very waybill already: nothing changed.
    AlreadyAttached,
    /// The order has a different waybill.
    OrderHasAnother(String),
    /// Another order has this waybill.
    UsedByOrder(String),
}

/// The carrier's last answer for an order, as kept for admins.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredResponse {
    pub fetched_at: DateTime<Utc>,
    pub http_status: u16,
    pub body: String,
    pub truncated: bool,
}

/// An order due for a sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueShipment {
    pub order_id: String,
    pub awb_no: String,
}

/// Orders and their histories, as the track, admin and registration paths read and write them.
pub trait OrderStore {
    /// Orders with their history (oldest first) and latest event, in one round trip, in the
    /// order asked for; unknown ids are left out.
    async fn snapshots(&self, order_ids: &[String]) -> Result<Vec<Snapshot>, StoreError>;

    async fn snapshot(&self, order_id: &str) -> Result<Option<Snapshot>, StoreError> {
        let mut found = self.snapshots(&[order_id.to_owned()]).await?;
        Ok(found.pop())
    }

    /// The orders with these ids and the orders holding these waybills, in one round trip:
    /// what creating or updating them must check first (`service::intake`).
    async fn orders_for_intake(
        &self,
        order_ids: &[String],
        awbs: &[String],
    ) -> Result<Vec<Order>, StoreError>;
    /// Creates or updates orders, all or nothing (one D1 batch). A new order with a waybill is
    /// In-Transit and due for the next sync; an update keeps the order's creation time and
    /// waybill, and takes the given waybill only if it had none (then it is In-Transit). The
    /// waybills were checked by the caller; one another order holds fails the whole write.
    async fn upsert_orders(
        &self,
        orders: &[OrderUpsert],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Attaches a waybill and starts the history with `booked`, and records the webhook
    /// `messages` of the order (as found before the attach) as [`SyncStore::save_syncs`] does,
    /// all or nothing.
    async fn attach_awb(
        &self,
        order_id: &str,
        booked: &TrackingEvent,
        now: DateTime<Utc>,
        messages: &dyn Fn(&Order) -> Vec<WebhookEvent>,
    ) -> Result<AttachOutcome, StoreError>;
    async fn carrier_response(&self, order_id: &str) -> Result<Option<StoredResponse>, StoreError>;
}

/// What syncing needs: which shipments are due, saving what the carrier said, and the claim
/// that keeps one order's live refreshes to one at a time.
pub trait SyncStore {
    /// Takes for the sync queue the in-transit shipments whose next check has come by `now`,
    /// the longest-waiting first (those with no next check yet before all others), never the
    /// ones whose polling stopped, and marks them enqueued at `now` so that a second cron firing
    /// leaves them to the queue. Shipments marked before `retake_before` are taken again: their
    /// message was lost.
    async fn take_due(
        &self,
        now: DateTime<Utc>,
        retake_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DueShipment>, StoreError>;
    /// Clears the enqueued mark of shipments whose messages could not be sent, or whose sync
    /// was left to a change made meanwhile.
    async fn release(&self, order_ids: &[String]) -> Result<(), StoreError>;
    /// Carries out the syncs of several orders (clearing their enqueued marks) and records the
    /// webhook `messages` of the status changes they make, in one transaction: the messages
    /// whose ids are new, each with a pending delivery (created at `now`) to every enabled
    /// endpoint that asked for its type; a message recorded before (a re-sync, a redelivered
    /// queue message) changes nothing.
    ///
    /// All of it only if every order is still at the version its sync was planned from
    /// ([`OrderSync::from_version`]; an order no longer stored does not count). `false`: one
    /// has moved on, and nothing was written.
    async fn save_syncs(
        &self,
        syncs: &[OrderSync],
        messages: &[WebhookEvent],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Notes a failed sync on the orders, leaving their tracking alone. With `next_check_at`,
    /// the shipments also wait until then and lose their enqueued mark (their sync gave up).
    async fn record_sync_error(
        &self,
        order_ids: &[String],
        error: &str,
        next_check_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;
    /// Claims the right to refresh an order from the carrier now, unless someone claimed it after
    /// `not_before`. `None` when claimed; otherwise the time of the standing claim.
    async fn claim_refresh(
        &self,
        order_id: &str,
        now: DateTime<Utc>,
        not_before: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;
}

/// The record of sync runs.
pub trait RunLog {
    /// Records a sync run as started; returns its id.
    async fn start_run(&self, run: &SyncRun) -> Result<i64, StoreError>;
    /// Records how a run's invocation ended, added to what its consumers recorded already, as
    /// [`SyncRun::merged_into`] says (a queued run: how its producer ended).
    async fn finish_run(&self, id: i64, run: &SyncRun) -> Result<(), StoreError>;
    /// Adds what a consumer invocation did to a queued run, completing the run once every
    /// enqueued shipment is finished; one atomic write, as invocations run concurrently.
    async fn add_to_run(
        &self,
        id: i64,
        tally: &RunTally,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Shipments marked enqueued, and the oldest mark.
    async fn backlog(&self) -> Result<(usize, Option<DateTime<Utc>>), StoreError>;
    /// The latest runs, newest first.
    async fn recent_runs(&self, limit: usize) -> Result<Vec<SyncRun>, StoreError>;
}

/// Orders whose KV snapshot could not be written, for the next sync to repair; which orders KV
/// holds; and the day's budget of sync KV writes.
pub trait KvRepairs {
    /// Notes orders whose KV snapshot could not be written.
    async fn mark_kv_stale(
        &self,
        order_ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Orders whose KV snapshot needs rewriting, oldest mark first.
    async fn kv_stale(&self, limit: usize) -> Result<Vec<String>, StoreError>;
    async fn clear_kv_stale(&self, order_ids: &[String]) -> Result<(), StoreError>;
    /// Notes that KV holds these orders' snapshots until `until`.
    async fn note_cached(
        &self,
        order_ids: &[String],
        until: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Those of `order_ids` whose snapshot KV holds at `now`.
    async fn held_in_kv(
        &self,
        order_ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError>;
    /// Takes `count` of the day's `limit` sync KV writes; `false` (nothing taken) when they do
    /// not fit. Atomic: concurrent invocations never take more than the limit together.
    async fn reserve_kv_writes(
        &self,
        day: NaiveDate,
        count: usize,
        limit: usize,
    ) -> Result<bool, StoreError>;
}

/// How long a push message's id is remembered: past the longest a queue keeps a message (14
/// days), so that no redelivery comes after it is forgotten.
pub const PUSH_DELIVERIES_KEPT_DAYS: i64 = 15;

/// The time, at `now`, before which recorded push deliveries are forgotten: every store
/// forgets by this one rule.
pub fn push_deliveries_forgotten_before(now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::days(PUSH_DELIVERIES_KEPT_DAYS)
}

/// What is kept of pushed updates: running counts, and the pushed waybills no order has.
pub trait PushLog {
    /// Adds `counts` to the totals and notes `unmatched` waybills as seen at `now`, in one
    /// transaction, once per `delivery_id` (the queue message's: a redelivery adds nothing;
    /// an empty id is always added). Ids are remembered for [`PUSH_DELIVERIES_KEPT_DAYS`].
    async fn record_push(
        &self,
        delivery_id: &str,
        counts: &PushCounts,
        unmatched: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The totals and the `limit` unmatched waybills seen last.
    async fn push_stats(&self, limit: usize) -> Result<PushStats, StoreError>;
}

/// Webhook endpoints, the messages status changes made (the outbox), and their deliveries.
pub trait WebhookStore {
    async fn create_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError>;
    /// All endpoints, oldest first.
    async fn endpoints(&self) -> Result<Vec<Endpoint>, StoreError>;
    async fn endpoint(&self, id: &str) -> Result<Option<Endpoint>, StoreError>;
    /// Writes an existing endpoint's fields; `false` when it is gone.
    async fn update_endpoint(&self, endpoint: &Endpoint) -> Result<bool, StoreError>;
    /// Removes an endpoint and its deliveries; `false` when it was not there.
    async fn delete_endpoint(&self, id: &str) -> Result<bool, StoreError>;
    /// Records `event` with a pending delivery to this one endpoint (a ping); its id.
    async fn add_delivery(
        &self,
        endpoint_id: &str,
        event: &WebhookEvent,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
    /// The endpoint's latest deliveries, newest first, with their attempts.
    async fn deliveries(
        &self,
        endpoint_id: &str,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// Makes a delivery of this endpoint pending again, to be queued; `false` when there is no
    /// such delivery.
    async fn replay(&self, endpoint_id: &str, delivery: i64) -> Result<bool, StoreError>;
    /// Marks up to `limit` pending deliveries not on the queue as queued at `now` and returns
    /// them with their attempt counts; concurrent callers never take the same one. Pending
    /// deliveries queued before `retake_before` whose retry (if any) was due before it too are
    /// taken again: their message was lost.
    async fn claim_unqueued(
        &self,
        now: DateTime<Utc>,
        retake_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(i64, u32)>, StoreError>;
    /// Clears the queued mark of deliveries whose messages could not be sent.
    async fn unqueue(&self, deliveries: &[i64]) -> Result<(), StoreError>;
    /// What an attempt at this delivery needs; `None` when it (or its endpoint) is gone.
    async fn delivery_job(&self, delivery: i64) -> Result<Option<DeliveryJob>, StoreError>;
    /// Records an attempt, the delivery's new state and the endpoint's health, together.
    async fn record_attempt(&self, record: &AttemptRecord) -> Result<(), StoreError>;
}

/// The source of truth (D1): everything the tracking service stores. Implemented for anything
/// that implements the narrow traits.
pub trait Store: OrderStore + SyncStore + RunLog + KvRepairs + PushLog + WebhookStore {}

impl<T: OrderStore + SyncStore + RunLog + KvRepairs + PushLog + WebhookStore> Store for T {}

/// The circuit breaker's view of the carrier, shared by all invocations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BreakerState {
    /// Consecutive failed calls.
    pub failures: u32,
    /// While in the future, live calls are skipped; once past, one trial call may go through.
    pub open_until: Option<DateTime<Utc>>,
}

/// Where the breaker keeps its state (D1: strongly consistent, unlike KV).
pub trait CarrierHealth {
    async fn breaker(&self) -> Result<BreakerState, StoreError>;
    /// Claims the one trial call after a cool-down by pushing `open_until` to `until`; `false`
    /// when another invocation claimed it first.
    async fn claim_trial(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Counts a failure; opens the breaker until `open_until` once `threshold` follow in a row.
    async fn record_failure(
        &self,
        threshold: u32,
        open_until: DateTime<Utc>,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<BreakerState, StoreError>;
    /// Closes the breaker.
    async fn record_success(&self) -> Result<(), StoreError>;
}
