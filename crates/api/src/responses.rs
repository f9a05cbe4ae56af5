//! What the admin endpoints answer, built from the domain's views. (The customer's track body
//! is in `track_body`.)

use serde_json::{Value, json};
use tracking_core::model::{Snapshot, Source, iso};
use tracking_core::ports::StoredResponse;
use tracking_core::service::{AdminView, Background, CachedAnswer, SyncSummary, TrackOutcome};

use crate::conditional::etag;
use crate::reply::{CACHED_ANSWER, NO_STORE, json_response, json_text_response};
use crate::track_body::{kept_view, track_body, track_text};

/// The customer's cached track answer and its entity tag: the view KV kept, as it is, with the
/// tag kept beside it, or the answer rendered and tagged.
pub fn cached_track_response(answer: CachedAnswer) -> (http::Response<String>, String) {
    match answer {
        CachedAnswer::View(view) => match kept_view(&view) {
            Some((tag, body)) => (
                json_text_response(200, body.to_owned(), CACHED_ANSWER),
                tag.to_owned(),
            ),
            // Not written so: served as text, tagged by it.
            None => tagged(json_text_response(200, view, CACHED_ANSWER)),
        },
        CachedAnswer::Outcome(outcome) => tagged(track_response(outcome)),
    }
}

/// `response` with the tag of its exact body, which changes whenever what the caller sees does.
pub fn tagged(response: http::Response<String>) -> (http::Response<String>, String) {
    let tag = etag(response.body());
    (response, tag)
}

/// The customer track answer: the body, how long a browser may keep it, and when a refused
/// refresh may be tried again.
pub fn track_response(outcome: TrackOutcome) -> http::Response<String> {
    match outcome {
        TrackOutcome::NoAwb(shipping_status) => json_response(
            200,
            &json!({
                "success": false,
                "message": "Shipment not initiated for this order yet",
                "code": "NO_AWB",
                "shippingStatus": shipping_status,
            }),
            NO_STORE,
        ),
        TrackOutcome::Tracking { snapshot, source } => {
            let cache = if source == Source::Cached {
                CACHED_ANSWER
            } else {
                NO_STORE
            };
            let body = track_text(&snapshot, &source);
            let mut response = json_text_response(200, body, cache);
            if let Source::RefreshLimited { retry_after_secs } = source {
                response.headers_mut().insert(
                    http::header::RETRY_AFTER,
                    http::HeaderValue::from(retry_after_secs),
                );
            }
            response
        }
    }
}

fn carrier_response_view(response: &StoredResponse) -> Value {
    // Whole answers are JSON; a cut one is shown as the text it is.
    let body = if response.truncated {
        json!(response.body)
    } else {
        serde_json::from_str(&response.body).unwrap_or_else(|_| json!(response.body))
    };
    json!({
        "fetchedAt": iso(response.fetched_at),
        "httpStatus": response.http_status,
        "truncated": response.truncated,
        "body": body,
    })
}

/// What the admin body says of the background refresh.
pub fn background_text(background: &Background) -> String {
    match background {
        Background::Scheduled => "scheduled".to_owned(),
        Background::NoWaybill => "not possible: no waybill".to_owned(),
        Background::Skipped { retry_after_secs } => {
            format!("skipped: refreshed moments ago (next in {retry_after_secs} s)")
        }
        Background::NotNeeded => "not needed".to_owned(),
    }
}

/// The customer body plus `admin`.
pub fn admin_body(view: &AdminView) -> Value {
    let snapshot: &Snapshot = &view.snapshot;
    let order = &snapshot.order;
    let mut body = serde_json::to_value(track_body(snapshot, &Source::Cached)).expect("serialises");
    body["admin"] = json!({
        "customerId": order.customer_id,
        "updatedAt": iso(order.updated_at),
        "lastSyncedAt": order.last_synced_at.map(iso),
        "lastSyncError": order.last_sync_error,
        "stale": view.stale,
        "backgroundRefresh": background_text(&view.background),
        "polling": {
            "nextCheckAt": order.next_check_at.map(iso),
            "lastProgressAt": order.last_progress_at.map(iso),
            "stoppedAt": order.polling_stopped_at.map(iso),
        },
        "carrierResponse": view.carrier_response.as_ref().map(carrier_response_view),
    });
    body
}

pub fn sync_body(summary: &SyncSummary) -> Value {
    let order = &summary.snapshot.order;
    json!({
        "success": true,
        "orderId": order.id,
        "awbNo": order.awb_no,
        "changed": summary.changed,
        "newEvents": summary.new_events,
        "previousStatus": summary.previous_latest.as_ref().map(|l| l.status),
        "status": summary.snapshot.latest.as_ref().map(|l| l.status),
        "shippingStatus": order.shipping_status,
        "orderStatus": order.order_status,
        "lastSyncedAt": order.last_synced_at.map(iso),
    })
}

pub fn order_view(snapshot: &Snapshot) -> Value {
    let o = &snapshot.order;
    json!({
        "orderId": o.id, "customerId": o.customer_id, "orderStatus": o.order_status,
        "shippingStatus": o.shipping_status, "awbNo": o.awb_no, "courier": o.courier,
        "createdAt": iso(o.created_at), "updatedAt": iso(o.updated_at),
        "lastSyncedAt": o.last_synced_at.map(iso),
        "tracking": snapshot.latest.as_ref().map(|l| json!({"status": l.status, "eventDate": iso(l.event_at)})),
    })
}
