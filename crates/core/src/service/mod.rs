//! The tracking service: answer from the cache, refresh from the carrier, register orders and
//! waybills. D1 is the source of truth; KV holds each order's snapshot for the hot path and is
//! rewritten whenever D1's state of the order changes.
//!
//! A customer's request is authorised against the KV snapshot, and a refresh is rate-limited
//! from it (plus a short KV claim key), so that D1 is touched only on a KV miss or when a live
//! carrier call is about to happen; the D1 claim then makes that call single-flight. Unknown
//! order ids are remembered in KV for a minute, and customers get the same answer for an order
//! that does not exist as for one that is not theirs.

pub mod intake;
mod join;
pub mod push;
pub mod queue;
pub mod sync;

use chrono::{DateTime, Duration, Utc};
use futures_util::future::join;
use join::join_all;

use crate::access::Access;
use crate::carrier::{Carrier, CarrierError, TrackingReply, WaybillRequest};
pub use crate::error::ServiceError;
use crate::model::{Order, ShippingStatus, Snapshot, Source, TrackingEvent, iso, valid_awb};
use crate::ports::{AttachOutcome, Clock, KeyValue, Log, Store, StoreError, StoredResponse};
use crate::rules::budget::Spent;
use crate::rules::merge::{OrderSync, plan_batch, settle};
use crate::rules::schedule::CheckSchedule;
use crate::runs::{QueueBacklog, SyncRun, Trigger};
use crate::webhooks::delivery::WebhookSettings;
use crate::webhooks::service::Webhooks;
use crate::webhooks::{WebhookEvent, status_events};

/// Knobs from configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceSettings {
    /// After this long without a sync, an admin look triggers a background refresh.
    pub stale_after: Duration,
    /// The most of a carrier answer kept for admins, in bytes.
    pub raw_max_bytes: usize,
    /// The least time between two live refreshes of one order (zero: no limit).
    pub refresh_interval: Duration,
    /// How long a KV snapshot lives without being rewritten: a bound on how stale it can get.
    pub cache_ttl_secs: u64,
    /// KV writes the syncs may make a day (UTC), for orders customers hold in KV; customers'
    /// own reads and refreshes write outside it.
    pub kv_sync_writes_per_day: usize,
    /// When each shipment in transit is next asked about.
    pub schedule: CheckSchedule,
    pub webhooks: WebhookSettings,
    /// Customers' cached answers rendered into KV beside the snapshot (`None`: not kept).
    pub cached_view: Option<CachedView>,
}

/// A customer's cached answer, rendered whenever an order's snapshot is written to KV and kept
/// in the same value, so that a cached read parses the order alone (for its owner and waybill)
/// and answers with the kept text instead of parsing the history and rendering it again.
/// The renderer is the HTTP layer's; the service only keeps and checks what it wrote.
#[derive(Clone, Copy, Debug)]
pub struct CachedView {
    /// Changes with every change to what `render` writes: a view of another version is never
    /// served (the answer is rendered from the snapshot instead).
    pub version: u32,
    pub render: fn(&Snapshot) -> String,
}

/// A version names what its renderer writes (function addresses say nothing reliable).
impl PartialEq for CachedView {
    fn eq(&self, other: &CachedView) -> bool {
        self.version == other.version
    }
}

/// The design's defaults, the one source for the worker's configuration (a `[vars]` entry left
/// out) and for the tests' in-memory world.
impl ServiceSettings {
    /// Whether live refreshes of one order are limited (a zero interval lifts the limit).
    fn limits_refreshes(&self) -> bool {
        self.refresh_interval > Duration::zero()
    }
}

impl Default for ServiceSettings {
    fn default() -> ServiceSettings {
        let schedule = CheckSchedule::default();
        ServiceSettings {
            stale_after: schedule.moving,
            raw_max_bytes: 16 * 1024,
            refresh_interval: Duration::seconds(60),
            cache_ttl_secs: 86_400,
            // The free plan allows 1,000 KV writes a day; customers' reads and refreshes and
            // the refresh claims use the rest.
            kv_sync_writes_per_day: 500,
            schedule,
            webhooks: WebhookSettings::default(),
            cached_view: None,
        }
    }
}

/// The answer to a track request.
#[derive(Clone, Debug, PartialEq)]
pub enum TrackOutcome {
    /// The order has no waybill yet; its shipping status.
    NoAwb(ShippingStatus),
    Tracking {
        snapshot: Box<Snapshot>,
        source: Source,
    },
}

/// What one order's sync did.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncSummary {
    pub snapshot: Snapshot,
    pub new_events: usize,
    pub previous_latest: Option<TrackingEvent>,
    /// Whether what a customer sees changed (and so KV was rewritten).
    pub changed: bool,
}

impl SyncSummary {
    /// Whether the order's latest status is another than before.
    pub fn status_changed(&self) -> bool {
        self.previous_latest.as_ref().map(|e| e.status)
            != self.snapshot.latest.as_ref().map(|e| e.status)
    }
}

/// What an admin sees of an order.
#[derive(Clone, Debug, PartialEq)]
pub struct AdminView {
    pub snapshot: Snapshot,
    pub carrier_response: Option<StoredResponse>,
    /// Whether the cache is stale and a waybill exists, so a refresh is worth it.
    pub stale: bool,
    pub background: Background,
}

/// Whether an admin's look at an order refreshes it from the carrier after answering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Background {
    /// Stale, and this caller holds the refresh claim: refresh it after answering.
    Scheduled,
    /// Stale, but another refresh (an admin's or a customer's) claimed it within the refresh
    /// interval: no second carrier call.
    Skipped { retry_after_secs: u64 },
    /// Synced recently enough.
    NotNeeded,
    /// No waybill to track.
    NoWaybill,
}

pub struct TrackingService<'a, S, K, C, T, L> {
    pub store: &'a S,
    pub kv: &'a K,
    pub carrier: &'a C,
    pub clock: &'a T,
    pub log: &'a L,
    pub settings: &'a ServiceSettings,
    /// Where a customer's refresh leaves its KV write for after the answer, when the platform
    /// runs work after answering; `None`: written before answering.
    pub deferred: Option<&'a Deferred>,
}

/// Snapshots a customer's refresh saved in D1 whose KV copy is written after the answer has
/// gone (on Workers, in `ctx.wait_until`, through [`TrackingService::cache_deferred`]). The
/// answer is built from the saved snapshot, not from KV; a KV failure there is noted for
/// repair as before.
#[derive(Debug, Default)]
pub struct Deferred(std::cell::RefCell<Vec<Snapshot>>);

impl Deferred {
    /// The snapshots waiting, leaving none.
    pub fn take(&self) -> Vec<Snapshot> {
        self.0.take()
    }
}

/// A merge's writes (saved in one transaction) and the snapshots they leave.
struct Merge {
    plans: Vec<OrderSync>,
    afters: Vec<Snapshot>,
    messages: Vec<WebhookEvent>,
    now: DateTime<Utc>,
}

/// How many times a merge tries its save, leaving out after each refusal the orders that moved
/// on under it, before giving up.
const MERGE_SAVE_ATTEMPTS: usize = 3;

/// The items of `items` whose positions `keep` says to keep, in order.
fn retain_at<T>(items: Vec<T>, keep: impl Fn(usize) -> bool) -> Vec<T> {
    items
        .into_iter()
        .enumerate()
        .filter(|(index, _)| keep(*index))
        .map(|(_, item)| item)
        .collect()
}

/// How many times a refresh plans its save before giving up, when the order keeps moving on
/// under it (each time after reading D1's state anew).
const REFRESH_SAVE_ATTEMPTS: usize = 3;

/// KV key of an order's snapshot. Versioned so that a change of shape never reads old entries.
pub fn snapshot_key(order_id: &str) -> String {
    format!("order:v1:{order_id}")
}

/// KV key of an order's latest refresh claim (its time): a cheap pre-filter in front of the
/// D1 claim, which stays the real single flight (KV is eventually consistent).
pub fn claim_key(order_id: &str) -> String {
    format!("refresh:v1:{order_id}")
}

/// The answer to a customer's cached (not refreshed) track request.
#[derive(Clone, Debug, PartialEq)]
pub enum CachedAnswer {
    /// The answer's text as [`CachedView::render`] wrote it into KV.
    View(String),
    Outcome(TrackOutcome),
}

/// The first line of a KV value that keeps a view: all a cached read parses (see
/// `TrackingService::kv_value`).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ViewHead<O> {
    view_version: u32,
    order: O,
}

/// What the snapshot key holds for an order id that D1 does not know.
pub const ABSENT: &str = "absent";
/// How long an unknown order id is remembered as unknown: KV's shortest TTL.
pub const ABSENT_TTL_SECS: u64 = 60;

/// What KV holds for an order.
enum Cached {
    Snapshot(Box<Snapshot>),
    /// Recently looked up in D1 and not there.
    Absent,
    /// Nothing usable: missing, unreadable, or KV failed.
    Miss,
}

fn awb_in_use() -> ServiceError {
    intake::AWB_IN_USE.into()
}

impl<S, K, C, T, L> TrackingService<'_, S, K, C, T, L>
where
    S: Store,
    K: KeyValue,
    C: Carrier,
    T: Clock,
    L: Log,
{
    /// Writes an order's snapshot to KV. A failure is logged and noted in D1 for the next sync
    /// to repair, not returned: D1 has the truth. Returns whether the write went through.
    pub(crate) async fn write_snapshot(&self, snapshot: &Snapshot) -> bool {
        let value = self.kv_value(snapshot);
        let id = &snapshot.order.id;
        let ttl = Some(self.settings.cache_ttl_secs);
        let Err(e) = self.kv.put(&snapshot_key(id), &value, ttl).await else {
            return true;
        };
        self.log
            .warn(&format!("[CACHE] KV write for order {id} failed: {e}"));
        let ids = [id.clone()];
        if let Err(e) = self.store.mark_kv_stale(&ids, self.clock.now()).await {
            self.log.warn(&format!(
                "[CACHE] Could not note order {id} for repair: {e}"
            ));
        }
        false
    }

    /// Writes snapshots to KV together. The ids written.
    async fn write_snapshots(&self, snapshots: &[&Snapshot]) -> Vec<String> {
        let writes = snapshots.iter().map(|snapshot| async move {
            self.write_snapshot(snapshot)
                .await
                .then(|| snapshot.order.id.clone())
        });
        join_all(writes).await.into_iter().flatten().collect()
    }

    /// Writes snapshots to KV together and notes in D1 until when KV holds them, so that the
    /// sync knows which orders customers hold there. The ids written.
    pub(crate) async fn cache_snapshots(&self, snapshots: &[&Snapshot]) -> Vec<String> {
        let written = self.write_snapshots(snapshots).await;
        if !written.is_empty() {
            let until = self.clock.now() + Duration::seconds(self.settings.cache_ttl_secs as i64);
            if let Err(e) = self.store.note_cached(&written, until).await {
                self.log
                    .warn(&format!("[CACHE] Could not note KV snapshots as held: {e}"));
            }
        }
        written
    }

    /// Writes the snapshots a refresh deferred (see [`Deferred`]); its save noted them as held.
    pub async fn cache_deferred(&self, snapshots: &[Snapshot]) {
        let snapshots: Vec<&Snapshot> = snapshots.iter().collect();
        self.write_snapshots(&snapshots).await;
    }

    /// Those of `snapshots` whose KV copy customers still hold; on a storage failure all of
    /// them, as rewriting is the safe side.
    async fn held_in_kv<'s>(
        &self,
        snapshots: Vec<&'s Snapshot>,
        now: DateTime<Utc>,
    ) -> Vec<&'s Snapshot> {
        let ids: Vec<String> = snapshots.iter().map(|s| s.order.id.clone()).collect();
        match self.store.held_in_kv(&ids, now).await {
            Ok(held) => snapshots
                .into_iter()
                .filter(|s| held.contains(&s.order.id))
                .collect(),
            Err(e) => {
                self.log.warn(&format!(
                    "[CACHE] Could not tell which snapshots KV holds: {e}"
                ));
                snapshots
            }
        }
    }

    /// Whether the day's budget of sync KV writes has room for `count` more (and takes it).
    pub(crate) async fn kv_budget_allows(&self, count: usize) -> bool {
        let day = self.clock.now().date_naive();
        match self
            .store
            .reserve_kv_writes(day, count, self.settings.kv_sync_writes_per_day)
            .await
        {
            Ok(true) => true,
            Ok(false) => {
                self.log.warn(&format!(
                    "[CACHE] The day's {} sync KV writes are spent; {count} snapshots wait for tomorrow's repair",
                    self.settings.kv_sync_writes_per_day
                ));
                false
            }
            Err(e) => {
                self.log
                    .warn(&format!("[CACHE] Could not reserve KV writes: {e}"));
                false
            }
        }
    }

    /// The order's snapshot from D1, written through to KV.
    async fn load_from_store(&self, order_id: &str) -> Result<Snapshot, ServiceError> {
        let snapshot = self.store_snapshot(order_id).await?;
        self.cache_snapshots(&[&snapshot]).await;
        Ok(snapshot)
    }

    /// What KV keeps for `snapshot`: its JSON; when views are kept, after two lines of their
    /// own — the view's version and the order, then the customer's answer as the HTTP layer
    /// rendered it (its tag and body; `null` for an order without a waybill, whose answer is
    /// NO_AWB):
    ///
    /// ```text
    /// {"viewVersion":2,"order":{…}}
    /// "64786f14f16176fc" {"success":true,…}
    /// {"order":{…},"latest":{…},"events":[…]}
    /// ```
    ///
    /// so that a cached read parses the first line alone and finds the others by their line
    /// breaks (compact JSON has none of its own: a newline in a string is written `\n`).
    fn kv_value(&self, snapshot: &Snapshot) -> String {
        let json = serde_json::to_string(snapshot).expect("snapshots serialise");
        let Some(view) = self.settings.cached_view else {
            return json;
        };
        let head = ViewHead {
            view_version: view.version,
            order: &snapshot.order,
        };
        let head = serde_json::to_string(&head).expect("orders serialise");
        let rendered = match snapshot.order.awb_no {
            Some(_) => (view.render)(snapshot),
            None => "null".to_owned(),
        };
        format!("{head}\n{rendered}\n{json}")
    }

    async fn kv_text(&self, order_id: &str) -> Option<String> {
        self.kv.get(&snapshot_key(order_id)).await.ok().flatten()
    }

    fn parse_cached(order_id: &str, value: Option<String>) -> Cached {
        let Some(value) = value else {
            return Cached::Miss;
        };
        if value == ABSENT {
            return Cached::Absent;
        }
        // The snapshot is the last line, or the whole value when no view is kept with it.
        let json = value
            .rsplit_once('\n')
            .map_or(value.as_str(), |(_, last)| last);
        match serde_json::from_slice::<Snapshot>(json.as_bytes()) {
            Ok(snapshot) if snapshot.order.id == order_id => Cached::Snapshot(Box::new(snapshot)),
            _ => Cached::Miss,
        }
    }

    async fn cached(&self, order_id: &str) -> Cached {
        Self::parse_cached(order_id, self.kv_text(order_id).await)
    }

    /// The order's snapshot: KV first (the hot path), else D1, healing KV. An id D1 does not
    /// know is remembered as unknown for [`ABSENT_TTL_SECS`], so asking again costs no D1 read.
    pub async fn load(&self, order_id: &str) -> Result<Snapshot, ServiceError> {
        self.load_from(order_id, self.cached(order_id).await).await
    }

    /// [`Self::load`] with KV's answer already read.
    async fn load_from(&self, order_id: &str, cached: Cached) -> Result<Snapshot, ServiceError> {
        match cached {
            Cached::Snapshot(snapshot) => Ok(*snapshot),
            Cached::Absent => Err(ServiceError::NotFound),
            Cached::Miss => match self.store.snapshot(order_id).await? {
                Some(snapshot) => {
                    self.cache_snapshots(&[&snapshot]).await;
                    Ok(snapshot)
                }
                None => {
                    // Best effort: a failure only means the next miss reads D1 again.
                    let key = snapshot_key(order_id);
                    let _ = self.kv.put(&key, ABSENT, Some(ABSENT_TTL_SECS)).await;
                    Err(ServiceError::NotFound)
                }
            },
        }
    }

    /// Rewrites KV from D1's snapshot unless KV holds exactly what would be written (the
    /// snapshot, and its view of this version): a read is cheap, and KV takes one write per
    /// second per key.
    async fn heal(&self, snapshot: &Snapshot) {
        if self.kv_text(&snapshot.order.id).await.as_deref() == Some(&self.kv_value(snapshot)) {
            return;
        }
        self.cache_snapshots(&[snapshot]).await;
    }

    /// The order and its view (`None` for `null`) in a KV value, if the value keeps a view of
    /// this version for `order_id`.
    fn view_head<'v>(&self, order_id: &str, value: &'v str) -> Option<(Order, Option<&'v str>)> {
        let version = self.settings.cached_view?.version;
        let (head, rest) = value.split_once('\n')?;
        let (view, _) = rest.split_once('\n')?;
        let head: ViewHead<Order> = serde_json::from_slice(head.as_bytes()).ok()?;
        (head.view_version == version && head.order.id == order_id)
            .then(|| (head.order, (view != "null").then_some(view)))
    }

    /// A customer's track request without a refresh: the same answer as
    /// [`Self::track`]`(…, false)`, but when KV keeps the order's rendered view, that text,
    /// having parsed the order alone.
    pub async fn track_cached(
        &self,
        order_id: &str,
        access: &Access,
    ) -> Result<CachedAnswer, ServiceError> {
        let value = self.kv_text(order_id).await;
        if let Some((order, view)) = value.as_deref().and_then(|v| self.view_head(order_id, v)) {
            if !access.may_read(&order) {
                return Err(ServiceError::NotFound);
            }
            match (&order.awb_no, view) {
                (None, _) => {
                    return Ok(CachedAnswer::Outcome(TrackOutcome::NoAwb(
                        order.shipping_status,
                    )));
                }
                (Some(_), Some(view)) => return Ok(CachedAnswer::View(view.to_owned())),
                // Not written so; answered from the snapshot below.
                (Some(_), None) => {}
            }
        }
        let cached = self
            .load_from(order_id, Self::parse_cached(order_id, value))
            .await?;
        self.answer_cached(cached, access)
            .map(CachedAnswer::Outcome)
    }

    /// The cached answer for a snapshot read for a customer, or why there is none.
    fn answer_cached(
        &self,
        cached: Snapshot,
        access: &Access,
    ) -> Result<TrackOutcome, ServiceError> {
        if !access.may_read(&cached.order) {
            return Err(ServiceError::NotFound);
        }
        Ok(match cached.order.awb_no {
            None => TrackOutcome::NoAwb(cached.order.shipping_status),
            Some(_) => TrackOutcome::Tracking {
                snapshot: Box::new(cached),
                source: Source::Cached,
            },
        })
    }

    /// The customer's track request.
    ///
    /// Authorised against the cached snapshot (D1 only on a KV miss). An order that does not
    /// exist and one the credentials do not cover answer alike. A refresh is limited from what
    /// KV knows (the snapshot's sync time, the claim key) before the D1 claim is tried; only the
    /// caller that wins it calls the carrier, merges the answer into KV's copy and saves it if
    /// D1 holds that version still (else reads D1's state and merges into that), and answers
    /// from KV's copy if the carrier fails.
    pub async fn track(
        &self,
        order_id: &str,
        access: &Access,
        refresh: bool,
    ) -> Result<TrackOutcome, ServiceError> {
        // A refresh under the limit also needs the claim key: read beside the snapshot, so
        // the pre-filter costs no round trip of its own.
        let (cached, seen) = if refresh && self.settings.limits_refreshes() {
            join(self.load(order_id), self.seen_claim(order_id)).await
        } else {
            (self.load(order_id).await, None)
        };
        let cached = match self.answer_cached(cached?, access)? {
            TrackOutcome::Tracking { snapshot, .. } if refresh => *snapshot,
            outcome => return Ok(outcome),
        };
        if let Some(retry_after_secs) = self.claim_refresh(&cached, seen).await? {
            return Ok(TrackOutcome::Tracking {
                snapshot: Box::new(cached),
                source: Source::RefreshLimited { retry_after_secs },
            });
        }
        // This caller holds the claim, so the live call happens (the claim key written beside
        // it). Its answer is merged into KV's copy and saved only if D1 still holds the order
        // at that copy's version; else into D1's state, read then. A refresh so costs the call
        // and the save, and a D1 read only when KV is behind.
        let awbs = [cached.order.awb_no.clone().unwrap_or_default()];
        let (_, reply) = join(self.note_claim(order_id), self.carrier.track(&awbs)).await;
        let reply = match reply {
            Ok(reply) => reply,
            // Nothing was written: answer from the cache, saying why in words fit for a
            // customer; the detail goes to the log.
            Err(e) => {
                if !matches!(e, CarrierError::CircuitOpen { .. }) {
                    self.log.warn(&format!(
                        "[TRACKING] Live refresh of order {order_id} failed: {}",
                        e.detail()
                    ));
                }
                return Ok(TrackOutcome::Tracking {
                    snapshot: Box::new(cached),
                    source: Source::LiveFailed(e.customer_message()),
                });
            }
        };
        let mut base = cached;
        for _ in 0..REFRESH_SAVE_ATTEMPTS {
            // Planned from `base`, so saved only while D1 holds the order at its version.
            let merge = self.plan_merge(std::slice::from_ref(&base), reply.clone(), true);
            let saved = self
                .store
                .save_syncs(&merge.plans, &merge.messages, merge.now)
                .await?;
            if saved {
                let mut summaries = self.finish_merge(vec![base], merge, true).await;
                return Ok(TrackOutcome::Tracking {
                    snapshot: Box::new(summaries.remove(0).snapshot),
                    source: Source::Live,
                });
            }
            let stored = self.store_snapshot(order_id).await?;
            if !access.may_read(&stored.order) {
                return Err(ServiceError::NotFound);
            }
            if stored.order.awb_no.is_none() {
                return Ok(TrackOutcome::NoAwb(stored.order.shipping_status));
            }
            if stored.order.awb_no != base.order.awb_no {
                // Not reachable while waybills are attached once; never merge an answer about
                // another waybill into this order.
                return Ok(TrackOutcome::Tracking {
                    snapshot: Box::new(stored),
                    source: Source::Cached,
                });
            }
            base = stored;
        }
        Err(ServiceError::Store(StoreError(format!(
            "order {order_id} changed under {REFRESH_SAVE_ATTEMPTS} refresh saves in a row"
        ))))
    }

    /// Seconds until `snapshot`'s order may be refreshed again, if it was synced within the
    /// refresh interval.
    fn synced_within_interval(&self, snapshot: &Snapshot) -> Option<u64> {
        let interval = self.settings.refresh_interval;
        let now = self.clock.now();
        snapshot
            .order
            .last_synced_at
            .filter(|at| now - *at < interval)
            .map(|at| wait_until(at + interval, now))
    }

    /// Claims the right to refresh this order from the carrier now (customers' `forceRefresh`
    /// and admins' background refreshes alike). `None` when claimed: this caller makes the one
    /// call. Otherwise the seconds until a refresh is allowed again.
    ///
    /// The cheap checks come first: the snapshot's sync time and `seen`, the KV claim key's
    /// time ([`Self::seen_claim`], which callers read beside the snapshot). They are only a
    /// pre-filter — KV is eventually consistent, and concurrent callers all miss the key — so
    /// the D1 claim, which D1 grants to exactly one caller, decides. The winner writes the key
    /// with [`Self::note_claim`], beside its call.
    async fn claim_refresh(
        &self,
        snapshot: &Snapshot,
        seen: Option<DateTime<Utc>>,
    ) -> Result<Option<u64>, ServiceError> {
        if !self.settings.limits_refreshes() {
            return Ok(None);
        }
        let interval = self.settings.refresh_interval;
        if let Some(wait) = self.synced_within_interval(snapshot) {
            return Ok(Some(wait));
        }
        let now = self.clock.now();
        if let Some(at) = seen.filter(|at| now - *at < interval) {
            return Ok(Some(wait_until(at + interval, now)));
        }
        let standing = self
            .store
            .claim_refresh(&snapshot.order.id, now, now - interval)
            .await?;
        Ok(standing.map(|at| wait_until(at + interval, now)))
    }

    /// When the KV claim key says this order's refresh was last claimed, if it says so (a
    /// missing, unreadable or garbled key is no claim: the D1 claim still decides).
    async fn seen_claim(&self, order_id: &str) -> Option<DateTime<Utc>> {
        let value = self.kv.get(&claim_key(order_id)).await.ok().flatten()?;
        crate::utc::parse(&value)
    }

    /// Writes the KV claim key of a claim this caller won (only the winner: KV takes one write
    /// per second per key). It only spares later callers the D1 claim, so nothing waits for it
    /// before the carrier call.
    async fn note_claim(&self, order_id: &str) {
        if !self.settings.limits_refreshes() {
            return;
        }
        let interval = self.settings.refresh_interval;
        let ttl = (interval.num_seconds() as u64).max(ABSENT_TTL_SECS);
        let now = iso(self.clock.now());
        let _ = self.kv.put(&claim_key(order_id), &now, Some(ttl)).await;
    }

    async fn store_snapshot(&self, order_id: &str) -> Result<Snapshot, ServiceError> {
        self.store
            .snapshot(order_id)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    /// Syncs one order with the carrier now (admin sync, background refresh), recorded as a
    /// run. A carrier failure is recorded on the order and returned; its tracking stays as it
    /// was.
    pub async fn sync_order(
        &self,
        order_id: &str,
        trigger: Trigger,
        spent: impl Fn() -> Spent,
    ) -> Result<SyncSummary, ServiceError> {
        let snapshot = self.store_snapshot(order_id).await?;
        if snapshot.order.awb_no.is_none() {
            return Err(ServiceError::Conflict {
                code: "NO_AWB",
                message: "Shipment not initiated for this order yet".into(),
            });
        }
        // No retries here: an admin is waiting for the answer.
        let mut run = self.start_run(trigger, 1).await;
        let ids = [order_id.to_owned()];
        let result = self.sync_snapshots(vec![snapshot]).await;
        self.count_batch(&mut run, 0, &ids, &result);
        self.finish(run, spent()).await;
        match result {
            Ok(mut summaries) if !summaries.is_empty() => Ok(summaries.remove(0)),
            // The order changed while it synced, and the sync left it to that change.
            Ok(_) => {
                let snapshot = self.store_snapshot(order_id).await?;
                Ok(SyncSummary {
                    previous_latest: snapshot.latest.clone(),
                    snapshot,
                    new_events: 0,
                    changed: false,
                })
            }
            Err(ServiceError::Carrier(e)) => {
                self.store
                    .record_sync_error(&ids, &e.to_string(), None)
                    .await?;
                Err(ServiceError::Carrier(e))
            }
            Err(e) => Err(e),
        }
    }

    /// The sync path: a carrier call for all the snapshots' waybills, the writes of all of
    /// them in one transaction, then KV for those whose tracking changed and that customers
    /// hold in KV. A failure anywhere before the save changes nothing. (A customer's refresh
    /// makes its call beside its D1 read and merges with `merge_reply` itself.)
    pub(crate) async fn sync_snapshots(
        &self,
        snapshots: Vec<Snapshot>,
    ) -> Result<Vec<SyncSummary>, ServiceError> {
        let snapshots: Vec<Snapshot> = snapshots
            .into_iter()
            .filter(|s| s.order.awb_no.is_some())
            .collect();
        if snapshots.is_empty() {
            return Ok(Vec::new());
        }
        let awbs: Vec<String> = snapshots
            .iter()
            .filter_map(|s| s.order.awb_no.clone())
            .collect();
        let reply = self
            .carrier
            .track(&awbs)
            .await
            .map_err(ServiceError::Carrier)?;
        self.merge_reply(snapshots, reply, false).await
    }

    /// Merges a carrier reply (polled or pushed) into the snapshots' orders: the plans of all
    /// of them saved in one transaction, then KV for those whose tracking changed and that
    /// customers hold in KV (all of them when `always_cache`). Snapshots need a waybill.
    ///
    /// An order that moved on between the read and the save (a customer's refresh saved it, or
    /// an admin's update of the order) is left out, its summary with it, and the rest saved:
    /// its plan would write over the newer state. Callers that cannot leave it to the next
    /// poll (a push) merge it again into what is stored.
    pub(crate) async fn merge_reply(
        &self,
        mut snapshots: Vec<Snapshot>,
        reply: TrackingReply,
        always_cache: bool,
    ) -> Result<Vec<SyncSummary>, ServiceError> {
        let mut merge = self.plan_merge(&snapshots, reply, always_cache);
        for _ in 0..MERGE_SAVE_ATTEMPTS {
            if self
                .store
                .save_syncs(&merge.plans, &merge.messages, merge.now)
                .await?
            {
                return Ok(self.finish_merge(snapshots, merge, always_cache).await);
            }
            let ids: Vec<String> = snapshots.iter().map(|s| s.order.id.clone()).collect();
            let stored = self.store.snapshots(&ids).await?;
            let kept: Vec<bool> = snapshots
                .iter()
                .map(|s| {
                    stored.iter().any(|now| {
                        now.order.id == s.order.id && now.order.version == s.order.version
                    })
                })
                .collect();
            if kept.iter().all(|k| *k) {
                break;
            }
            for (snapshot, _) in snapshots.iter().zip(&kept).filter(|(_, kept)| !**kept) {
                self.log.info(&format!(
                    "[TRACKING SYNC] Order {} changed while it synced; left to that change",
                    snapshot.order.id
                ));
            }
            let keep = |index: usize| kept[index];
            snapshots = retain_at(snapshots, keep);
            merge.plans = retain_at(std::mem::take(&mut merge.plans), keep);
            merge.afters = retain_at(std::mem::take(&mut merge.afters), keep);
            merge.messages.retain(|m| {
                snapshots
                    .iter()
                    .any(|s| m.order_id.as_deref() == Some(s.order.id.as_str()))
            });
            if snapshots.is_empty() {
                return Ok(Vec::new());
            }
        }
        Err(ServiceError::Store(StoreError(
            "the orders kept changing while their sync saved".into(),
        )))
    }

    /// The writes of merging `reply` into the snapshots, and what they leave.
    fn plan_merge(
        &self,
        snapshots: &[Snapshot],
        reply: TrackingReply,
        always_cache: bool,
    ) -> Merge {
        let now = self.clock.now();
        let mut plans = plan_batch(
            snapshots,
            reply,
            self.settings.raw_max_bytes,
            &self.settings.schedule,
            now,
        );
        if always_cache {
            // Every snapshot goes to KV after the save: the save notes it as held, so that no
            // D1 write of its own follows. A KV write that then fails is marked for repair,
            // and a note that outlives its snapshot only makes a later sync rewrite it.
            let until = now + Duration::seconds(self.settings.cache_ttl_secs as i64);
            for plan in &mut plans {
                plan.kv_held_until = Some(until);
            }
        }
        let afters: Vec<Snapshot> = snapshots
            .iter()
            .zip(&mut plans)
            .map(|(before, plan)| settle(before, plan))
            .collect();
        // Every status change, whichever path found it, is recorded for the webhooks in the
        // transaction that saves it: both land or neither (a later sync finds it again).
        let messages: Vec<WebhookEvent> = snapshots
            .iter()
            .zip(&plans)
            .zip(&afters)
            .flat_map(|((before, plan), after)| {
                status_events(before.latest.as_ref(), after, &plan.events, now)
            })
            .collect();
        Merge {
            plans,
            afters,
            messages,
            now,
        }
    }

    /// After a merge's save: the log, and KV.
    async fn finish_merge(
        &self,
        snapshots: Vec<Snapshot>,
        merge: Merge,
        always_cache: bool,
    ) -> Vec<SyncSummary> {
        let Merge {
            plans, afters, now, ..
        } = merge;
        let mut summaries = Vec::with_capacity(snapshots.len());
        for ((before, plan), after) in snapshots.into_iter().zip(&plans).zip(afters) {
            let changed = plan.moves_version;
            if changed {
                let awb = after.order.awb_no.as_deref().unwrap_or_default();
                self.log
                    .info(&format!("[TRACKING SAVED] AWB {awb} tracking updated"));
            }
            if after.order.order_status == "Delivered" && before.order.order_status != "Delivered" {
                self.log.info(&format!(
                    "[TRACKING SYNC] Order {} marked as delivered",
                    after.order.id
                ));
            }
            summaries.push(SyncSummary {
                new_events: plan.events.len(),
                previous_latest: before.latest,
                snapshot: after,
                changed,
            });
        }
        // KV is rewritten for a customer's own refresh (after the answer when the platform
        // defers it), and otherwise only for changed orders
        // customers hold in KV (the others read D1's new state on their next KV miss), within
        // the day's budget; what the budget cannot cover is repaired by a later sync.
        let changed: Vec<&Snapshot> = summaries
            .iter()
            .filter(|s| s.changed || always_cache)
            .map(|s| &s.snapshot)
            .collect();
        let wanted = if always_cache || changed.is_empty() {
            changed
        } else {
            self.held_in_kv(changed, now).await
        };
        if let (true, Some(deferred)) = (always_cache, self.deferred) {
            deferred.0.borrow_mut().extend(wanted.into_iter().cloned());
        } else if always_cache {
            self.write_snapshots(&wanted).await;
        } else if wanted.is_empty() || self.kv_budget_allows(wanted.len()).await {
            self.cache_snapshots(&wanted).await;
        } else {
            let ids: Vec<String> = wanted.iter().map(|s| s.order.id.clone()).collect();
            if let Err(e) = self.store.mark_kv_stale(&ids, now).await {
                self.log
                    .warn(&format!("[CACHE] Could not note snapshots for repair: {e}"));
            }
        }
        summaries
    }

    /// The latest sync runs, newest first.
    pub async fn recent_runs(&self, limit: usize) -> Result<Vec<SyncRun>, ServiceError> {
        Ok(self.store.recent_runs(limit).await?)
    }

    /// What waits on the sync queue, and for how long the oldest has.
    pub async fn queue_backlog(&self) -> Result<QueueBacklog, ServiceError> {
        let (enqueued, oldest) = self.store.backlog().await?;
        Ok(QueueBacklog {
            enqueued,
            oldest_enqueued_at: oldest,
            oldest_age_seconds: oldest.map(|at| (self.clock.now() - at).num_seconds().max(0)),
        })
    }

    /// What an admin sees: straight from D1, with the last carrier answer and whether a
    /// background refresh is due. KV is rewritten only if it differs from D1. A stale order is
    /// refreshed in the background only by the caller that wins its refresh claim, the same
    /// claim customers' refreshes take, so repeated looks make one carrier call.
    pub async fn admin_view(&self, order_id: &str) -> Result<AdminView, ServiceError> {
        // Two independent D1 reads, side by side.
        let (snapshot, carrier_response) = join(
            self.store_snapshot(order_id),
            self.store.carrier_response(order_id),
        )
        .await;
        let snapshot = snapshot?;
        let carrier_response = carrier_response?;
        self.heal(&snapshot).await;
        let now = self.clock.now();
        let fresh = snapshot
            .order
            .last_synced_at
            .is_some_and(|at| now - at < self.settings.stale_after);
        let stale = snapshot.order.awb_no.is_some() && !fresh;
        let background = if snapshot.order.awb_no.is_none() {
            Background::NoWaybill
        } else if !stale {
            Background::NotNeeded
        } else {
            let seen = self.seen_claim(order_id).await;
            match self.claim_refresh(&snapshot, seen).await? {
                None => {
                    self.note_claim(order_id).await;
                    Background::Scheduled
                }
                Some(retry_after_secs) => Background::Skipped { retry_after_secs },
            }
        };
        Ok(AdminView {
            snapshot,
            carrier_response,
            stale,
            background,
        })
    }

    /// Attaches a waybill made elsewhere: the order becomes Shipped / In-Transit and its history
    /// starts with a "booked" entry.
    pub async fn attach_awb(&self, order_id: &str, awb: &str) -> Result<Snapshot, ServiceError> {
        let now = self.clock.now();
        let booked = TrackingEvent::booked(awb, now);
        // The shipment's first status, booked, recorded for the webhooks with the attach.
        let messages = |order: &Order| {
            let attached = Snapshot {
                order: Order {
                    awb_no: Some(awb.to_owned()),
                    ..order.clone()
                },
                latest: Some(booked.clone()),
                events: vec![booked.clone()],
            };
            status_events(None, &attached, &[], now)
        };
        match self
            .store
            .attach_awb(order_id, &booked, now, &messages)
            .await?
        {
            AttachOutcome::Attached | AttachOutcome::AlreadyAttached => {}
            AttachOutcome::NoSuchOrder => return Err(ServiceError::NotFound),
            AttachOutcome::OrderHasAnother(_) => return Err(intake::AWB_EXISTS.into()),
            AttachOutcome::UsedByOrder(_) => return Err(awb_in_use()),
        };
        self.log.info(&format!(
            "[TRACKING SAVED] AWB {awb} attached to order {order_id}"
        ));
        self.load_from_store(order_id).await
    }

    /// The webhook services over this service's store, clock and log.
    pub fn webhooks(&self) -> Webhooks<'_, S, T, L> {
        Webhooks {
            store: self.store,
            clock: self.clock,
            log: self.log,
            settings: &self.settings.webhooks,
        }
    }

    /// Books the shipment with the carrier and attaches the new waybill.
    pub async fn generate_awb(&self, request: &WaybillRequest) -> Result<Snapshot, ServiceError> {
        let snapshot = self.store_snapshot(&request.order_id).await?;
        if snapshot.order.awb_no.is_some() {
            return Err(ServiceError::Conflict {
                code: "AWB_EXISTS",
                message: "This order has a waybill already".into(),
            });
        }
        let awb = self
            .carrier
            .generate_waybill(request)
            .await
            .map_err(ServiceError::Carrier)?;
        // Whatever the carrier sent goes into D1, KV and every answer: it must be a waybill.
        if !valid_awb(&awb) {
            self.log.warn(&format!(
                "[WAYBILL] Blue Dart answered order {} with a waybill number that is not 9-12 digits; not stored",
                request.order_id
            ));
            return Err(ServiceError::Carrier(CarrierError::UnreadableAnswer));
        }
        self.attach_awb(&request.order_id, &awb).await
    }
}

/// Whole seconds from `now` until `at`, at least one.
fn wait_until(at: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    (at - now).num_seconds().max(1) as u64
}
