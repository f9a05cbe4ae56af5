//! The tracking service: answer from the cache, refresh from the carrier, register orders and
//! waybills. D1 is the source of truth; KV holds each order's snapshot for the hot path and is
//! rewritten whenever D1's state of the order changes.

use std::fmt;

use chrono::Duration;
use futures_util::future::join_all;

use super::carrier::{Carrier, CarrierError, WaybillRequest};
use super::merge::plan_batch;
use super::model::{ShippingStatus, Snapshot, TrackingEvent};
use super::response::Source;
use super::schedule::CheckSchedule;
use super::sync::{Spent, SyncRun, Trigger};
use crate::auth::Access;
use crate::ports::{
    AttachOutcome, Clock, KeyValue, Log, OrderInput, Store, StoreError, StoredResponse,
    UpsertOutcome,
};

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
    /// When each shipment in transit is next asked about.
    pub schedule: CheckSchedule,
}

/// Why a request could not be served. Mapped to HTTP in one place (`platform::http`).
#[derive(Clone, Debug, PartialEq)]
pub enum ServiceError {
    NotFound,
    Forbidden,
    Conflict { code: &'static str, message: String },
    Carrier(CarrierError),
    Store(StoreError),
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceError::NotFound => f.write_str("order not found"),
            ServiceError::Forbidden => f.write_str("not allowed to read this order"),
            ServiceError::Conflict { message, .. } => f.write_str(message),
            ServiceError::Carrier(e) => write!(f, "{e}"),
            ServiceError::Store(e) => write!(f, "storage: {e}"),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        ServiceError::Store(e)
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

/// What an admin sees of an order.
#[derive(Clone, Debug, PartialEq)]
pub struct AdminView {
    pub snapshot: Snapshot,
    pub carrier_response: Option<StoredResponse>,
    /// Whether the cache is stale and a waybill exists, so a refresh is worth it.
    pub stale: bool,
}

pub struct TrackingService<'a, S, K, C, T, L> {
    pub store: &'a S,
    pub kv: &'a K,
    pub carrier: &'a C,
    pub clock: &'a T,
    pub log: &'a L,
    pub settings: &'a ServiceSettings,
}

/// KV key of an order's snapshot. Versioned so that a change of shape never reads old entries.
pub fn snapshot_key(order_id: &str) -> String {
    format!("order:v1:{order_id}")
}

fn awb_in_use() -> ServiceError {
    ServiceError::Conflict {
        code: "AWB_IN_USE",
        message: "This waybill belongs to another order".into(),
    }
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
    pub(crate) async fn cache(&self, snapshot: &Snapshot) -> bool {
        let value = serde_json::to_string(snapshot).expect("snapshots serialise");
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

    /// The order's snapshot from D1, written through to KV.
    async fn load_from_store(&self, order_id: &str) -> Result<Snapshot, ServiceError> {
        let snapshot = self
            .store
            .snapshot(order_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        self.cache(&snapshot).await;
        Ok(snapshot)
    }

    /// The order's snapshot: KV first (the hot path), else D1, healing KV.
    pub async fn load(&self, order_id: &str) -> Result<Snapshot, ServiceError> {
        let cached = self
            .kv
            .get(&snapshot_key(order_id))
            .await
            .ok()
            .flatten()
            .and_then(|value| serde_json::from_str::<Snapshot>(&value).ok())
            .filter(|s| s.order.id == order_id);
        match cached {
            Some(snapshot) => Ok(snapshot),
            None => self.load_from_store(order_id).await,
        }
    }

    /// The customer's track request.
    pub async fn track(
        &self,
        order_id: &str,
        access: &Access,
        refresh: bool,
    ) -> Result<TrackOutcome, ServiceError> {
        // A refresh merges into D1's state, so it reads that (not the possibly older KV copy)
        // once, and answers from it if Blue Dart fails; a plain request reads KV.
        let snapshot = if refresh {
            self.store_snapshot(order_id).await?
        } else {
            self.load(order_id).await?
        };
        if !access.may_read(&snapshot.order) {
            return Err(ServiceError::Forbidden);
        }
        if snapshot.order.awb_no.is_none() {
            return Ok(TrackOutcome::NoAwb(snapshot.order.shipping_status));
        }
        if !refresh {
            return Ok(TrackOutcome::Tracking {
                snapshot: Box::new(snapshot),
                source: Source::Cached,
            });
        }
        if let Some(retry_after_secs) = self.refresh_wait(&snapshot).await? {
            return Ok(TrackOutcome::Tracking {
                snapshot: Box::new(snapshot),
                source: Source::RefreshLimited { retry_after_secs },
            });
        }
        match self.sync_snapshots(vec![snapshot.clone()], true).await {
            Ok(mut summaries) => Ok(TrackOutcome::Tracking {
                snapshot: Box::new(summaries.remove(0).snapshot),
                source: Source::Live,
            }),
            // Nothing was written: answer from the cache, saying why.
            Err(ServiceError::Carrier(e)) => Ok(TrackOutcome::Tracking {
                snapshot: Box::new(snapshot),
                source: Source::LiveFailed(e.to_string()),
            }),
            Err(e) => Err(e),
        }
    }

    /// How long until this order may be refreshed live again: `None` when it may now, and then
    /// this caller holds the claim, so concurrent requests make one carrier call between them.
    async fn refresh_wait(&self, stored: &Snapshot) -> Result<Option<u64>, ServiceError> {
        let interval = self.settings.refresh_interval;
        if interval <= Duration::zero() {
            return Ok(None);
        }
        let now = self.clock.now();
        let wait_from =
            |at: chrono::DateTime<chrono::Utc>| (at + interval - now).num_seconds().max(1) as u64;
        if let Some(synced) = stored
            .order
            .last_synced_at
            .filter(|at| now - *at < interval)
        {
            return Ok(Some(wait_from(synced)));
        }
        let standing = self
            .store
            .claim_refresh(&stored.order.id, now, now - interval)
            .await?;
        Ok(standing.map(wait_from))
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
        let result = self.sync_snapshots(vec![snapshot], false).await;
        self.count_batch(&mut run, 0, &ids, &result);
        self.finish(run, spent()).await;
        match result {
            Ok(mut summaries) => Ok(summaries.remove(0)),
            Err(ServiceError::Carrier(e)) => {
                self.store.record_sync_error(&ids, &e.to_string()).await?;
                Err(ServiceError::Carrier(e))
            }
            Err(e) => Err(e),
        }
    }

    /// Syncs these orders with one carrier call. Orders that vanished meanwhile are skipped.
    pub(crate) async fn sync_orders(
        &self,
        order_ids: &[String],
    ) -> Result<Vec<SyncSummary>, ServiceError> {
        let snapshots = self.store.snapshots(order_ids).await?;
        self.sync_snapshots(snapshots, false).await
    }

    /// The one sync path: a carrier call for all the snapshots' waybills, the writes of all of
    /// them in one transaction, then KV for those whose tracking changed (all of them when
    /// `always_cache`: a customer asked). A failure anywhere before the save changes nothing.
    pub(crate) async fn sync_snapshots(
        &self,
        snapshots: Vec<Snapshot>,
        always_cache: bool,
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
        let now = self.clock.now();
        let plans = plan_batch(
            &snapshots,
            reply,
            self.settings.raw_max_bytes,
            &self.settings.schedule,
            now,
        );
        self.store.save_syncs(&plans).await?;
        let mut summaries = Vec::with_capacity(snapshots.len());
        for ((before, plan), awb) in snapshots.into_iter().zip(&plans).zip(&awbs) {
            let after = before.applied(plan);
            let changed = !after.same_tracking(&before);
            if changed {
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
        // The batch's KV writes go out together rather than one after another.
        let writes = summaries
            .iter()
            .filter(|s| s.changed || always_cache)
            .map(|s| self.cache(&s.snapshot));
        join_all(writes).await;
        Ok(summaries)
    }

    /// The latest sync runs, newest first.
    pub async fn recent_runs(&self, limit: usize) -> Result<Vec<SyncRun>, ServiceError> {
        Ok(self.store.recent_runs(limit).await?)
    }

    /// What an admin sees: straight from D1, with the last carrier answer and whether a
    /// background refresh is due.
    pub async fn admin_view(&self, order_id: &str) -> Result<AdminView, ServiceError> {
        let snapshot = self.load_from_store(order_id).await?;
        let carrier_response = self.store.carrier_response(order_id).await?;
        let now = self.clock.now();
        let fresh = snapshot
            .order
            .last_synced_at
            .is_some_and(|at| now - at < self.settings.stale_after);
        let stale = snapshot.order.awb_no.is_some() && !fresh;
        Ok(AdminView {
            snapshot,
            carrier_response,
            stale,
        })
    }

    /// Creates or updates an order as the store's order system sees it.
    pub async fn put_order(
        &self,
        order_id: &str,
        input: &OrderInput,
    ) -> Result<(Snapshot, bool), ServiceError> {
        let created = match self
            .store
            .upsert_order(order_id, input, self.clock.now())
            .await?
        {
            UpsertOutcome::Created => true,
            UpsertOutcome::Updated => false,
            UpsertOutcome::AwbInUse => return Err(awb_in_use()),
        };
        Ok((self.load_from_store(order_id).await?, created))
    }

    /// Attaches a waybill made elsewhere: the order becomes Shipped / In-Transit and its history
    /// starts with a "booked" entry.
    pub async fn attach_awb(&self, order_id: &str, awb: &str) -> Result<Snapshot, ServiceError> {
        let now = self.clock.now();
        let booked = TrackingEvent::booked(awb, now);
        match self.store.attach_awb(order_id, &booked, now).await? {
            AttachOutcome::Attached | AttachOutcome::AlreadyAttached => {}
            AttachOutcome::NoSuchOrder => return Err(ServiceError::NotFound),
            AttachOutcome::OrderHasAnother(_) => {
                return Err(ServiceError::Conflict {
                    code: "AWB_EXISTS",
                    message: "This order has a different waybill already".into(),
                });
            }
            AttachOutcome::UsedByOrder(_) => return Err(awb_in_use()),
        }
        self.log.info(&format!(
            "[TRACKING SAVED] AWB {awb} attached to order {order_id}"
        ));
        self.load_from_store(order_id).await
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
        self.attach_awb(&request.order_id, &awb).await
    }
}
