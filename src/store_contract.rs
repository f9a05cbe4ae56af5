//! Test builds only (feature `store-contract`, never deployed): runs the storage ports' contract
//! (`tracking_core::store_contract`) against D1, so that the end-to-end suite
//! `tests/store_contract.rs` checks the SQL with the very assertions the in-memory store passes
//! natively. `GET /__store-contract` lists the cases; `POST /__store-contract/{case}` empties
//! the database and runs one; `GET /__store-contract/plans` runs them all and answers SQLite's
//! query plan for every distinct statement they sent, bound as it was sent.

use serde_json::json;
use tracking_core::store_contract::{CASES, run};
use worker::{Env, Method, Request, Response};

use crate::d1::D1Store;

const PREFIX: &str = "/__store-contract";

/// The answer for a contract request; `None` for any other request.
pub async fn serve(req: &Request, env: &Env) -> Option<worker::Result<Response>> {
    let path = req.path();
    let rest = path.strip_prefix(PREFIX)?;
    Some(match (req.method(), rest.strip_prefix('/')) {
        (Method::Get, None) => Response::from_json(&json!({ "cases": CASES })),
        (Method::Get, Some("plans")) => plans(env).await,
        (Method::Post, Some(case)) => run_case(case, env).await,
        _ => Response::error("not a store contract request", 404),
    })
}

async fn run_case(case: &str, env: &Env) -> worker::Result<Response> {
    let store = D1Store::new(env);
    empty(&store).await?;
    match run(case, &store).await {
        None => Response::error(format!("no case {case}"), 404),
        Some(Ok(())) => Response::from_json(&json!({ "case": case, "ok": true })),
        Some(Err(why)) => Response::from_json(&json!({ "case": case, "ok": false, "why": why })),
    }
}

async fn plans(env: &Env) -> worker::Result<Response> {
    #[derive(serde::Deserialize)]
    struct Step {
        detail: String,
    }
    let mut statements: Vec<(String, Vec<wasm_bindgen::JsValue>)> = Vec::new();
    for case in CASES {
        let store = D1Store::new(env);
        empty(&store).await?;
        run(case, &store).await;
        for (sql, values) in store.prepared.take() {
            if !statements.iter().any(|(seen, _)| *seen == sql) {
                statements.push((sql, values));
            }
        }
    }
    let db = env.d1(crate::d1::DB_BINDING)?;
    let mut plans = Vec::new();
    for (sql, values) in statements {
        let steps: Vec<Step> = db
            .prepare(format!("EXPLAIN QUERY PLAN {sql}"))
            .bind(&values)?
            .all()
            .await?
            .results()?;
        let plan: Vec<String> = steps.into_iter().map(|s| s.detail).collect();
        plans.push(json!({ "sql": sql, "plan": plan }));
    }
    Response::from_json(&json!({ "plans": plans }))
}

/// Every table emptied, then the rows the migrations seed put back: each case starts as a
/// freshly migrated database, as the in-memory runner's new store does.
async fn empty(store: &D1Store) -> worker::Result<()> {
    #[derive(serde::Deserialize)]
    struct Table {
        name: String,
    }
    let db = store.db().map_err(|e| worker::Error::RustError(e.0))?;
    let tables: Vec<Table> = db
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name NOT LIKE '_cf_%' AND name != 'd1_migrations'",
        )
        .all()
        .await?
        .results()?;
    let mut statements: Vec<_> = tables
        .iter()
        .map(|t| db.prepare(format!("DELETE FROM \"{}\"", t.name)))
        .collect();
    // migrations/0006_push.sql
    statements.push(db.prepare("INSERT INTO push_counts (id) VALUES (1)"));
    db.batch(statements).await?;
    Ok(())
}
