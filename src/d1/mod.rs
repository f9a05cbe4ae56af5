//! D1 (SQLite) behind the domain's storage ports: one file per table family, each with its SQL
//! beside its row mapping, and no business rules (the domain decides; these carry it out).

mod events;
mod health;
mod orders;
mod outbox;
mod pushes;
mod repairs;
mod runs;
mod syncs;
mod webhooks;

use std::cell::{Cell, OnceCell};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result, Env};

use tracking_core::model::iso;
use tracking_core::ports::StoreError;

/// The D1 binding `wrangler.toml` declares.
pub const DB_BINDING: &str = "DB";

pub struct D1Store {
    env: Env,
    /// The binding, looked up when the first statement is prepared: a cached read sends none,
    /// and each lookup is several calls into JavaScript (`wiring::settings` checks once per
    /// isolate that it is there).
    db: OnceCell<D1Database>,
    /// Statements sent in this invocation.
    pub sent: Cell<usize>,
    /// Times the statements sent, for development's `Server-Timing`.
    pub trace: std::rc::Rc<crate::runtime::Trace>,
    /// Whether this invocation recorded webhook deliveries that wait to be sent to the queue.
    pub webhooks_waiting: Cell<bool>,
    /// Test builds: every statement prepared, with its parameters, so that the store contract
    /// can ask SQLite for the plan of the very statements the code runs.
    #[cfg(feature = "store-contract")]
    pub prepared: std::cell::RefCell<Vec<(String, Vec<JsValue>)>>,
}

pub(super) fn err(e: worker::Error) -> StoreError {
    StoreError(e.to_string())
}

pub(super) fn text(value: &str) -> JsValue {
    JsValue::from_str(value)
}

pub(super) fn opt_text(value: Option<&str>) -> JsValue {
    value.map_or(JsValue::NULL, JsValue::from_str)
}

pub(super) fn time(at: DateTime<Utc>) -> JsValue {
    JsValue::from_str(&iso(at))
}

/// Ids as one JSON array parameter, read in SQL with `json_each`.
pub(super) fn ids_json(ids: &[String]) -> JsValue {
    JsValue::from_str(&serde_json::to_string(ids).expect("strings serialise"))
}

pub(super) fn number(n: usize) -> JsValue {
    JsValue::from_f64(n as f64)
}

pub(super) fn parse_time(value: &str) -> Result<DateTime<Utc>, StoreError> {
    tracking_core::utc::parse(value)
        .ok_or_else(|| StoreError(format!("unreadable time {value:?} in D1")))
}

pub(super) fn changes(result: &D1Result) -> usize {
    result
        .meta()
        .ok()
        .flatten()
        .and_then(|m| m.changes)
        .unwrap_or(0)
}

impl D1Store {
    pub fn new(env: &Env) -> D1Store {
        D1Store {
            env: env.clone(),
            db: OnceCell::new(),
            sent: Cell::new(0),
            trace: Default::default(),
            webhooks_waiting: Cell::new(false),
            #[cfg(feature = "store-contract")]
            prepared: Default::default(),
        }
    }

    pub(super) fn statement(
        &self,
        sql: &str,
        values: &[JsValue],
    ) -> Result<D1PreparedStatement, StoreError> {
        #[cfg(feature = "store-contract")]
        self.prepared
            .borrow_mut()
            .push((sql.to_owned(), values.to_vec()));
        self.db()?.prepare(sql).bind(values).map_err(err)
    }

    pub fn db(&self) -> Result<&D1Database, StoreError> {
        if let Some(db) = self.db.get() {
            return Ok(db);
        }
        let db = self.env.d1(DB_BINDING).map_err(err)?;
        Ok(self.db.get_or_init(|| db))
    }

    pub(super) async fn all(&self, statement: D1PreparedStatement) -> Result<D1Result, StoreError> {
        self.sent.set(self.sent.get() + 1);
        self.trace.time("d1", statement.all()).await.map_err(err)
    }

    /// Runs one query and reads its rows.
    pub(super) async fn rows<T: DeserializeOwned>(
        &self,
        sql: &str,
        values: &[JsValue],
    ) -> Result<Vec<T>, StoreError> {
        self.all(self.statement(sql, values)?)
            .await?
            .results()
            .map_err(err)
    }

    /// Runs statements as one transaction.
    pub(super) async fn batch(
        &self,
        statements: Vec<D1PreparedStatement>,
    ) -> Result<Vec<D1Result>, StoreError> {
        if statements.is_empty() {
            return Ok(Vec::new());
        }
        self.sent.set(self.sent.get() + statements.len());
        self.trace
            .time("d1-batch", self.db()?.batch(statements))
            .await
            .map_err(err)
    }

    pub fn queries(&self) -> usize {
        self.sent.get()
    }
}
