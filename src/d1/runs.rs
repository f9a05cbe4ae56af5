//! `sync_runs`: the record of each run, kept to the latest `RUNS_KEPT`.

use serde::Deserialize;
use tracking_core::ports::{RunLog, StoreError};
use tracking_core::runs::{BatchFailure, RunStatus, SyncRun, Trigger};

use super::{D1Store, number, opt_text, parse_time, text, time};
use serde_json::Value;
use tracking_core::model::iso;
use wasm_bindgen::JsValue;

/// Runs kept in `sync_runs`; older ones are deleted as new ones finish.
const RUNS_KEPT: i64 = 1000;

const RUN_COLUMNS: &str = "id, triggered_by, status, started_at, finished_at, considered, succeeded, \
    failed, batches, carrier_calls, d1_queries, kv_operations, stop_reason, failures";

#[derive(Deserialize)]
struct RunRow {
    id: f64,
    triggered_by: String,
    status: String,
    started_at: String,
    finished_at: Option<String>,
    considered: f64,
    succeeded: f64,
    failed: f64,
    batches: f64,
    carrier_calls: f64,
    d1_queries: f64,
    kv_operations: f64,
    stop_reason: Option<String>,
    failures: String,
}

impl RunRow {
    fn into_run(self) -> Result<SyncRun, StoreError> {
        let failures: Vec<BatchFailure> = serde_json::from_str(&self.failures)
            .map_err(|e| StoreError(format!("unreadable sync run failures: {e}")))?;
        Ok(SyncRun {
            id: Some(self.id as i64),
            trigger: from_name::<Trigger>(self.triggered_by)?,
            status: from_name::<RunStatus>(self.status)?,
            started_at: parse_time(&self.started_at)?,
            finished_at: self.finished_at.as_deref().map(parse_time).transpose()?,
            considered: self.considered as usize,
            succeeded: self.succeeded as usize,
            failed: self.failed as usize,
            batches: self.batches as usize,
            carrier_calls: self.carrier_calls as usize,
            d1_queries: self.d1_queries as usize,
            kv_operations: self.kv_operations as usize,
            stop_reason: self.stop_reason,
            failures,
        })
    }
}

/// An enum from its serialised name.
fn from_name<T: serde::de::DeserializeOwned>(name: String) -> Result<T, StoreError> {
    serde_json::from_value(Value::String(name))
        .map_err(|e| StoreError(format!("unreadable sync run: {e}")))
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
                "INSERT INTO sync_runs (triggered_by, status, started_at, considered) \
                 VALUES (?1, ?2, ?3, ?4) RETURNING id",
                &[
                    text(run.trigger.as_str()),
                    text(run_status(run)),
                    time(run.started_at),
                    number(run.considered),
                ],
            )
            .await?;
        rows.first()
            .map(|r| r.id as i64)
            .ok_or_else(|| StoreError("no id returned for the sync run".into()))
    }

    async fn finish_run(&self, id: i64, run: &SyncRun) -> Result<(), StoreError> {
        let failures = serde_json::to_string(&run.failures).expect("failures serialise");
        self.batch(vec![
            self.statement(
                "UPDATE sync_runs SET status = ?1, finished_at = ?2, considered = ?3, succeeded = ?4, \
                 failed = ?5, batches = ?6, carrier_calls = ?7, d1_queries = ?8, kv_operations = ?9, \
                 stop_reason = ?10, failures = ?11 WHERE id = ?12",
                &[
                    text(run_status(run)),
                    opt_text(run.finished_at.map(iso).as_deref()),
                    number(run.considered),
                    number(run.succeeded),
                    number(run.failed),
                    number(run.batches),
                    number(run.carrier_calls),
                    number(run.d1_queries),
                    number(run.kv_operations),
                    opt_text(run.stop_reason.as_deref()),
                    text(&failures),
                    JsValue::from_f64(id as f64),
                ],
            )?,
            self.statement(
                "DELETE FROM sync_runs WHERE id <= ?1",
                &[JsValue::from_f64((id - RUNS_KEPT) as f64)],
            )?,
        ])
        .await?;
        Ok(())
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
