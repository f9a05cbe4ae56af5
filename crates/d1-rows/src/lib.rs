//! The rows a sync writes, encoded as the JSON parameters that D1's batch statements read with
//! `json_each` (the worker's `src/d1/`). Pure, so that what a sync costs can be measured natively,
//! and a crate of its own so that it compiles for speed while the worker compiles for size (see
//! the release profile in the workspace's `Cargo.toml`).
//! Rows are serialised straight from borrowed structs: this runs for every synced shipment.

use serde::Serialize;

use tracking_core::json_text;
use tracking_core::model::TrackingEvent;
use tracking_core::rules::merge::{OrderSync, RawBody, RawResponse};
use tracking_core::utc;

/// Events as rows, each a JSON array, not an object, because a sync writes two or three for
/// every shipment and their keys were a third of the strings it encoded. The worker's
/// `INSERT_EVENTS` (`src/d1/events.rs`) reads them by position: order id, waybill, carrier
/// status, status, description, scan code, facility, city, state, country, place key, event
/// time, synced time (as `utc::text` writes them).
pub fn encode_events<'a>(
    rows: impl IntoIterator<Item = (&'a str, &'a TrackingEvent, &'a str)>,
) -> Option<String> {
    encode_by_hand(rows, |out, (order_id, e, synced_at)| {
        json_text::push_array(
            out,
            &[
                order_id,
                &e.awb_no,
                &e.carrier_status,
                e.status.as_str(),
                &e.description,
                &e.scan_code,
                &e.location.facility,
                &e.location.city,
                &e.location.state,
                &e.location.country,
                &e.place_key,
                utc::text(e.event_at).as_str(),
                synced_at,
            ],
        );
    })
}

/// Events' identities as rows (to move the latest flag to them), read by name.
pub fn encode_identities<'a>(
    rows: impl IntoIterator<Item = (&'a str, &'a TrackingEvent)>,
) -> Option<String> {
    encode_by_hand(rows, |out, (order_id, e)| {
        out.push('{');
        json_text::push_members(
            out,
            &[
                ("o", order_id),
                ("a", &e.awb_no),
                ("e", utc::text(e.event_at).as_str()),
                ("k", &e.scan_code),
                ("pk", &e.place_key),
            ],
        );
        out.push('}');
    })
}

/// Rows as one JSON array, each written by `row`; `None` when there are none. By hand, as the
/// rows of every synced shipment are: serde_json writes a string a byte at a time.
fn encode_by_hand<T>(
    rows: impl IntoIterator<Item = T>,
    mut row: impl FnMut(&mut String, T),
) -> Option<String> {
    let mut out = String::new();
    for (n, item) in rows.into_iter().enumerate() {
        out.push(if n == 0 { '[' } else { ',' });
        row(&mut out, item);
    }
    (!out.is_empty()).then(|| out + "]")
}

/// The orders' new state as rows, read by name: id, shipping and order status, the synced
/// time, and the expected delivery day and the schedule's times (`null` when unset); whether
/// the version moves, and the version the sync was planned from.
fn encode_orders<'a>(rows: impl IntoIterator<Item = (&'a OrderSync, &'a str)>) -> Option<String> {
    encode_by_hand(rows, |out, (sync, synced_at)| {
        out.push('{');
        json_text::push_members(
            out,
            &[
                ("id", &sync.order_id),
                ("ss", sync.shipping_status.as_str()),
                ("os", &sync.order_status),
            ],
        );
        let day = sync.expected_delivery.map(utc::day);
        let times = [
            sync.next_check_at,
            sync.last_progress_at,
            sync.polling_stopped_at,
            sync.kv_held_until,
        ]
        .map(|at| at.map(utc::text));
        let [nc, lp, ps, kh] = times.each_ref().map(|t| t.as_ref().map(utc::Text::as_str));
        let ed = day.as_ref().map(utc::Text::as_str);
        let t = Some(synced_at);
        for (name, value) in [
            ("ed", ed),
            ("t", t),
            ("nc", nc),
            ("lp", lp),
            ("ps", ps),
            ("kh", kh),
        ] {
            push_nullable(out, name, value);
        }
        // How far the save moves the order's version, and the version it was planned from.
        out.push_str(if sync.moves_version {
            ",\"v\":1,\"fv\":"
        } else {
            ",\"v\":0,\"fv\":"
        });
        out.push_str(&sync.from_version.to_string());
        out.push('}');
    })
}

/// `,"name":value`, `null` for `None`.
fn push_nullable(out: &mut String, name: &str, value: Option<&str>) {
    out.push_str(",\"");
    out.push_str(name);
    out.push_str("\":");
    match value {
        Some(value) => json_text::push_str(out, value),
        None => out.push_str("null"),
    }
}

/// The answers kept for admins, as rows written by hand, since serde_json cannot embed JSON text
/// it did not parse: a whole answer goes in as the JSON it is (`json_extract` gives its text
/// back), not escaped into a string once more; a cut one, no longer JSON, as a string.
fn encode_responses<'a>(
    kept: impl IntoIterator<Item = (&'a str, &'a str, &'a RawResponse)>,
) -> Option<String> {
    encode_by_hand(kept, |out, (order_id, synced_at, raw)| {
        // Room for the answer itself, which is most of the row.
        out.reserve(raw.body.as_str().len());
        out.push('{');
        json_text::push_members(out, &[("o", order_id), ("t", synced_at)]);
        out.push_str(",\"h\":");
        out.push_str(itoa::Buffer::new().format(raw.http_status));
        out.push_str(",\"b\":");
        match &raw.body {
            RawBody::Whole(json) => out.push_str(json.as_str()),
            RawBody::Cut(text) => json_text::push_str(out, text),
        }
        out.push_str(if raw.body.is_truncated() {
            ",\"tr\":1}"
        } else {
            ",\"tr\":0}"
        });
    })
}

/// Rows as one parameter; `None` when there are none (the statement is then left out).
pub fn encode<T: Serialize>(rows: &[T]) -> Option<String> {
    (!rows.is_empty()).then(|| serde_json::to_string(rows).expect("rows serialise"))
}

/// The parameters of a batch's writes.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncParams {
    pub events: Option<String>,
    pub latest: Option<String>,
    pub orders: Option<String>,
    pub responses: Option<String>,
}

pub fn sync_params(syncs: &[OrderSync]) -> SyncParams {
    let synced: Vec<utc::Text> = syncs.iter().map(|sync| utc::text(sync.synced_at)).collect();
    let each = || syncs.iter().zip(&synced);
    SyncParams {
        events: encode_events(each().flat_map(|(sync, synced_at)| {
            let id = sync.order_id.as_str();
            let synced_at = synced_at.as_str();
            sync.events.iter().map(move |e| (id, e, synced_at))
        })),
        latest: encode_identities(
            each().filter_map(|(sync, _)| Some((sync.order_id.as_str(), sync.latest.as_ref()?))),
        ),
        orders: encode_orders(each().map(|(sync, synced_at)| (sync, synced_at.as_str()))),
        responses: encode_responses(each().filter_map(|(sync, synced_at)| {
            Some((
                sync.order_id.as_str(),
                synced_at.as_str(),
                sync.raw.as_ref()?,
            ))
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeZone, Utc};
    use tracking_core::carrier::RawJson;
    use tracking_core::model::{ShippingStatus, Status};
    use tracking_core::rules::merge::RawResponse;

    fn sync(order_id: &str, at: DateTime<Utc>) -> OrderSync {
        let mut event = TrackingEvent::booked("111", at);
        event.status = Status::OutForDelivery;
        OrderSync {
            order_id: order_id.into(),
            events: vec![event.clone()],
            latest: Some(event),
            shipping_status: ShippingStatus::InTransit,
            order_status: "Shipped".into(),
            expected_delivery: None,
            synced_at: at,
            raw: None,
            next_check_at: Some(at),
            last_progress_at: Some(at),
            polling_stopped_at: None,
            kv_held_until: None,
            moves_version: true,
            from_version: 3,
        }
    }

    #[test]
    fn rows_carry_the_columns_the_statements_read() {
        let at = Utc.with_ymd_and_hms(2026, 1, 24, 3, 42, 0).unwrap();
        let params = sync_params(&[sync("ORD-1", at)]);
        let events: serde_json::Value =
            serde_json::from_str(params.events.as_deref().unwrap()).unwrap();
        let booked = TrackingEvent::booked("111", at);
        assert_eq!(
            events[0],
            serde_json::json!([
                "ORD-1",
                "111",
                booked.carrier_status,
                "out_for_delivery",
                booked.description,
                "BOOKED",
                booked.location.facility,
                booked.location.city,
                booked.location.state,
                booked.location.country,
                booked.place_key,
                "2026-01-24T03:42:00Z",
                "2026-01-24T03:42:00Z"
            ])
        );
        let orders: serde_json::Value =
            serde_json::from_str(params.orders.as_deref().unwrap()).unwrap();
        assert_eq!(
            orders,
            serde_json::json!([{"id": "ORD-1", "ss": "In-Transit", "os": "Shipped", "ed": null,
                "t": "2026-01-24T03:42:00Z", "nc": "2026-01-24T03:42:00Z",
                "lp": "2026-01-24T03:42:00Z", "ps": null, "kh": null, "v": 1, "fv": 3}])
        );
        let latest: serde_json::Value =
            serde_json::from_str(params.latest.as_deref().unwrap()).unwrap();
        assert_eq!(
            latest,
            serde_json::json!([{"o": "ORD-1", "a": "111", "e": "2026-01-24T03:42:00Z",
                "k": "BOOKED", "pk": ""}])
        );
        assert_eq!(params.responses, None);
        // Nothing new: those statements are left out.
        let quiet = OrderSync {
            events: vec![],
            latest: None,
            ..sync("ORD-1", at)
        };
        let params = sync_params(&[quiet.clone(), quiet]);
        assert_eq!((params.events, params.latest), (None, None));
        assert!(params.orders.is_some());
        let later = at + chrono::Duration::hours(5);
        let expected = OrderSync {
            order_id: "ORD-\"2\"".into(),
            order_status: "Delivered".into(),
            expected_delivery: chrono::NaiveDate::from_ymd_opt(2026, 1, 27),
            next_check_at: None,
            last_progress_at: None,
            polling_stopped_at: Some(later),
            kv_held_until: Some(later + chrono::Duration::minutes(1)),
            moves_version: false,
            from_version: 12,
            ..sync("ORD-1", at)
        };
        let orders: serde_json::Value =
            serde_json::from_str(sync_params(&[expected]).orders.as_deref().unwrap()).unwrap();
        assert_eq!(
            orders,
            serde_json::json!([{"id": "ORD-\"2\"", "ss": "In-Transit", "os": "Delivered",
                "ed": "2026-01-27", "t": "2026-01-24T03:42:00Z", "nc": null, "lp": null,
                "ps": "2026-01-24T08:42:00Z", "kh": "2026-01-24T08:43:00Z", "v": 0, "fv": 12}])
        );
    }

    #[test]
    fn a_whole_answer_is_embedded_as_json_and_a_cut_one_as_text() {
        let at = Utc.with_ymd_and_hms(2026, 1, 24, 3, 42, 0).unwrap();
        let kept = |order_id, body| OrderSync {
            raw: Some(RawResponse {
                http_status: 200,
                body,
            }),
            ..sync(order_id, at)
        };
        let whole = r#"[{"WaybillNo":"111","Scan":"SAID \"HI\""}]"#;
        let params = sync_params(&[
            kept(
                "ORD-1",
                RawBody::Whole(RawJson::parse(whole.into()).unwrap()),
            ),
            kept("ORD-2", RawBody::Cut(r#"[{"WaybillNo":"2"#.into())),
        ]);
        let text = params.responses.unwrap();
        assert!(text.contains(&format!(r#""b":{whole}"#)), "{text}");
        let rows: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(rows[0]["b"][0]["Scan"], "SAID \"HI\"");
        assert_eq!(rows[0]["tr"], 0);
        assert_eq!(rows[0]["t"], "2026-01-24T03:42:00Z");
        assert_eq!(rows[1]["b"], r#"[{"WaybillNo":"2"#);
        assert_eq!(rows[1]["tr"], 1);
        let events: serde_json::Value = serde_json::from_str(&params.events.unwrap()).unwrap();
        assert_eq!(events[1][0], "ORD-2");
        assert_eq!(events[1][12], "2026-01-24T03:42:00Z");
    }
}
