//! Sync runs as they are recorded and listed: what started a run, how it ended, what it did.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::rules::budget::Spent;

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
    /// Under way; for a queued run, until every enqueued shipment is synced, skipped or
    /// dead-lettered.
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

/// Runs the run log keeps: finishing a run deletes those more than this many runs older.
pub const RUNS_KEPT: i64 = 1000;

/// One sync run, as recorded in D1 and listed by `GET /api/admin/sync/runs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncRun {
    pub id: Option<i64>,
    pub trigger: Trigger,
    pub status: RunStatus,
    #[serde(deserialize_with = "crate::utc::time")]
    pub started_at: DateTime<Utc>,
    #[serde(default, deserialize_with = "crate::utc::optional_time")]
    pub finished_at: Option<DateTime<Utc>>,
    /// Shipments due and selected for this run.
    pub considered: usize,
    /// Shipments sent to the sync queue.
    pub enqueued: usize,
    pub succeeded: usize,
    /// Shipments whose sync failed for good (for a queued run: dead-lettered).
    pub failed: usize,
    /// Shipments a consumer found synced since they were enqueued (a redelivery), or gone, or
    /// that changed while they synced (their save left to that change).
    pub skipped: usize,
    /// Queue messages, or batches of a run without a queue.
    pub batches: usize,
    /// Messages sent again after a failed call: retries, and the halves of split messages.
    pub retried: usize,
    /// Messages of a single shipment that kept failing, moved to the dead-letter queue.
    pub dead_lettered: usize,
    /// Messages sent back to the queue untried, to come again, because the consumer's budget
    /// or Blue Dart's open circuit stopped it before their call. Each costs queue operations
    /// again.
    #[serde(default)]
    pub handed_back: usize,
    /// Invocations that worked on the run (the producer and each consumer invocation).
    pub invocations: usize,
    pub carrier_calls: usize,
    pub d1_queries: usize,
    pub kv_operations: usize,
    /// The most any single invocation of the run spent: what the platform's limits apply to.
    pub busiest_invocation: Spent,
    pub stop_reason: Option<String>,
    pub failures: Vec<BatchFailure>,
}

impl SyncRun {
    /// Whether a queued run's producer has recorded what it enqueued and every one of those
    /// shipments is finished (synced, skipped or failed for good).
    pub fn producer_done(&self) -> bool {
        self.enqueued > 0 && self.succeeded + self.failed + self.skipped >= self.enqueued
    }

    /// A run's invocation record (`finished_at`: when that invocation ended) added to what is
    /// stored already (consumers may have counted before the producer finished): counts summed,
    /// the busiest invocation kept, failures appended, and a queued run whose shipments are all
    /// finished completed; one still running has no end yet.
    pub fn merged_into(&self, stored: &SyncRun) -> SyncRun {
        let mut merged = SyncRun {
            id: stored.id,
            succeeded: stored.succeeded + self.succeeded,
            failed: stored.failed + self.failed,
            skipped: stored.skipped + self.skipped,
            retried: stored.retried + self.retried,
            dead_lettered: stored.dead_lettered + self.dead_lettered,
            handed_back: stored.handed_back + self.handed_back,
            invocations: stored.invocations + self.invocations,
            carrier_calls: stored.carrier_calls + self.carrier_calls,
            d1_queries: stored.d1_queries + self.d1_queries,
            kv_operations: stored.kv_operations + self.kv_operations,
            busiest_invocation: stored.busiest_invocation.max(self.busiest_invocation),
            failures: stored
                .failures
                .iter()
                .chain(&self.failures)
                .cloned()
                .collect(),
            ..self.clone()
        };
        if merged.status == RunStatus::Running && merged.producer_done() {
            merged.status = RunStatus::Completed;
        }
        if merged.status == RunStatus::Running {
            // Its consumers finish it.
            merged.finished_at = None;
        }
        merged
    }

    pub fn new(trigger: Trigger, started_at: DateTime<Utc>) -> SyncRun {
        SyncRun {
            id: None,
            trigger,
            status: RunStatus::Running,
            started_at,
            finished_at: None,
            considered: 0,
            enqueued: 0,
            succeeded: 0,
            failed: 0,
            skipped: 0,
            batches: 0,
            retried: 0,
            dead_lettered: 0,
            handed_back: 0,
            invocations: 0,
            carrier_calls: 0,
            d1_queries: 0,
            kv_operations: 0,
            busiest_invocation: Spent::default(),
            stop_reason: None,
            failures: Vec::new(),
        }
    }
}

/// What one consumer invocation did towards a run: added to the run's record in one write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunTally {
    pub succeeded: usize,
    pub failed: usize,
    pub skipped: usize,
    pub retried: usize,
    pub dead_lettered: usize,
    pub handed_back: usize,
    pub spent: Spent,
    pub failures: Vec<BatchFailure>,
    /// Orders whose latest status the invocation's syncs changed (polled status changes, set
    /// against those that came by push).
    pub status_changes: usize,
}

impl RunTally {
    /// Shipments this tally finished with (synced, skipped or failed for good).
    pub fn finished(&self) -> usize {
        self.succeeded + self.failed + self.skipped
    }

    /// The tally applied to `run` as the store applies it: counts added, the busiest invocation
    /// kept, and a queued run completed once every enqueued shipment is finished.
    pub fn apply_to(&self, run: &mut SyncRun, now: DateTime<Utc>) {
        // The invocation's own spending; `busiest_invocation` keeps the largest.
        run.succeeded += self.succeeded;
        run.failed += self.failed;
        run.skipped += self.skipped;
        run.retried += self.retried;
        run.dead_lettered += self.dead_lettered;
        run.handed_back += self.handed_back;
        run.invocations += 1;
        run.carrier_calls += self.spent.subrequests;
        run.d1_queries += self.spent.d1_queries;
        run.kv_operations += self.spent.kv_operations;
        run.busiest_invocation = run.busiest_invocation.max(self.spent);
        run.failures.extend(self.failures.iter().cloned());
        if run.status == RunStatus::Running
            && run.succeeded + run.failed + run.skipped >= run.enqueued
        {
            run.status = RunStatus::Completed;
            run.finished_at = Some(now);
        }
    }
}

/// What waits on the sync queue: shipments enqueued and not yet synced or given up on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueBacklog {
    pub enqueued: usize,
    #[serde(default, deserialize_with = "crate::utc::optional_time")]
    pub oldest_enqueued_at: Option<DateTime<Utc>>,
    /// How long the oldest has waited, in seconds.
    pub oldest_age_seconds: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 24, 10, 0, 0).unwrap() + chrono::Duration::minutes(minutes)
    }

    fn failure(batch: usize) -> BatchFailure {
        BatchFailure {
            batch,
            order_ids: vec![format!("ORD-{batch}")],
            reason: "carrier said 503".into(),
        }
    }

    /// A run whose counts are `base + 1` … `base + 10`, in field order (the messages handed
    /// back last).
    fn counted(base: usize, busiest: Spent, failures: Vec<BatchFailure>) -> SyncRun {
        SyncRun {
            succeeded: base + 1,
            failed: base + 2,
            skipped: base + 3,
            retried: base + 4,
            dead_lettered: base + 5,
            invocations: base + 6,
            carrier_calls: base + 7,
            d1_queries: base + 8,
            kv_operations: base + 9,
            handed_back: base + 10,
            busiest_invocation: busiest,
            failures,
            ..SyncRun::new(Trigger::Cron, at(0))
        }
    }

    fn spent(subrequests: usize, d1_queries: usize, kv: usize, sends: usize) -> Spent {
        Spent {
            subrequests,
            d1_queries,
            kv_operations: kv,
            queue_sends: sends,
        }
    }

    /// The stored run (counted by consumers) and the producer's record, merged: every count
    /// summed, the busiest invocation kept field by field, failures appended in order.
    #[test]
    fn an_invocation_adds_to_what_is_stored() {
        let stored = SyncRun {
            id: Some(7),
            ..counted(10, spent(200, 1, 1, 1), vec![failure(1)])
        };
        let producer = SyncRun {
            enqueued: 1000,
            finished_at: Some(at(5)),
            ..counted(100, spent(5, 111, 112, 113), vec![failure(2)])
        };
        let merged = producer.merged_into(&stored);
        assert_eq!(merged.id, Some(7));
        assert_eq!(
            [
                merged.succeeded,
                merged.failed,
                merged.skipped,
                merged.retried,
                merged.dead_lettered,
                merged.invocations,
                merged.carrier_calls,
                merged.d1_queries,
                merged.kv_operations,
                merged.handed_back,
            ],
            [112, 114, 116, 118, 120, 122, 124, 126, 128, 130]
        );
        assert_eq!(merged.busiest_invocation, spent(200, 111, 112, 113));
        assert_eq!(merged.failures, vec![failure(1), failure(2)]);
        // 342 of 1000 finished: still running, with no end yet.
        assert_eq!(merged.status, RunStatus::Running);
        assert_eq!(merged.finished_at, None);
    }

    #[test]
    fn a_queued_run_completes_once_every_enqueued_shipment_is_finished() {
        let stored = counted(10, Spent::default(), vec![]);
        let with = |enqueued: usize| {
            SyncRun {
                enqueued,
                finished_at: Some(at(5)),
                ..counted(100, Spent::default(), vec![])
            }
            .merged_into(&stored)
        };
        // 112 + 114 + 116 = 342 finished.
        let done = with(342);
        assert_eq!(done.status, RunStatus::Completed);
        assert_eq!(done.finished_at, Some(at(5)));
        assert_eq!(with(343).status, RunStatus::Running);
        // Nothing recorded as enqueued yet: the producer has not finished, whatever was counted.
        assert_eq!(with(0).status, RunStatus::Running);
        // A run that ended otherwise keeps its status and its end.
        let stopped = SyncRun {
            status: RunStatus::Stopped,
            finished_at: Some(at(5)),
            ..counted(100, Spent::default(), vec![])
        }
        .merged_into(&stored);
        assert_eq!(
            (stopped.status, stopped.finished_at),
            (RunStatus::Stopped, Some(at(5)))
        );
    }

    #[test]
    fn a_tally_finishes_what_it_synced_skipped_or_failed() {
        let tally = RunTally {
            succeeded: 1,
            failed: 2,
            skipped: 3,
            ..RunTally::default()
        };
        assert_eq!(tally.finished(), 6);
    }

    /// A consumer's tally on a stored run: each count added to its own field, one more
    /// invocation, the spending summed and compared, failures appended; the run completes when
    /// the tally finishes its last enqueued shipment, and not before.
    #[test]
    fn a_tally_adds_to_the_stored_run_and_completes_it_when_the_last_shipment_finishes() {
        let tally = RunTally {
            succeeded: 20,
            failed: 30,
            skipped: 40,
            retried: 50,
            dead_lettered: 60,
            handed_back: 70,
            spent: spent(3, 4, 5, 6),
            failures: vec![failure(2)],
            status_changes: 0,
        };
        let stored = |enqueued: usize| SyncRun {
            enqueued,
            ..counted(10, spent(1, 9, 1, 1), vec![failure(1)])
        };
        let mut run = stored(1000);
        tally.apply_to(&mut run, at(5));
        assert_eq!(
            [
                run.succeeded,
                run.failed,
                run.skipped,
                run.retried,
                run.dead_lettered,
                run.invocations,
                run.carrier_calls,
                run.d1_queries,
                run.kv_operations,
                run.handed_back,
            ],
            [31, 42, 53, 64, 75, 17, 20, 22, 24, 90]
        );
        assert_eq!(run.failures, vec![failure(1), failure(2)]);
        assert_eq!((run.status, run.finished_at), (RunStatus::Running, None));

        // 31 + 42 + 53 = 126 finished: complete at exactly 126 enqueued, running at 127.
        let mut last = stored(126);
        tally.apply_to(&mut last, at(5));
        assert_eq!(
            (last.status, last.finished_at),
            (RunStatus::Completed, Some(at(5)))
        );
        let mut short = stored(127);
        tally.apply_to(&mut short, at(5));
        assert_eq!(short.status, RunStatus::Running);
        // A run that ended otherwise is not completed by a late tally.
        let mut stopped = SyncRun {
            status: RunStatus::Stopped,
            ..stored(1)
        };
        tally.apply_to(&mut stopped, at(5));
        assert_eq!(
            (stopped.status, stopped.finished_at),
            (RunStatus::Stopped, None)
        );
    }

    #[test]
    fn triggers_are_named_as_stored() {
        for (trigger, name) in [
            (Trigger::Cron, "cron"),
            (Trigger::Manual, "manual"),
            (Trigger::Background, "background"),
        ] {
            assert_eq!(trigger.as_str(), name);
            assert_eq!(serde_json::to_value(trigger).unwrap(), name);
        }
    }
}
