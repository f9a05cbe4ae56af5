//! What every sync shares: its knobs, the record of its runs, the count of a batch's outcome,
//! and the repair of KV snapshots whose writes failed. The hourly sync itself runs on the
//! queues (`service::queue`).

use super::{ServiceError, SyncSummary, TrackingService};
use crate::carrier::Carrier;
use crate::ports::{Clock, KeyValue, Log, Store};
use crate::rules::budget::{Budget, Spent};
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
    /// Retries of a message whose call failed transiently (timeout, outage, throttling), before
    /// it is split (several shipments) or dead-lettered (one).
    pub retries: u32,
    /// First retry waits about this long; each later one twice as long, jittered.
    pub retry_base_ms: u64,
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
            Ok(summaries) => {
                run.succeeded += summaries.len();
                // Left out of the save: changed while they synced.
                run.skipped += ids.len() - summaries.len();
            }
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
    pub(crate) async fn repair_kv(&self) {
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
        if !self.kv_budget_allows(snapshots.len()).await {
            return;
        }
        let mut repaired = self
            .cache_snapshots(&snapshots.iter().collect::<Vec<_>>())
            .await;
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

    /// Ends a run's invocation: a run that was not stopped or failed has completed, unless it
    /// left shipments on the queue (their consumers complete it).
    pub(crate) async fn finish(&self, mut run: SyncRun, spent: Spent) -> SyncRun {
        let queued = run.status == RunStatus::Running && run.enqueued > 0;
        if run.status == RunStatus::Running && !queued {
            run.status = RunStatus::Completed;
        }
        run.finished_at = Some(self.clock.now());
        run.invocations += 1;
        run.carrier_calls = spent.subrequests;
        run.d1_queries = spent.d1_queries;
        run.kv_operations = spent.kv_operations;
        run.busiest_invocation = spent;
        if queued {
            self.log.info(&format!(
                "[TRACKING SYNC] Enqueued {} shipments in {} messages",
                run.enqueued, run.batches
            ));
        } else {
            self.log.info(&format!(
                "[TRACKING SYNC] Completed: {} success, {} failed",
                run.succeeded, run.failed
            ));
        }
        if let Some(id) = run.id
            && let Err(e) = self.store.finish_run(id, &run).await
        {
            self.log.warn(&format!(
                "[TRACKING SYNC] Could not record the run's end: {e}"
            ));
        }
        if queued {
            run.finished_at = None;
        }
        run
    }
}
