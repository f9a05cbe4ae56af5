//! `sync_runs`: the record of each run, kept to the latest `RUNS_KEPT`.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tracking_core::ports::{RunLog, StoreError};
use tracking_core::rules::budget::Spent;
use tracking_core::runs::{BatchFailure, RUNS_KEPT, RunStatus, RunTally, SyncRun, Trigger};

use super::{D1Store, number, opt_text, parse_time, text, time};
use tracking_core::model::{self, iso};
use wasm_bindgen::JsValue;

const RUN_COLUMNS: &str = "id, triggered_by, status, started_at, finished_at, considered, enqueued, \
    succeeded, failed, skipped, batches, retried, dead_lettered, handed_back, invocations, \
    carrier_calls, d1_queries, kv_operations, busiest_subrequests, busiest_d1_queries, \
    busiest_kv_operations, busiest_queue_sends, stop_reason, failures";

/// Adds an invocation's part to a run (`?1`…`?10`: succeeded, failed, skipped, retried,
/// dead-lettered, subrequests, D1 queries, KV operations, queue operations, failures as JSON;
/// `?11` the invocation's end, `?12` the run, `?13` status changes, `?14` messages handed
/// back). SQLite reads the old values on the right of SET, so concurrent invocations add up; a
/// running run completes once every enqueued shipment is finished (`enqueued` is 0 until the
/// producer has recorded it).
const ADD_TO_RUN: &str = "UPDATE sync_runs SET \
    succeeded = succeeded + ?1, failed = failed + ?2, skipped = skipped + ?3, \
    retried = retried + ?4, dead_lettered = dead_lettered + ?5, handed_back = handed_back + ?14, \
    invocations = invocations + 1, \
    carrier_calls = carrier_calls + ?6, d1_queries = d1_queries + ?7, kv_operations = kv_operations + ?8, \
    busiest_subrequests = MAX(busiest_subrequests, ?6), busiest_d1_queries = MAX(busiest_d1_queries, ?7), \
    busiest_kv_operations = MAX(busiest_kv_operations, ?8), \
    busiest_queue_sends = MAX(busiest_queue_sends, ?9), \
    failures = CASE WHEN json_array_length(?10) = 0 THEN failures ELSE \
      (SELECT json_group_array(json(value)) FROM \
        (SELECT value FROM json_each(sync_runs.failures) UNION ALL SELECT value FROM json_each(?10))) END, \
    status = CASE WHEN status = 'running' AND enqueued > 0 \
      AND succeeded + ?1 + failed + ?2 + skipped + ?3 >= enqueued THEN 'completed' ELSE status END, \
    finished_at = CASE WHEN status = 'running' AND enqueued > 0 \
      AND succeeded + ?1 + failed + ?2 + skipped + ?3 >= enqueued THEN ?11 ELSE finished_at END, \
    status_changes = status_changes + ?13 \
    WHERE id = ?12";

#[derive(Deserialize)]
struct RunRow {
    id: f64,
    triggered_by: String,
    status: String,
    started_at: String,
    finished_at: Option<String>,
    considered: f64,
    enqueued: f64,
    succeeded: f64,
    failed: f64,
    skipped: f64,
    batches: f64,
    retried: f64,
    dead_lettered: f64,
    handed_back: f64,
    invocations: f64,
    carrier_calls: f64,
    d1_queries: f64,
    kv_operations: f64,
    busiest_subrequests: f64,
    busiest_d1_queries: f64,
    busiest_kv_operations: f64,
    busiest_queue_sends: f64,
    stop_reason: Option<String>,
    failures: String,
}

impl RunRow {
    fn into_run(self) -> Result<SyncRun, StoreError> {
        let failures: Vec<BatchFailure> = serde_json::from_slice(self.failures.as_bytes())
            .map_err(|e| StoreError(format!("unreadable sync run failures: {e}")))?;
        Ok(SyncRun {
            id: Some(self.id as i64),
            trigger: from_name::<Trigger>(self.triggered_by)?,
            status: from_name::<RunStatus>(self.status)?,
            started_at: parse_time(&self.started_at)?,
            finished_at: self.finished_at.as_deref().map(parse_time).transpose()?,
            considered: self.considered as usize,
            enqueued: self.enqueued as usize,
            succeeded: self.succeeded as usize,
            failed: self.failed as usize,
            skipped: self.skipped as usize,
            batches: self.batches as usize,
            retried: self.retried as usize,
            dead_lettered: self.dead_lettered as usize,
            handed_back: self.handed_back as usize,
            invocations: self.invocations as usize,
            carrier_calls: self.carrier_calls as usize,
            d1_queries: self.d1_queries as usize,
            kv_operations: self.kv_operations as usize,
            busiest_invocation: Spent {
                subrequests: self.busiest_subrequests as usize,
                d1_queries: self.busiest_d1_queries as usize,
                kv_operations: self.busiest_kv_operations as usize,
                queue_sends: self.busiest_queue_sends as usize,
            },
            stop_reason: self.stop_reason,
            failures,
        })
    }
}

/// An enum from its serialised name.
fn from_name<T: serde::de::DeserializeOwned>(name: String) -> Result<T, StoreError> {
    model::from_name(&name).ok_or_else(|| StoreError(format!("unreadable sync run: {name:?}")))
}

/// `ADD_TO_RUN`'s parameters.
fn tally_params(id: i64, tally: &RunTally, now: Option<&str>) -> Result<Vec<JsValue>, StoreError> {
    let failures = serde_json::to_string(&tally.failures)
        .map_err(|e| StoreError(format!("unwritable failures: {e}")))?;
    Ok(vec![
        number(tally.succeeded),
        number(tally.failed),
        number(tally.skipped),
        number(tally.retried),
        number(tally.dead_lettered),
        number(tally.spent.subrequests),
        number(tally.spent.d1_queries),
        number(tally.spent.kv_operations),
        number(tally.spent.queue_sends),
        text(&failures),
        opt_text(now),
        JsValue::from_f64(id as f64),
        number(tally.status_changes),
        number(tally.handed_back),
    ])
}

fn run_status(run: &SyncRun) -> &'static str {
    match run.status {
        RunStatus::Running => "running",
        RunStatus::Completed => "completed",
        RunStatus::Stopped => "stopped",
        RunStatus::Failed => "failed",
    }
}

impl RunLog for D1Store {
    async fn start_run(&self, run: &SyncRun) -> Result<i64, StoreError> {
        #[derive(Deserialize)]
        struct Row {
            id: f64,
        }
        let rows: Vec<Row> = self
            .rows(
                "INSERT INTO sync_runs (triggered_by, status, started_at, considered, enqueued, batches) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
                &[
                    text(run.trigger.as_str()),
                    text(run_status(run)),
                    time(run.started_at),
                    number(run.considered),
                    number(run.enqueued),
                    number(run.batches),
                ],
            )
            .await?;
        rows.first()
            .map(|r| r.id as i64)
            .ok_or_else(|| StoreError("no id returned for the sync run".into()))
    }

    async fn finish_run(&self, id: i64, run: &SyncRun) -> Result<(), StoreError> {
        // Consumers may have added to the run already: the invocation's counts are added too
        // (`ADD_TO_RUN`), after its own fields and the number enqueued are set.
        let tally = RunTally {
            succeeded: run.succeeded,
            failed: run.failed,
            skipped: run.skipped,
            retried: run.retried,
            dead_lettered: run.dead_lettered,
            handed_back: run.handed_back,
            spent: run.busiest_invocation,
            failures: run.failures.clone(),
            status_changes: 0,
        };
        let finished_at = run.finished_at.map(iso);
        self.batch(vec![
            self.statement(
                "UPDATE sync_runs SET status = ?1, finished_at = ?2, considered = ?3, enqueued = ?4, \
                 batches = batches + ?5, stop_reason = ?6 WHERE id = ?7",
                &[
                    text(run_status(run)),
                    opt_text(finished_at.as_deref()),
                    number(run.considered),
                    number(run.enqueued),
                    number(run.batches),
                    opt_text(run.stop_reason.as_deref()),
                    JsValue::from_f64(id as f64),
                ],
            )?,
            self.statement(ADD_TO_RUN, &tally_params(id, &tally, finished_at.as_deref())?)?,
            // A run still waiting for its consumers has no end yet.
            self.statement(
                "UPDATE sync_runs SET finished_at = NULL WHERE id = ?1 AND status = 'running'",
                &[JsValue::from_f64(id as f64)],
            )?,
            self.statement(
                "DELETE FROM sync_runs WHERE id <= ?1",
                &[JsValue::from_f64((id - RUNS_KEPT) as f64)],
            )?,
        ])
        .await?;
        Ok(())
    }

    async fn add_to_run(
        &self,
        id: i64,
        tally: &RunTally,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let now = iso(now);
        self.all(self.statement(ADD_TO_RUN, &tally_params(id, tally, Some(&now))?)?)
            .await?;
        Ok(())
    }

    async fn backlog(&self) -> Result<(usize, Option<DateTime<Utc>>), StoreError> {
        #[derive(Deserialize)]
        struct Row {
            n: f64,
            oldest: Option<String>,
        }
        let rows: Vec<Row> = self
            .rows(
                "SELECT COUNT(*) AS n, MIN(enqueued_at) AS oldest FROM orders \
                 WHERE enqueued_at IS NOT NULL",
                &[],
            )
            .await?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError("no backlog row".into()))?;
        Ok((
            row.n as usize,
            row.oldest.as_deref().map(parse_time).transpose()?,
        ))
    }

    async fn recent_runs(&self, limit: usize) -> Result<Vec<SyncRun>, StoreError> {
        let rows: Vec<RunRow> = self
            .rows(
                &format!("SELECT {RUN_COLUMNS} FROM sync_runs ORDER BY id DESC LIMIT ?1"),
                &[number(limit)],
            )
            .await?;
        rows.into_iter().map(RunRow::into_run).collect()
    }
}
