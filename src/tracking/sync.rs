//! The background sync: every due in-transit shipment, in batches (one carrier call per batch),
//! a pause between calls, within the platform's per-invocation budgets.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::carrier::Carrier;
use super::carrier::CarrierError;
use super::service::{ServiceError, SyncSummary, TrackingService};
use crate::ports::{Clock, DueShipment, KeyValue, Log, Random, Sleeper, Store};

/// What started a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The hourly cron trigger.
    Cron,
    /// An admin's `POST …/sync`.
    Manual,
    /// An admin's look at a stale order.
    Background,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Cron => "cron",
            Trigger::Manual => "manual",
            Trigger::Background => "background",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    /// Every due shipment was tried.
    Completed,
    /// Stopped before a platform limit; the rest is left for the next run.
    Stopped,
    /// Could not start (the due shipments could not be listed).
    Failed,
}

/// A batch whose carrier call or save failed: nothing of its orders changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchFailure {
    /// 1-based.
    pub batch: usize,
    pub order_ids: Vec<String>,
    pub reason: String,
}

/// One sync run, as recorded in D1 and listed by `GET /api/admin/sync/runs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncRun {
    pub id: Option<i64>,
    pub trigger: Trigger,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Shipments due and selected for this run.
    pub considered: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub batches: usize,
    pub carrier_calls: usize,
    pub d1_queries: usize,
    pub kv_operations: usize,
    pub stop_reason: Option<String>,
    pub failures: Vec<BatchFailure>,
}

impl SyncRun {
    pub fn new(trigger: Trigger, started_at: DateTime<Utc>) -> SyncRun {
        SyncRun {
            id: None,
            trigger,
            status: RunStatus::Running,
            started_at,
            finished_at: None,
            considered: 0,
            succeeded: 0,
            failed: 0,
            batches: 0,
            carrier_calls: 0,
            d1_queries: 0,
            kv_operations: 0,
            stop_reason: None,
            failures: Vec::new(),
        }
    }
}

/// What an invocation has spent so far, as the platform measures it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Spent {
    /// Outbound HTTP calls (Blue Dart): the subrequest limit.
    pub subrequests: usize,
    pub d1_queries: usize,
    pub kv_operations: usize,
}

impl Spent {
    fn since(self, earlier: Spent) -> Spent {
        Spent {
            subrequests: self.subrequests.saturating_sub(earlier.subrequests),
            d1_queries: self.d1_queries.saturating_sub(earlier.d1_queries),
            kv_operations: self.kv_operations.saturating_sub(earlier.kv_operations),
        }
    }

    fn max(self, other: Spent) -> Spent {
        Spent {
            subrequests: self.subrequests.max(other.subrequests),
            d1_queries: self.d1_queries.max(other.d1_queries),
            kv_operations: self.kv_operations.max(other.kv_operations),
        }
    }
}

/// Per-invocation limits of the plan the worker runs on (configuration: free and paid differ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub subrequests: usize,
    pub d1_queries: usize,
    pub kv_operations: usize,
    pub wall_time: Duration,
}

/// Sync knobs (`[vars]`). When each shipment is due is the schedule's business.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncSettings {
    /// Waybills per carrier call.
    pub batch_size: usize,
    /// Pause between carrier calls.
    pub delay_ms: u64,
    /// Most shipments one run takes on.
    pub max_per_run: usize,
    /// Retries of a batch whose call failed transiently (timeout, outage, throttling).
    pub retries: u32,
    /// First retry waits about this long; each later one twice as long, jittered.
    pub retry_base_ms: u64,
    /// A carrier asking to wait longer than this is not retried in this run.
    pub retry_max_wait_secs: u64,
    pub budget: Budget,
}

/// The wait before retry `attempt` (0-based): exponential from `base_ms` with equal jitter
/// (half fixed, half random), and never shorter than what the carrier asked for.
pub fn backoff_ms(attempt: u32, base_ms: u64, random: u64, retry_after_secs: Option<u64>) -> u64 {
    let ceiling = base_ms.saturating_mul(1u64 << attempt.min(16));
    let jittered = ceiling / 2 + random % (ceiling / 2 + 1);
    jittered.max(retry_after_secs.unwrap_or(0).saturating_mul(1000))
}

/// KV snapshots repaired per run, at most.
const KV_REPAIRS_PER_RUN: usize = 50;

/// What one batch may cost before anything has been measured: a login, the call, and one
/// re-login and retry; reading the batch (2 queries), the breaker's state (1) and saving the
/// batch (at most 5); a KV write per order plus the token's read and write.
fn first_batch_estimate(batch_size: usize) -> Spent {
    Spent {
        subrequests: 4,
        d1_queries: 8,
        kv_operations: batch_size + 2,
    }
}

/// Recording how the run ended: one D1 batch of two statements.
const RUN_RECORD_QUERIES: usize = 2;

/// The first limit that one more batch costing `next` could break, if any. The run's own final
/// record is reserved for.
fn limit_in_the_way(
    budget: &Budget,
    spent: Spent,
    next: Spent,
    elapsed: Duration,
    next_time: Duration,
) -> Option<String> {
    let checks = [
        (
            "subrequest",
            spent.subrequests + next.subrequests,
            budget.subrequests,
        ),
        (
            "D1 query",
            spent.d1_queries + next.d1_queries + RUN_RECORD_QUERIES,
            budget.d1_queries,
        ),
        (
            "KV operation",
            spent.kv_operations + next.kv_operations,
            budget.kv_operations,
        ),
    ];
    for (name, would_be, limit) in checks {
        if would_be > limit {
            return Some(format!("{name} budget ({limit}) would be exceeded"));
        }
    }
    if elapsed + next_time > budget.wall_time {
        return Some(format!(
            "wall-time budget ({} s) would be exceeded",
            budget.wall_time.num_seconds()
        ));
    }
    None
}

impl<S, K, C, T, L> TrackingService<'_, S, K, C, T, L>
where
    S: Store,
    K: KeyValue,
    C: Carrier,
    T: Clock,
    L: Log,
{
    /// Syncs every due shipment, batch by batch, until done or a budget would be exceeded.
    /// Never fails: what went wrong is logged and recorded in the run.
    pub async fn sync_due(
        &self,
        settings: &SyncSettings,
        sleeper: &impl Sleeper,
        random: &impl Random,
        trigger: Trigger,
        spent: impl Fn() -> Spent,
    ) -> SyncRun {
        self.log.info("[TRACKING SYNC] Starting background sync...");
        let mut run = self.start_run(trigger, 0).await;
        let started = run.started_at;
        self.repair_kv().await;
        let due = match self
            .store
            .due_shipments(started, settings.max_per_run)
            .await
        {
            Ok(due) => due,
            Err(e) => {
                self.log.warn(&format!(
                    "[TRACKING SYNC] Could not list due shipments: {e}"
                ));
                run.status = RunStatus::Failed;
                run.stop_reason = Some("could not list due shipments: storage unavailable".into());
                return self.finish(run, spent()).await;
            }
        };
        run.considered = due.len();
        self.log.info(&format!(
            "[TRACKING SYNC] Syncing {} shipments...",
            due.len()
        ));

        let mut next_cost = first_batch_estimate(settings.batch_size);
        let mut next_time = Duration::milliseconds(settings.delay_ms as i64);
        let batches: Vec<&[DueShipment]> = due.chunks(settings.batch_size.max(1)).collect();
        for (index, batch) in batches.iter().enumerate() {
            let before = spent();
            let batch_started = self.clock.now();
            let elapsed = batch_started - started;
            if let Some(reason) =
                limit_in_the_way(&settings.budget, before, next_cost, elapsed, next_time)
            {
                self.stop_early(&mut run, &reason, &batches[index..]);
                break;
            }
            if index > 0 {
                sleeper.sleep(settings.delay_ms).await;
            }
            let ids: Vec<String> = batch.iter().map(|d| d.order_id.clone()).collect();
            let mut attempt = 0;
            let result = loop {
                let result = self.sync_orders(&ids).await;
                let Err(ServiceError::Carrier(error)) = &result else {
                    break result;
                };
                let wait = backoff_ms(
                    attempt,
                    settings.retry_base_ms,
                    random.next_u64(),
                    error.retry_after_secs(),
                );
                let asked_too_long = error
                    .retry_after_secs()
                    .is_some_and(|s| s > settings.retry_max_wait_secs);
                let elapsed = self.clock.now() - started + Duration::milliseconds(wait as i64);
                let affordable =
                    limit_in_the_way(&settings.budget, spent(), next_cost, elapsed, next_time)
                        .is_none();
                if !error.is_transient()
                    || attempt >= settings.retries
                    || asked_too_long
                    || !affordable
                {
                    break result;
                }
                attempt += 1;
                self.log.warn(&format!(
                    "[TRACKING SYNC] Batch {} attempt {attempt} failed: {error}; retrying in {wait} ms",
                    index + 1
                ));
                sleeper.sleep(wait).await;
            };
            // The breaker made no call: this batch and the rest wait for the next run.
            if let Err(ServiceError::Carrier(CarrierError::CircuitOpen { .. })) = &result {
                self.stop_early(&mut run, "Blue Dart's circuit is open", &batches[index..]);
                break;
            }
            // A failed batch is recorded in the run; its orders stay exactly as they were.
            self.count_batch(&mut run, index, &ids, &result);
            next_cost = next_cost.max(spent().since(before));
            next_time = next_time.max(self.clock.now() - batch_started);
        }
        self.finish(run, spent()).await
    }

    fn stop_early(&self, run: &mut SyncRun, reason: &str, left: &[&[DueShipment]]) {
        let left: usize = left.iter().map(|b| b.len()).sum();
        let reason = format!("{reason}; {left} shipments left for the next run");
        self.log
            .warn(&format!("[TRACKING SYNC] Stopping early: {reason}"));
        run.status = RunStatus::Stopped;
        run.stop_reason = Some(reason);
    }

    /// A run recorded as started (if the store can record it).
    pub(crate) async fn start_run(&self, trigger: Trigger, considered: usize) -> SyncRun {
        let mut run = SyncRun::new(trigger, self.clock.now());
        run.considered = considered;
        run.id = match self.store.start_run(&run).await {
            Ok(id) => Some(id),
            Err(e) => {
                self.log
                    .warn(&format!("[TRACKING SYNC] Could not record the run: {e}"));
                None
            }
        };
        run
    }

    /// Counts a batch in `run`: its successes, or its failure with the reason.
    pub(crate) fn count_batch(
        &self,
        run: &mut SyncRun,
        index: usize,
        ids: &[String],
        result: &Result<Vec<SyncSummary>, ServiceError>,
    ) {
        run.batches += 1;
        match result {
            Ok(summaries) => run.succeeded += summaries.len(),
            Err(e) => {
                // The run record keeps the safe message; the log also gets Blue Dart's own words.
                let reason = e.to_string();
                let detail = match e {
                    ServiceError::Carrier(carrier) => carrier.detail(),
                    other => other.to_string(),
                };
                self.log.warn(&format!(
                    "[TRACKING SYNC] Batch {} failed ({} shipments): {detail}",
                    index + 1,
                    ids.len()
                ));
                run.failed += ids.len();
                run.failures.push(BatchFailure {
                    batch: index + 1,
                    order_ids: ids.to_vec(),
                    reason,
                });
            }
        }
    }

    /// Rewrites the KV snapshots whose writes failed earlier.
    async fn repair_kv(&self) {
        let stale = match self.store.kv_stale(KV_REPAIRS_PER_RUN).await {
            Ok(stale) if !stale.is_empty() => stale,
            Ok(_) => return,
            Err(e) => {
                self.log
                    .warn(&format!("[CACHE] Could not list KV repairs: {e}"));
                return;
            }
        };
        let snapshots = match self.store.snapshots(&stale).await {
            Ok(snapshots) => snapshots,
            Err(e) => {
                self.log
                    .warn(&format!("[CACHE] Could not load orders to repair: {e}"));
                return;
            }
        };
        let mut repaired = Vec::new();
        for snapshot in &snapshots {
            if self.cache(snapshot).await {
                repaired.push(snapshot.order.id.clone());
            }
        }
        // Marks of orders that no longer exist go too.
        repaired.extend(
            stale
                .iter()
                .filter(|id| !snapshots.iter().any(|s| s.order.id == **id))
                .cloned(),
        );
        if let Err(e) = self.store.clear_kv_stale(&repaired).await {
            self.log
                .warn(&format!("[CACHE] Could not clear KV repairs: {e}"));
        } else {
            self.log
                .info(&format!("[CACHE] Repaired {} KV snapshots", repaired.len()));
        }
    }

    /// Ends a run: a run that was not stopped or failed has completed.
    pub(crate) async fn finish(&self, mut run: SyncRun, spent: Spent) -> SyncRun {
        if run.status == RunStatus::Running {
            run.status = RunStatus::Completed;
        }
        run.finished_at = Some(self.clock.now());
        run.carrier_calls = spent.subrequests;
        run.d1_queries = spent.d1_queries;
        run.kv_operations = spent.kv_operations;
        self.log.info(&format!(
            "[TRACKING SYNC] Completed: {} success, {} failed",
            run.succeeded, run.failed
        ));
        if let Some(id) = run.id
            && let Err(e) = self.store.finish_run(id, &run).await
        {
            self.log.warn(&format!(
                "[TRACKING SYNC] Could not record the run's end: {e}"
            ));
        }
        run
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget() -> Budget {
        Budget {
            subrequests: 50,
            d1_queries: 50,
            kv_operations: 1000,
            wall_time: Duration::minutes(14),
        }
    }

    #[test]
    fn the_first_limit_in_the_way_is_named() {
        let spent = Spent {
            subrequests: 10,
            d1_queries: 41,
            kv_operations: 10,
        };
        let next = first_batch_estimate(10);
        assert_eq!(
            limit_in_the_way(&budget(), spent, next, Duration::zero(), Duration::zero()),
            Some("D1 query budget (50) would be exceeded".into())
        );
        assert_eq!(
            limit_in_the_way(
                &budget(),
                Spent::default(),
                next,
                Duration::minutes(14),
                Duration::seconds(1)
            ),
            Some("wall-time budget (840 s) would be exceeded".into())
        );
        assert_eq!(
            limit_in_the_way(
                &budget(),
                Spent::default(),
                next,
                Duration::zero(),
                Duration::zero()
            ),
            None
        );
    }

    #[test]
    fn spending_is_measured_per_batch() {
        let a = Spent {
            subrequests: 3,
            d1_queries: 10,
            kv_operations: 4,
        };
        let b = Spent {
            subrequests: 4,
            d1_queries: 17,
            kv_operations: 9,
        };
        assert_eq!(
            b.since(a),
            Spent {
                subrequests: 1,
                d1_queries: 7,
                kv_operations: 5
            }
        );
        assert_eq!(
            a.max(b.since(a)),
            Spent {
                subrequests: 3,
                d1_queries: 10,
                kv_operations: 5
            }
        );
    }
}
