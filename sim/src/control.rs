//! The control API under `/__control/`: what tests and people use to load shipments, move
//! parcels along, switch faults and read the counters. Never faulted itself.

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::api::Reply;
use crate::faults::{Endpoint, Fault, FaultRule};
use crate::model::{Scan, Shipment};
use crate::state::{Settings, SimState};

fn ok(body: Value) -> Reply {
    Reply::json(200, &body)
}

fn bad_request(message: String) -> Reply {
    Reply::json(400, &json!({ "error": message }))
}

fn not_found(what: &str) -> Reply {
    Reply::json(404, &json!({ "error": format!("{what} not found") }))
}

fn parse<T: DeserializeOwned>(body: &str) -> Result<T, Reply> {
    serde_json::from_str(body).map_err(|e| bad_request(format!("invalid body: {e}")))
}

/// Shipments may be posted one at a time or as a list.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<Shipment>),
    One(Box<Shipment>),
}

#[derive(serde::Deserialize)]
struct Latency {
    ms: u64,
}

pub fn handle(state: &mut SimState, method: &str, path: &str, body: &str) -> Reply {
    let segments: Vec<&str> = path
        .trim_start_matches("/__control")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let result = match (method, segments.as_slice()) {
        ("GET", ["health"]) => Ok(ok(json!({ "ok": true }))),
        ("POST", ["reset"]) => {
            state.reset();
            Ok(ok(json!({ "reset": true })))
        }
        ("GET", ["shipments"]) => {
            let mut waybills: Vec<&String> = state.shipments.keys().collect();
            waybills.sort();
            Ok(ok(json!({ "waybills": waybills })))
        }
        ("POST", ["shipments"]) => parse::<OneOrMany>(body).map(|shipments| {
            let shipments = match shipments {
                OneOrMany::Many(list) => list,
                OneOrMany::One(one) => vec![*one],
            };
            let loaded = shipments.len();
            state.load(shipments);
            ok(json!({ "loaded": loaded }))
        }),
        ("GET", ["shipments", awb]) => Ok(match state.shipments.get(*awb) {
            Some(s) => ok(json!(s)),
            None => not_found("shipment"),
        }),
        ("POST", ["shipments", awb, "scans"]) => {
            parse::<Scan>(body).map(|scan| match state.append_scan(awb, scan) {
                Some(s) => ok(json!({ "waybill": s.waybill, "scans": s.scans.len() })),
                None => not_found("shipment"),
            })
        }
        ("PUT", ["faults", endpoint]) => endpoint_of(endpoint).and_then(|endpoint| {
            let rule = parse::<FaultRule>(body)?;
            state.set_fault(endpoint, Some(rule));
            Ok(ok(json!({ "fault": state.behaviour.get(&endpoint) })))
        }),
        ("DELETE", ["faults", endpoint]) => endpoint_of(endpoint).map(|endpoint| {
            state.set_fault(endpoint, None);
            ok(json!({ "cleared": endpoint }))
        }),
        ("DELETE", ["faults"]) => {
            state.clear_faults();
            Ok(ok(json!({ "cleared": "all" })))
        }
        // Any tracking call carrying this waybill fails (HTTP 500 unless a fault is given).
        ("PUT", ["poison", awb]) => {
            let fault = if matches!(body.trim(), "" | "{}" | "null") {
                Ok(Fault::Status { code: 500 })
            } else {
                parse::<Fault>(body)
            };
            fault.map(|fault| {
                state.poison.insert((*awb).to_owned(), fault.clone());
                ok(json!({ "poisoned": awb, "fault": fault }))
            })
        }
        ("DELETE", ["poison", awb]) => {
            state.poison.remove(*awb);
            Ok(ok(json!({ "cleared": awb })))
        }
        ("PUT", ["latency", endpoint]) => endpoint_of(endpoint).and_then(|endpoint| {
            let latency = parse::<Latency>(body)?;
            state.set_latency(endpoint, latency.ms);
            Ok(ok(json!({ "latencyMs": latency.ms })))
        }),
        ("GET", ["settings"]) => Ok(ok(json!(state.settings))),
        ("PUT", ["settings"]) => merge_settings(&state.settings, body).map(|settings| {
            state.settings = settings;
            ok(json!(state.settings))
        }),
        ("GET", ["pushes"]) => Ok(ok(json!({ "pushes": state.pushes }))),
        ("GET", ["calls"]) => Ok(ok(json!({ "calls": state.calls }))),
        ("DELETE", ["calls"]) => {
            state.calls.clear();
            Ok(ok(json!({ "cleared": true })))
        }
        _ => Err(not_found("control route")),
    };
    result.unwrap_or_else(|reply| reply)
}

fn endpoint_of(name: &str) -> Result<Endpoint, Reply> {
    Endpoint::parse(name).ok_or_else(|| {
        bad_request(format!(
            "unknown endpoint {name:?}: login, tracking or waybill"
        ))
    })
}

/// A partial update: fields left out keep their current values.
fn merge_settings(current: &Settings, body: &str) -> Result<Settings, Reply> {
    let mut merged = json!(current);
    let Value::Object(changes) = parse::<Value>(body)? else {
        return Err(bad_request("settings must be a JSON object".into()));
    };
    for (key, value) in changes {
        if merged.get(&key).is_none() {
            return Err(bad_request(format!("unknown setting {key:?}")));
        }
        merged[&key] = value;
    }
    serde_json::from_value(merged).map_err(|e| bad_request(format!("invalid settings: {e}")))
}
