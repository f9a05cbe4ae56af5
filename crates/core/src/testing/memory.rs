//! In-memory implementations of the domain's ports, for native tests: a store with D1's
//! semantics (unique event identity, one latest flag, unique waybills, all-or-nothing batches),
//! a KV that can be made to fail, a settable clock, a log that keeps its lines, and a scripted
//! carrier.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::carrier::{Carrier, CarrierError, TrackingReply, WaybillRequest};
use crate::model::{Order, ShippingStatus, Snapshot, TrackingEvent};
use crate::ports::{
    AttachOutcome, BreakerState, CarrierHealth, Clock, DueShipment, KeyValue, KvRepairs, Log,
    OrderInput, OrderStore, OrderUpsert, PushLog, Random, RunLog, Sleeper, StoreError,
    StoredResponse, SyncStore, push_deliveries_forgotten_before,
};
use crate::push::{PushCounts, PushStats, UnmatchedPush};
use crate::rules::merge::OrderSync;
use crate::runs::{RUNS_KEPT, RunTally, SyncRun};
use crate::service::{ServiceSettings, TrackingService};
use crate::webhooks::WebhookEvent;
use chrono::{DateTime, TimeZone, Utc};

/// Pending once, then ready: one turn of the executor.
struct OneTurn(bool);

impl Future for OneTurn {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Waits one turn of the executor, with `holding` set meanwhile.
async fn one_turn_holding(holding: &Cell<bool>) {
    holding.set(true);
    OneTurn(false).await;
    holding.set(false);
}

/// Records the pauses asked for and moves the clock on by them, instead of waiting.
pub struct FakeSleeper<'a> {
    pub clock: &'a FixedClock,
    pub pauses: RefCell<Vec<u64>>,
}

impl Sleeper for FakeSleeper<'_> {
    async fn sleep(&self, ms: u64) {
        self.pauses.borrow_mut().push(ms);
        self.clock
            .advance(chrono::Duration::milliseconds(ms as i64));
    }
}

pub struct FixedClock(pub Cell<DateTime<Utc>>);

impl FixedClock {
    pub fn at(y: i32, m: u32, d: u32, h: u32) -> FixedClock {
        FixedClock(Cell::new(Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()))
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.0.set(self.0.get() + by);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.get()
    }
}

/// The real time, for talking to the simulator (which signs tokens with it).
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

#[derive(Default)]
pub struct MemoryLog(pub RefCell<Vec<String>>);

impl MemoryLog {
    pub fn lines(&self) -> Vec<String> {
        self.0.borrow().clone()
    }
}

impl Log for MemoryLog {
    fn info(&self, line: &str) {
        self.0.borrow_mut().push(line.to_owned());
    }
    fn warn(&self, line: &str) {
        self.0.borrow_mut().push(format!("WARN {line}"));
    }
}

#[derive(Default)]
pub struct MemoryKv {
    pub entries: RefCell<HashMap<String, (String, Option<u64>)>>,
    pub failing: Cell<bool>,
    /// Only puts fail (KV's one write per second per key, say); reads and deletes work.
    pub failing_puts: Cell<bool>,
    pub reads: Cell<usize>,
    pub writes: Cell<usize>,
    pub deletes: Cell<usize>,
    /// Puts wait one turn of the executor before they land, as a KV write does, and `holding`
    /// is true meanwhile: a test can see what else the caller started while one waited.
    pub hold_puts: Cell<bool>,
    /// Gets wait one turn too, and `overlapped` records a get that began while another
    /// operation was waiting: the caller read side by side.
    pub hold_gets: Cell<bool>,
    pub overlapped: Cell<bool>,
    pub holding: Cell<bool>,
}

impl KeyValue for MemoryKv {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.reads.set(self.reads.get() + 1);
        if self.failing.get() {
            return Err(StoreError("kv down".into()));
        }
        if self.hold_gets.get() {
            self.overlapped
                .set(self.overlapped.get() || self.holding.get());
            one_turn_holding(&self.holding).await;
        }
        Ok(self.entries.borrow().get(key).map(|(v, _)| v.clone()))
    }

    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError> {
        self.writes.set(self.writes.get() + 1);
        if self.failing.get() || self.failing_puts.get() {
            return Err(StoreError("kv down".into()));
        }
        assert!(ttl.is_none_or(|t| t >= 60), "KV TTLs are at least 60 s");
        if self.hold_puts.get() {
            one_turn_holding(&self.holding).await;
        }
        self.entries
            .borrow_mut()
            .insert(key.to_owned(), (value.to_owned(), ttl));
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.deletes.set(self.deletes.get() + 1);
        if self.failing.get() {
            return Err(StoreError("kv down".into()));
        }
        self.entries.borrow_mut().remove(key);
        Ok(())
    }
}

#[derive(Default)]
struct StoreState {
    orders: BTreeMap<String, Order>,
    /// (order id, event, latest flag), in insertion order.
    events: Vec<(String, TrackingEvent, bool)>,
    responses: HashMap<String, StoredResponse>,
    /// By id; ids are never reused (D1: AUTOINCREMENT).
    runs: BTreeMap<i64, SyncRun>,
    last_run_id: i64,
    claims: HashMap<String, DateTime<Utc>>,
    kv_repairs: BTreeMap<String, DateTime<Utc>>,
    breaker: BreakerState,
    /// When each order was taken for the sync queue (D1: `orders.enqueued_at`).
    enqueued: HashMap<String, DateTime<Utc>>,
    /// Sync KV writes taken per day.
    kv_budget: HashMap<chrono::NaiveDate, usize>,
    /// Until when KV holds each order's snapshot (D1: `orders.kv_cached_until`).
    cached_until: HashMap<String, DateTime<Utc>>,
    push_counts: PushCounts,
    /// Push deliveries counted, with when.
    push_deliveries: BTreeMap<String, DateTime<Utc>>,
    unmatched: BTreeMap<String, UnmatchedPush>,
    /// Status changes the queued syncs counted in their runs.
    poll_status_changes: u64,
}

#[derive(Default)]
pub struct MemoryStore {
    state: RefCell<StoreState>,
    pub failing: Cell<bool>,
    /// A write of this order fails, and with it its whole batch (as a D1 trigger refusing it
    /// would make it).
    pub refuse_order: RefCell<Option<String>>,
    /// A write of webhook messages fails, and with it the save it belongs to.
    pub refuse_webhooks: Cell<bool>,
    /// The nth call (counting from one, all calls so far included) of this operation fails: a
    /// storage error in the middle of a flow.
    pub fail_call: Cell<Option<(&'static str, usize)>>,
    /// This operation (only `snapshots` so far) waits one turn of the executor before it
    /// answers, as a D1 round trip does, and `holding` is true meanwhile: a test can see what
    /// else the caller started while it waited.
    pub hold: Cell<Option<&'static str>>,
    pub holding: Cell<bool>,
    /// Operations that began while the held one waited: the caller ran them side by side.
    pub overlapped: RefCell<Vec<&'static str>>,
    /// How many times each operation ran: proves what the hot path does not touch.
    pub calls: RefCell<Vec<&'static str>>,
    pub webhooks: RefCell<super::webhooks::MemoryWebhooks>,
}

impl MemoryStore {
    /// A sync save's writes, all of them (the caller has checked what may refuse them but the
    /// messages).
    fn apply_syncs(
        &self,
        syncs: &[OrderSync],
        messages: &[WebhookEvent],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.check_messages(messages)?;
        let mut state = self.state.borrow_mut();
        for sync in syncs {
            for event in &sync.events {
                let exists = state
                    .events
                    .iter()
                    .any(|(_, e, _)| e.identity() == event.identity());
                if !exists {
                    state
                        .events
                        .push((sync.order_id.clone(), event.clone(), false));
                }
            }
            if let Some(latest) = &sync.latest {
                for row in state
                    .events
                    .iter_mut()
                    .filter(|(o, _, _)| *o == sync.order_id)
                {
                    row.2 = row.1.identity() == latest.identity();
                }
            }
            state.enqueued.remove(&sync.order_id);
            if let Some(order) = state.orders.get_mut(&sync.order_id) {
                sync.apply_to(order);
                order.version += u64::from(sync.moves_version);
            }
            if let Some(until) = sync.kv_held_until {
                state.cached_until.insert(sync.order_id.clone(), until);
            }
            if let Some(raw) = &sync.raw {
                state.responses.insert(
                    sync.order_id.clone(),
                    StoredResponse {
                        fetched_at: sync.synced_at,
                        http_status: raw.http_status,
                        body: raw.body.as_str().to_owned(),
                        truncated: raw.body.is_truncated(),
                    },
                );
            }
        }
        self.record_messages(messages, now);
        Ok(())
    }

    fn enter(&self, op: &'static str) -> Result<(), StoreError> {
        self.calls.borrow_mut().push(op);
        if self.holding.get() {
            self.overlapped.borrow_mut().push(op);
        }
        if self.failing.get() || self.fail_call.get() == Some((op, self.count(op))) {
            Err(StoreError("d1 down".into()))
        } else {
            Ok(())
        }
    }

    async fn round_trip(&self, op: &'static str) {
        if self.hold.get() == Some(op) {
            one_turn_holding(&self.holding).await;
        }
    }

    pub fn count(&self, op: &str) -> usize {
        self.calls.borrow().iter().filter(|c| **c == op).count()
    }

    pub fn event_rows(&self) -> usize {
        self.state.borrow().events.len()
    }

    pub fn order(&self, id: &str) -> Option<Order> {
        self.state.borrow().orders.get(id).cloned()
    }

    pub fn runs(&self) -> Vec<SyncRun> {
        self.state.borrow().runs.values().cloned().collect()
    }

    /// Sets an order's last sync time directly, as if synced then.
    pub fn set_synced(&self, id: &str, at: Option<DateTime<Utc>>) {
        if let Some(order) = self.state.borrow_mut().orders.get_mut(id) {
            order.last_synced_at = at;
        }
    }

    fn build_snapshot(state: &StoreState, id: &str) -> Option<Snapshot> {
        let order = state.orders.get(id)?.clone();
        let mut rows: Vec<(usize, &TrackingEvent, bool)> = state
            .events
            .iter()
            .enumerate()
            .filter(|(_, (o, _, _))| o == id)
            .map(|(i, (_, e, l))| (i, e, *l))
            .collect();
        rows.sort_by_key(|(i, e, _)| (e.event_at, *i));
        Some(Snapshot {
            order,
            latest: rows
                .iter()
                .find(|(_, _, l)| *l)
                .map(|(_, e, _)| (*e).clone()),
            events: rows.into_iter().map(|(_, e, _)| e.clone()).collect(),
        })
    }
}

fn new_order(id: &str, input: &OrderInput, now: DateTime<Utc>) -> Order {
    Order {
        id: id.to_owned(),
        customer_id: input.customer_id.clone(),
        order_status: input.order_status.clone(),
        shipping_status: if input.awb_no.is_some() {
            ShippingStatus::InTransit
        } else {
            ShippingStatus::Pending
        },
        awb_no: input.awb_no.clone(),
        courier: "bluedart".into(),
        shipping_error: None,
        expected_delivery_date: None,
        created_at: input.created_at.unwrap_or(now),
        updated_at: now,
        last_synced_at: None,
        last_sync_error: None,
        next_check_at: None,
        last_progress_at: input.awb_no.as_ref().map(|_| now),
        polling_stopped_at: None,
        version: 1,
    }
}

impl MemoryStore {
    pub fn queries(&self) -> usize {
        self.calls.borrow().len()
    }
}

impl OrderStore for MemoryStore {
    async fn snapshots(&self, order_ids: &[String]) -> Result<Vec<Snapshot>, StoreError> {
        self.enter("snapshots")?;
        self.round_trip("snapshots").await;
        let state = self.state.borrow();
        Ok(order_ids
            .iter()
            .filter_map(|id| Self::build_snapshot(&state, id))
            .collect())
    }

    async fn orders_for_intake(
        &self,
        order_ids: &[String],
        awbs: &[String],
    ) -> Result<Vec<Order>, StoreError> {
        self.enter("orders_for_intake")?;
        Ok(self
            .state
            .borrow()
            .orders
            .values()
            .filter(|o| {
                order_ids.contains(&o.id) || o.awb_no.as_ref().is_some_and(|a| awbs.contains(a))
            })
            .cloned()
            .collect())
    }

    async fn upsert_orders(
        &self,
        orders: &[OrderUpsert],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.enter("upsert_orders")?;
        let refused = self.refuse_order.borrow();
        if let Some(id) = orders
            .iter()
            .map(|o| &o.order_id)
            .find(|id| refused.as_ref() == Some(*id))
        {
            return Err(StoreError(format!("a trigger refused order {id}")));
        }
        // All or nothing, as a D1 batch: the writes go to a copy that replaces the state only
        // if every one of them holds.
        let mut after = self.state.borrow().orders.clone();
        for OrderUpsert { order_id, input } in orders {
            match after.get_mut(order_id) {
                Some(order) => {
                    order.customer_id = input.customer_id.clone();
                    order.order_status = input.order_status.clone();
                    if order.awb_no.is_none() && input.awb_no.is_some() {
                        order.awb_no = input.awb_no.clone();
                        order.shipping_status = ShippingStatus::InTransit;
                        order.last_progress_at = Some(now);
                    }
                    order.updated_at = now;
                    order.version += 1;
                }
                None => {
                    after.insert(order_id.clone(), new_order(order_id, input, now));
                }
            }
            let awb = after[order_id].awb_no.as_ref();
            if awb.is_some_and(|a| {
                after
                    .values()
                    .filter(|o| o.awb_no.as_ref() == Some(a))
                    .count()
                    > 1
            }) {
                return Err(StoreError("UNIQUE constraint failed: orders.awb_no".into()));
            }
        }
        self.state.borrow_mut().orders = after;
        Ok(())
    }

    async fn attach_awb(
        &self,
        order_id: &str,
        booked: &TrackingEvent,
        now: DateTime<Utc>,
        messages: &dyn Fn(&Order) -> Vec<WebhookEvent>,
    ) -> Result<AttachOutcome, StoreError> {
        self.enter("attach_awb")?;
        let mut state = self.state.borrow_mut();
        let awb = &booked.awb_no;
        if let Some(other) = state
            .orders
            .values()
            .find(|o| o.id != order_id && o.awb_no.as_ref() == Some(awb))
        {
            return Ok(AttachOutcome::UsedByOrder(other.id.clone()));
        }
        let Some(order) = state.orders.get_mut(order_id) else {
            return Ok(AttachOutcome::NoSuchOrder);
        };
        match &order.awb_no {
            Some(existing) if existing == awb => return Ok(AttachOutcome::AlreadyAttached),
            Some(existing) => return Ok(AttachOutcome::OrderHasAnother(existing.clone())),
            None => {}
        }
        let messages = messages(order);
        self.check_messages(&messages)?;
        order.awb_no = Some(awb.clone());
        order.order_status = "Shipped".into();
        order.shipping_status = ShippingStatus::InTransit;
        order.updated_at = now;
        order.last_progress_at = Some(now);
        order.next_check_at = None;
        order.polling_stopped_at = None;
        order.version += 1;
        for row in state.events.iter_mut().filter(|(o, _, _)| o == order_id) {
            row.2 = false;
        }
        state
            .events
            .push((order_id.to_owned(), booked.clone(), true));
        self.record_messages(&messages, now);
        Ok(AttachOutcome::Attached)
    }

    async fn carrier_response(&self, order_id: &str) -> Result<Option<StoredResponse>, StoreError> {
        self.enter("carrier_response")?;
        Ok(self.state.borrow().responses.get(order_id).cloned())
    }
}

impl SyncStore for MemoryStore {
    async fn take_due(
        &self,
        now: DateTime<Utc>,
        retake_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DueShipment>, StoreError> {
        self.enter("take_due")?;
        let mut state = self.state.borrow_mut();
        let mut due: Vec<&Order> = state
            .orders
            .values()
            .filter(|o| o.shipping_status == ShippingStatus::InTransit && o.awb_no.is_some())
            .filter(|o| o.polling_stopped_at.is_none())
            .filter(|o| o.next_check_at.is_none_or(|at| at <= now))
            .filter(|o| {
                state
                    .enqueued
                    .get(&o.id)
                    .is_none_or(|at| *at < retake_before)
            })
            .collect();
        due.sort_by_key(|o| (o.next_check_at, o.id.clone()));
        let taken: Vec<DueShipment> = due
            .into_iter()
            .take(limit)
            .map(|o| DueShipment {
                order_id: o.id.clone(),
                awb_no: o.awb_no.clone().unwrap(),
            })
            .collect();
        for shipment in &taken {
            state.enqueued.insert(shipment.order_id.clone(), now);
        }
        Ok(taken)
    }

    async fn release(&self, order_ids: &[String]) -> Result<(), StoreError> {
        self.enter("release")?;
        let mut state = self.state.borrow_mut();
        for id in order_ids {
            state.enqueued.remove(id);
        }
        Ok(())
    }

    async fn save_syncs(
        &self,
        syncs: &[OrderSync],
        messages: &[WebhookEvent],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.enter("save_syncs")?;
        self.round_trip("save_syncs").await;
        let current = {
            let state = self.state.borrow();
            syncs.iter().all(|sync| {
                state
                    .orders
                    .get(&sync.order_id)
                    .is_none_or(|o| o.version == sync.from_version)
            })
        };
        if !current {
            return Ok(false);
        }
        self.apply_syncs(syncs, messages, now)?;
        Ok(true)
    }

    async fn record_sync_error(
        &self,
        order_ids: &[String],
        error: &str,
        next_check_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.enter("record_sync_error")?;
        let mut state = self.state.borrow_mut();
        for id in order_ids {
            if let Some(order) = state.orders.get_mut(id) {
                order.last_sync_error = Some(error.to_owned());
                if next_check_at.is_some() {
                    order.next_check_at = next_check_at;
                }
            }
            if next_check_at.is_some() {
                state.enqueued.remove(id);
            }
        }
        Ok(())
    }

    async fn claim_refresh(
        &self,
        order_id: &str,
        now: DateTime<Utc>,
        not_before: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.enter("claim_refresh")?;
        let mut state = self.state.borrow_mut();
        match state.claims.get(order_id) {
            Some(at) if *at > not_before => Ok(Some(*at)),
            _ => {
                state.claims.insert(order_id.to_owned(), now);
                Ok(None)
            }
        }
    }
}

impl RunLog for MemoryStore {
    async fn start_run(&self, run: &SyncRun) -> Result<i64, StoreError> {
        self.enter("start_run")?;
        let mut state = self.state.borrow_mut();
        state.last_run_id += 1;
        let id = state.last_run_id;
        state.runs.insert(
            id,
            SyncRun {
                id: Some(id),
                ..run.clone()
            },
        );
        Ok(id)
    }

    async fn finish_run(&self, id: i64, run: &SyncRun) -> Result<(), StoreError> {
        self.enter("finish_run")?;
        let mut state = self.state.borrow_mut();
        if let Some(stored) = state.runs.get_mut(&id) {
            *stored = run.merged_into(stored);
        }
        state.runs.retain(|kept, _| *kept > id - RUNS_KEPT);
        Ok(())
    }

    async fn add_to_run(
        &self,
        id: i64,
        tally: &RunTally,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.enter("add_to_run")?;
        let mut state = self.state.borrow_mut();
        if let Some(run) = state.runs.get_mut(&id) {
            tally.apply_to(run, now);
            // D1: `sync_runs.status_changes`, read only as a sum by `push_stats`.
            state.poll_status_changes += tally.status_changes as u64;
        }
        Ok(())
    }

    async fn backlog(&self) -> Result<(usize, Option<DateTime<Utc>>), StoreError> {
        self.enter("backlog")?;
        let state = self.state.borrow();
        Ok((state.enqueued.len(), state.enqueued.values().min().copied()))
    }

    async fn recent_runs(&self, limit: usize) -> Result<Vec<SyncRun>, StoreError> {
        self.enter("recent_runs")?;
        Ok(self
            .state
            .borrow()
            .runs
            .values()
            .rev()
            .take(limit)
            .cloned()
            .collect())
    }
}

impl KvRepairs for MemoryStore {
    async fn mark_kv_stale(
        &self,
        order_ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.enter("mark_kv_stale")?;
        let mut state = self.state.borrow_mut();
        for id in order_ids {
            state.kv_repairs.entry(id.clone()).or_insert(now);
        }
        Ok(())
    }

    async fn kv_stale(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        self.enter("kv_stale")?;
        let state = self.state.borrow();
        let mut stale: Vec<(&DateTime<Utc>, &String)> = state
            .kv_repairs
            .iter()
            .map(|(id, since)| (since, id))
            .collect();
        stale.sort();
        Ok(stale
            .into_iter()
            .take(limit)
            .map(|(_, id)| id.clone())
            .collect())
    }

    async fn clear_kv_stale(&self, order_ids: &[String]) -> Result<(), StoreError> {
        self.enter("clear_kv_stale")?;
        let mut state = self.state.borrow_mut();
        for id in order_ids {
            state.kv_repairs.remove(id);
        }
        Ok(())
    }

    async fn note_cached(
        &self,
        order_ids: &[String],
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.enter("note_cached")?;
        let mut state = self.state.borrow_mut();
        for id in order_ids {
            state.cached_until.insert(id.clone(), until);
        }
        Ok(())
    }

    async fn held_in_kv(
        &self,
        order_ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        self.enter("held_in_kv")?;
        let state = self.state.borrow();
        Ok(order_ids
            .iter()
            .filter(|id| {
                state
                    .cached_until
                    .get(*id)
                    .is_some_and(|until| *until > now)
            })
            .cloned()
            .collect())
    }

    async fn reserve_kv_writes(
        &self,
        day: chrono::NaiveDate,
        count: usize,
        limit: usize,
    ) -> Result<bool, StoreError> {
        self.enter("reserve_kv_writes")?;
        let mut state = self.state.borrow_mut();
        let taken = state.kv_budget.entry(day).or_default();
        if *taken + count > limit {
            return Ok(false);
        }
        *taken += count;
        Ok(true)
    }
}

impl MemoryStore {
    pub fn kv_repairs(&self) -> Vec<String> {
        self.state.borrow().kv_repairs.keys().cloned().collect()
    }

    pub fn breaker_state(&self) -> BreakerState {
        self.state.borrow().breaker.clone()
    }
}

impl PushLog for MemoryStore {
    async fn record_push(
        &self,
        delivery_id: &str,
        counts: &PushCounts,
        unmatched: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.enter("record_push")?;
        let mut state = self.state.borrow_mut();
        if !delivery_id.is_empty() {
            let forget_before = push_deliveries_forgotten_before(now);
            state.push_deliveries.retain(|_, at| *at >= forget_before);
            if state.push_deliveries.contains_key(delivery_id) {
                return Ok(());
            }
            state.push_deliveries.insert(delivery_id.to_owned(), now);
        }
        state.push_counts.add(counts);
        for awb in unmatched {
            let entry = state
                .unmatched
                .entry(awb.clone())
                .or_insert_with(|| UnmatchedPush {
                    awb_no: awb.clone(),
                    first_seen_at: now,
                    last_seen_at: now,
                    times: 0,
                });
            entry.last_seen_at = now;
            entry.times += 1;
        }
        Ok(())
    }

    async fn push_stats(&self, limit: usize) -> Result<PushStats, StoreError> {
        self.enter("push_stats")?;
        let state = self.state.borrow();
        let mut unmatched: Vec<UnmatchedPush> = state.unmatched.values().cloned().collect();
        unmatched.sort_by(|a, b| {
            b.last_seen_at
                .cmp(&a.last_seen_at)
                .then(a.awb_no.cmp(&b.awb_no))
        });
        unmatched.truncate(limit);
        let mut counts = state.push_counts;
        counts.status_changes_poll += state.poll_status_changes;
        Ok(PushStats { counts, unmatched })
    }
}

impl CarrierHealth for MemoryStore {
    async fn breaker(&self) -> Result<BreakerState, StoreError> {
        self.enter("breaker")?;
        Ok(self.state.borrow().breaker.clone())
    }

    async fn claim_trial(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.enter("claim_trial")?;
        let mut state = self.state.borrow_mut();
        match state.breaker.open_until {
            Some(open) if open <= now => {
                state.breaker.open_until = Some(until);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn record_failure(
        &self,
        threshold: u32,
        open_until: DateTime<Utc>,
        _error: &str,
        _now: DateTime<Utc>,
    ) -> Result<BreakerState, StoreError> {
        self.enter("record_failure")?;
        let mut state = self.state.borrow_mut();
        state.breaker.failures += 1;
        if state.breaker.failures >= threshold {
            state.breaker.open_until = Some(open_until);
        }
        Ok(state.breaker.clone())
    }

    async fn record_success(&self) -> Result<(), StoreError> {
        self.enter("record_success")?;
        self.state.borrow_mut().breaker = BreakerState::default();
        Ok(())
    }
}

/// A random source that always says the same.
pub struct FixedRandom(pub u64);

impl Random for FixedRandom {
    fn next_u64(&self) -> u64 {
        self.0
    }
}

/// A carrier that answers from a script, one entry per call, and records what it was asked.
#[derive(Default)]
pub struct ScriptedCarrier {
    pub replies: RefCell<VecDeque<Result<TrackingReply, CarrierError>>>,
    pub waybills: RefCell<VecDeque<Result<String, CarrierError>>>,
    pub tracked: RefCell<Vec<Vec<String>>>,
}

impl ScriptedCarrier {
    pub fn then(&self, reply: Result<TrackingReply, CarrierError>) -> &Self {
        self.replies.borrow_mut().push_back(reply);
        self
    }
}

impl Carrier for ScriptedCarrier {
    async fn track(&self, awbs: &[String]) -> Result<TrackingReply, CarrierError> {
        self.tracked.borrow_mut().push(awbs.to_vec());
        self.replies
            .borrow_mut()
            .pop_front()
            .expect("the test scripted an answer for this call")
    }

    async fn generate_waybill(&self, _: &WaybillRequest) -> Result<String, CarrierError> {
        self.waybills
            .borrow_mut()
            .pop_front()
            .expect("the test scripted a waybill")
    }
}

/// The tracking service over the in-memory ports.
pub type Service<'a, C> = TrackingService<'a, MemoryStore, MemoryKv, C, FixedClock, MemoryLog>;

/// The tracking service over in-memory ports, with a carrier of the test's choosing.
pub struct World<C> {
    pub store: MemoryStore,
    pub kv: MemoryKv,
    pub carrier: C,
    pub clock: FixedClock,
    pub log: MemoryLog,
    pub settings: ServiceSettings,
}

impl<C: Carrier> World<C> {
    /// Starting 2026-11-24 10:00 UTC, with the default settings but no refresh interval.
    pub fn new(carrier: C) -> World<C> {
        World {
            store: MemoryStore::default(),
            kv: MemoryKv::default(),
            carrier,
            clock: FixedClock::at(2026, 11, 24, 10),
            log: MemoryLog::default(),
            settings: ServiceSettings {
                // Tests refresh whenever they like; the interval has tests of its own.
                refresh_interval: chrono::Duration::zero(),
                ..ServiceSettings::default()
            },
        }
    }

    pub fn service(&self) -> Service<'_, C> {
        self.service_with(&self.carrier)
    }

    /// The service over this world's ports, but talking to `carrier` (a guard around its own).
    pub fn service_with<'a, D: Carrier>(&'a self, carrier: &'a D) -> Service<'a, D> {
        TrackingService {
            store: &self.store,
            kv: &self.kv,
            carrier,
            clock: &self.clock,
            log: &self.log,
            settings: &self.settings,
            deferred: None,
        }
    }

    /// An order for `cust-1` with `awb` attached (history: the booked entry).
    pub fn shipped(&self, order_id: &str, awb: &str) {
        self.registered(order_id);
        pollster::block_on(self.service().attach_awb(order_id, awb)).unwrap();
    }

    /// An order for `cust-1`, processing, without a waybill.
    pub fn registered(&self, order_id: &str) {
        let input = OrderInput {
            customer_id: "cust-1".into(),
            order_status: "Processing".into(),
            created_at: None,
            awb_no: None,
        };
        pollster::block_on(self.service().put_order(order_id, &input)).unwrap();
    }
}
