//! The background sync: every due in-transit shipment, in batches (one carrier call per batch),
//! a pause between calls, within the platform's per-invocation budgets.

use chrono::Duration;

use super::{ServiceError, SyncSummary, TrackingService};
use crate::carrier::{Carrier, CarrierError};
use crate::ports::{Clock, DueShipment, KeyValue, Log, Random, Sleeper, Store};
use crate::rules::budget::{Budget, Spent, backoff_ms, first_batch_estimate, limit_in_the_way};
use crate::runs::{BatchFailure, RunStatus, SyncRun, Trigger};

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

/// KV snapshots repaired per run, at most.
const KV_REPAIRS_PER_RUN: usize = 50;

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
            if self.write_snapshot(snapshot).await {
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
