//! HTTP routing and the JSON answers.

use serde_json::json;
use worker::{Env, Method, Request, Response};

/// Every answer is JSON, errors included.
fn json(status: u16, body: &serde_json::Value) -> Response {
    let response = Response::from_json(body)
        .unwrap_or_else(|_| Response::error("Internal Server Error", 500).expect("static body"));
    response.with_status(status)
}

pub async fn handle(req: Request, env: &Env) -> Response {
    match (req.method(), req.path().as_str()) {
        (Method::Get, "/health") => health(env).await,
        _ => json(
            404,
            &json!({"success": false, "message": "Route not found", "code": "NOT_FOUND"}),
        ),
    }
}

/// Liveness plus a round trip to D1, so a missing binding or migration shows here first.
async fn health(env: &Env) -> Response {
    let config = match super::config(env) {
        Ok(config) => config,
        Err(e) => return json(500, &json!({"status": "error", "message": e.to_string()})),
    };
    let d1 = match env.d1("DB") {
        Ok(db) => match db
            .prepare("SELECT 1")
            .first::<serde_json::Value>(None)
            .await
        {
            Ok(_) => "ok",
            Err(_) => "error",
        },
        Err(_) => "unbound",
    };
    let status = if d1 == "ok" { 200 } else { 503 };
    json(
        status,
        &json!({
            "status": if status == 200 { "ok" } else { "degraded" },
            "service": env!("CARGO_PKG_NAME"),
            "version": env!("CARGO_PKG_VERSION"),
            "environment": config.environment.to_string(),
            "d1": d1,
        }),
    )
}
