//! Reads Blue Dart's pushed status updates (its "Push API — Status Tracking").
//!
//! `{"statustracking": [{"Shipment": {…}}, …]}` in two variants that one push may mix: *Plus*,
//! one entry per shipment with its scans under `Scans.ScanDetail`, and *Lite*, one entry per
//! scan with the scan's fields on the `Shipment` object itself. Dates are `dd-mm-yyyy` and times
//! `HHMM`, in IST. Every field is optional and every value is read as a string; unknown fields
//! are ignored; one object stands for a list of one. `DeliveryDetails` and `PODDCImages`
//! (receiver's name, ID numbers, signature, photos) are never read into anything: serde skips
//! them, so they cannot reach a log, an answer or a stored row.
//!
//! The shipments become the same `CarrierShipment`s the tracking XML gives, and the same
//! `events::update_for` turns them into events, so a pushed scan and the same scan polled are
//! one event.

use serde_json::{Map, Value};
use tracking_core::model::valid_awb;
use tracking_core::push::{PushBatch, PushItemError, PushUpdate};

use crate::events::{rto_target, update_for};
use crate::parse::{CarrierScan, CarrierShipment, tidy};
use crate::time::{ist_to_utc, parse_date, parse_time};

/// Why a push as a whole could not be read (items that cannot be read are reported one by one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushBodyError {
    /// Not JSON, or JSON without a `statustracking` member.
    NotAPush(String),
}

impl std::fmt::Display for PushBodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PushBodyError::NotAPush(why) => f.write_str(why),
        }
    }
}

/// [`read_push`] with its error as text: the shape the HTTP contract's push reader takes.
pub fn read_push_text(body: &[u8]) -> Result<PushBatch, String> {
    read_push(body).map_err(|e| e.to_string())
}

/// An item that is not `{"Shipment": {…}}` with readable fields.
const NOT_A_SHIPMENT: &str = "not a {\"Shipment\": {…}} object";

// The push is read from `serde_json::Value` by hand rather than through serde's derive: its
// loose shapes (one object for a list of one, a value of any scalar type, a Lite scan's fields
// beside the shipment's) would take untagged enums and `flatten`, whose buffering code cost the
// wasm about 30 KB.

/// A member read as text: a string (tidied), a number or a boolean as written; missing or
/// `null` as empty. An object or a list is not a value.
fn text(object: &Map<String, Value>, name: &str) -> Result<String, &'static str> {
    Ok(match object.get(name) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => tidy(s),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(_) => return Err(NOT_A_SHIPMENT),
    })
}

/// A member that is one item or a list of them, as a list; missing or `null` as empty.
fn one_or_many(value: Option<&Value>) -> &[Value] {
    match value {
        None | Some(Value::Null) => &[],
        Some(Value::Array(items)) => items,
        Some(one) => std::slice::from_ref(one),
    }
}

/// A scan's fields, under `ScanDetail` (Plus) or on the shipment itself (Lite); `None` when it
/// has none of a scan's, date or name.
fn scan(object: &Map<String, Value>) -> Result<Option<CarrierScan<'static>>, &'static str> {
    let field = |name| text(object, name).map(Into::into);
    let scan = CarrierScan {
        scan: field("Scan")?,
        code: field("ScanCode")?,
        scan_type: field("ScanType")?,
        group: field("ScanGroupType")?,
        date: field("ScanDate")?,
        time: field("ScanTime")?,
        location: field("ScannedLocation")?,
        location_code: field("ScannedLocationCode")?,
    };
    let empty = scan.scan.is_empty() && scan.scan_type.is_empty() && scan.date.is_empty();
    Ok((!empty).then_some(scan))
}

/// Drops the values that carry personal data before an item is read further, so that not even
/// a failed read can quote them.
fn strip_personal(item: &mut Value) {
    if let Some(scans) = item
        .get_mut("Shipment")
        .and_then(|s| s.get_mut("Scans"))
        .and_then(|s| s.as_object_mut())
    {
        scans.remove("DeliveryDetails");
        scans.remove("PODDCImages");
    }
    if let Some(shipment) = item.get_mut("Shipment").and_then(|s| s.as_object_mut()) {
        for key in ["DeliveryDetails", "PODDCImages", "ReceivedBy", "Consignee"] {
            shipment.remove(key);
        }
    }
}

/// A scan's time for ordering, if its date can be read.
fn scan_at(scan: &CarrierScan) -> Option<chrono::DateTime<chrono::Utc>> {
    Some(ist_to_utc(parse_date(&scan.date)?, parse_time(&scan.time)))
}

/// One item read, or why not.
fn read_item(value: &mut Value) -> Result<CarrierShipment<'static>, &'static str> {
    strip_personal(value);
    let shipment = value
        .get("Shipment")
        .and_then(Value::as_object)
        .ok_or(NOT_A_SHIPMENT)?;
    let field = |name| text(shipment, name);
    let waybill = field("WaybillNo")?;
    if !valid_awb(&waybill) {
        return Err("WaybillNo missing or not 9-12 digits");
    }
    // Plus: the scans (and, unread, the delivery details and images).
    let details = match shipment.get("Scans") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Object(scans)) => one_or_many(scans.get("ScanDetail")),
        Some(_) => return Err(NOT_A_SHIPMENT),
    };
    let mut scans = Vec::with_capacity(details.len() + 1);
    for detail in details {
        let detail = detail.as_object().ok_or(NOT_A_SHIPMENT)?;
        scans.extend(scan(detail)?);
    }
    // Lite: the one scan's fields beside the shipment's.
    scans.extend(scan(shipment)?);
    if scans.is_empty() {
        return Err("no scan");
    }
    if scans.iter().any(|s| scan_at(s).is_none()) {
        return Err("ScanDate missing or not dd-mm-yyyy");
    }
    let dynamic = field("DynamicExpectedDeliveryDate")?;
    let expected = if dynamic.is_empty() {
        field("ExpectedDeliveryDate")?
    } else {
        dynamic
    };
    Ok(CarrierShipment {
        waybill: waybill.into(),
        ref_no: field("RefNo")?.into(),
        status: field("Status")?.into(),
        status_type: field("StatusType")?.into(),
        expected_delivery: expected.into(),
        new_waybill: field("NewWaybillNo")?.into(),
        origin: field("Origin")?.into(),
        origin_area_code: field("OriginAreaCode")?.into(),
        destination: field("Destination")?.into(),
        destination_area_code: field("DestinationAreaCode")?.into(),
        scans,
        ..CarrierShipment::default()
    })
}

/// The forward waybill a return leg's reference names (`RTO - 81234567890`), if it does.
fn forward_of(shipment: &CarrierShipment) -> Option<String> {
    let forward = rto_target(&shipment.ref_no)?;
    (valid_awb(forward) && forward != shipment.waybill).then(|| forward.to_owned())
}

/// Folds the entries of one waybill (Lite: one per scan) into one shipment, scans newest first
/// as in a tracking answer, each scan once.
fn combine(shipments: Vec<CarrierShipment<'static>>) -> Vec<CarrierShipment<'static>> {
    let mut combined: Vec<CarrierShipment<'static>> = Vec::new();
    for shipment in shipments {
        match combined.iter_mut().find(|c| c.waybill == shipment.waybill) {
            Some(into) => {
                for scan in shipment.scans {
                    if !into.scans.contains(&scan) {
                        into.scans.push(scan);
                    }
                }
                for (to, from) in [
                    (&mut into.ref_no, shipment.ref_no),
                    (&mut into.expected_delivery, shipment.expected_delivery),
                    (&mut into.new_waybill, shipment.new_waybill),
                    (&mut into.destination, shipment.destination),
                    (
                        &mut into.destination_area_code,
                        shipment.destination_area_code,
                    ),
                ] {
                    if to.is_empty() {
                        *to = from;
                    }
                }
            }
            None => combined.push(shipment),
        }
    }
    for shipment in &mut combined {
        // Newest first; a stable sort keeps the pushed order for equal times.
        shipment.scans.reverse();
        tracking_core::sorting::sort_by_key(&mut shipment.scans, |s| std::cmp::Reverse(scan_at(s)));
    }
    combined
}

/// Reads a push. Items that cannot be read are reported by position; the rest become one
/// update per order waybill (a return leg's scans go with its forward waybill).
pub fn read_push(body: &[u8]) -> Result<PushBatch, PushBodyError> {
    let not_a_push = || PushBodyError::NotAPush("expected {\"statustracking\": [...]}".to_owned());
    let mut body: Value = serde_json::from_slice(body)
        .map_err(|_| PushBodyError::NotAPush("the body is not JSON".to_owned()))?;
    let mut items = match body.get_mut("statustracking").map(Value::take) {
        Some(Value::Array(items)) => items,
        Some(Value::Null) => Vec::new(),
        // One item stands for a list of one (and is rejected as an item if it is not one).
        Some(one) => vec![one],
        None => return Err(not_a_push()),
    };
    let count = items.len();
    let mut rejected = Vec::new();
    let mut shipments = Vec::new();
    for (item, value) in items.iter_mut().enumerate() {
        match read_item(value) {
            Ok(shipment) => shipments.push(shipment),
            Err(reason) => rejected.push(PushItemError {
                item,
                reason: reason.to_owned(),
            }),
        }
    }
    let shipments = combine(shipments);
    let mut awbs: Vec<String> = Vec::new();
    for shipment in &shipments {
        let awb = forward_of(shipment).unwrap_or_else(|| shipment.waybill.to_string());
        if !awbs.contains(&awb) {
            awbs.push(awb);
        }
    }
    let updates = awbs
        .into_iter()
        .filter_map(|awb| {
            let update = update_for(&awb, &shipments)?;
            Some(PushUpdate { awb, update })
        })
        .collect();
    Ok(PushBatch {
        items: count,
        rejected,
        updates,
    })
}
