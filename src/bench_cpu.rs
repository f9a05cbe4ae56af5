//! Benchmarks only (natively, and in wasm only in the bench build, feature `bench-cpu`, never
//! deployed): the CPU of one sync batch — a Blue
//! Dart answer about 50 waybills read, every order's writes planned, the D1 batch's parameters
//! encoded — and its floor, the same answer's bare tokenising, as `benches/runtime.rs`
//! measures them natively, and, inside workerd, behind
//! `POST /__bench-cpu?iterations=N[&work=tokenise]` (body: `{"xml": …, "awbs": […]}`), which
//! `npm run bench` times from outside with N = 0 and N > 0 to get the wasm figures.

use bluedart::events::{reply_for, update_for};
use bluedart::parse::parse_tracking;
use bluedart::xml::Reader;
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use tracking_core::model::{Order, ShippingStatus, Snapshot, TrackingEvent};
use tracking_core::rules::merge::plan_batch;
use tracking_core::rules::schedule::CheckSchedule;
use worker::{Method, Request, Response};

use d1_rows::sync_params;

/// What the store holds before the sync: each order booked, with its first two scans.
pub fn stored(awbs: &[String], xml: &str) -> Vec<Snapshot> {
    let parsed = parse_tracking(xml).expect("the answer parses");
    let at = Utc.with_ymd_and_hms(2026, 1, 21, 11, 45, 0).unwrap();
    awbs.iter()
        .enumerate()
        .map(|(n, awb)| {
            let mut events = vec![TrackingEvent::booked(awb, at)];
            events.extend(update_for(awb, &parsed).unwrap().events.into_iter().take(2));
            Snapshot {
                order: Order {
                    id: format!("ORD-{n:04}"),
                    customer_id: "cust-1".into(),
                    order_status: "Shipped".into(),
                    shipping_status: ShippingStatus::InTransit,
                    awb_no: Some(awb.clone()),
                    courier: "bluedart".into(),
                    shipping_error: None,
                    expected_delivery_date: None,
                    created_at: at,
                    updated_at: at,
                    last_synced_at: Some(at),
                    last_sync_error: None,
                    next_check_at: Some(at),
                    last_progress_at: Some(at),
                    polling_stopped_at: None,
                    version: 1,
                },
                latest: events.last().cloned(),
                events,
            }
        })
        .collect()
}

/// The domain path of one batch, as the service runs it: read the answer, plan every order's
/// writes, encode the bound parameters of the batch's D1 statements.
pub fn sync_batch(xml: &str, awbs: &[String], before: &[Snapshot]) -> usize {
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
    let parsed = parse_tracking(xml).expect("the answer parses");
    let reply = reply_for(200, awbs, &parsed);
    let schedule = CheckSchedule::default();
    let plans = plan_batch(before, reply, 16 * 1024, &schedule, now);
    let params = sync_params(&plans);
    params.events.map_or(0, |e| e.len()) + params.orders.map_or(0, |o| o.len())
}

/// The floor: every token of the answer, read and dropped, by the parser's XML reader.
pub fn tokenise(xml: &str) -> usize {
    let mut reader = Reader::new(xml);
    let mut count = 0;
    while let Some(token) = reader.next().expect("the answer is well-formed") {
        std::hint::black_box(&token);
        count += 1;
    }
    count
}

/// The answer for a bench request; `None` for any other request.
pub async fn serve(req: &mut Request) -> Option<worker::Result<Response>> {
    if req.method() != Method::Post || req.path() != "/__bench-cpu" {
        return None;
    }
    let url = req.url().ok()?;
    let param = |name: &str| {
        url.query_pairs()
            .find_map(|(k, v)| (k == name).then(|| v.into_owned()))
    };
    let iterations: usize = param("iterations")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let tokenise_only = param("work").as_deref() == Some("tokenise");
    Some(run(req, iterations, tokenise_only).await)
}

async fn run(
    req: &mut Request,
    iterations: usize,
    tokenise_only: bool,
) -> worker::Result<Response> {
    let body: Value = req.json().await?;
    let xml = body["xml"].as_str().unwrap_or_default();
    let awbs: Vec<String> = serde_json::from_value(body["awbs"].clone())?;
    let before = stored(&awbs, xml);
    let work: usize = (0..iterations)
        .map(|_| {
            if tokenise_only {
                tokenise(xml)
            } else {
                sync_batch(xml, &awbs, &before)
            }
        })
        .sum();
    Response::from_json(&json!({ "iterations": iterations, "work": work }))
}
