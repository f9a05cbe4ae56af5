//! Sync runs as they are recorded and listed: what started a run, how it ended, what it did.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
