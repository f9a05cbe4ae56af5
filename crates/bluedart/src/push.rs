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

use serde::Deserialize;
use serde::de::Deserializer;
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

/// A string, a number or a boolean read as text; `null` as empty.
fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        S(String),
        N(serde_json::Number),
        B(bool),
        Null(()),
    }
    Ok(match Option::<Text>::deserialize(deserializer)? {
        Some(Text::S(s)) => tidy(&s),
        Some(Text::N(n)) => n.to_string(),
        Some(Text::B(b)) => b.to_string(),
        Some(Text::Null(())) | None => String::new(),
    })
}

/// One object where a list is expected is a list of one.
fn one_or_many<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        Many(Vec<T>),
        One(T),
    }
    Ok(match Option::<OneOrMany<T>>::deserialize(deserializer)? {
        Some(OneOrMany::Many(items)) => items,
        Some(OneOrMany::One(item)) => vec![item],
        None => Vec::new(),
    })
}

/// A scan's fields, under `ScanDetail` (Plus) or on the shipment itself (Lite).
#[derive(Clone, Debug, Default, Deserialize)]
struct PushScan {
    #[serde(rename = "Scan", default, deserialize_with = "text")]
    scan: String,
    #[serde(rename = "ScanCode", default, deserialize_with = "text")]
    code: String,
    #[serde(rename = "ScanType", default, deserialize_with = "text")]
    scan_type: String,
    #[serde(rename = "ScanGroupType", default, deserialize_with = "text")]
    group: String,
    #[serde(rename = "ScanDate", default, deserialize_with = "text")]
    date: String,
    #[serde(rename = "ScanTime", default, deserialize_with = "text")]
    time: String,
    #[serde(rename = "ScannedLocation", default, deserialize_with = "text")]
    location: String,
    #[serde(rename = "ScannedLocationCode", default, deserialize_with = "text")]
    location_code: String,
}

impl PushScan {
    fn is_empty(&self) -> bool {
        self.scan.is_empty() && self.scan_type.is_empty() && self.date.is_empty()
    }

    fn into_carrier(self) -> CarrierScan<'static> {
        CarrierScan {
            scan: self.scan.into(),
            code: self.code.into(),
            scan_type: self.scan_type.into(),
            group: self.group.into(),
            date: self.date.into(),
            time: self.time.into(),
            location: self.location.into(),
            location_code: self.location_code.into(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct PushScans {
    #[serde(rename = "ScanDetail", default, deserialize_with = "one_or_many")]
    details: Vec<PushScan>,
    // `DeliveryDetails`, `PODDCImages`, `Reweigh`: not named, so never read.
}

#[derive(Debug, Default, Deserialize)]
struct PushShipment {
    #[serde(rename = "WaybillNo", default, deserialize_with = "text")]
    waybill: String,
    #[serde(rename = "RefNo", default, deserialize_with = "text")]
    ref_no: String,
    #[serde(rename = "Status", default, deserialize_with = "text")]
    status: String,
    #[serde(rename = "StatusType", default, deserialize_with = "text")]
    status_type: String,
    #[serde(rename = "ExpectedDeliveryDate", default, deserialize_with = "text")]
    expected_delivery: String,
    #[serde(
        rename = "DynamicExpectedDeliveryDate",
        default,
        deserialize_with = "text"
    )]
    dynamic_expected_delivery: String,
    #[serde(rename = "NewWaybillNo", default, deserialize_with = "text")]
    new_waybill: String,
    #[serde(rename = "Origin", default, deserialize_with = "text")]
    origin: String,
    #[serde(rename = "OriginAreaCode", default, deserialize_with = "text")]
    origin_area_code: String,
    #[serde(rename = "Destination", default, deserialize_with = "text")]
    destination: String,
    #[serde(rename = "DestinationAreaCode", default, deserialize_with = "text")]
    destination_area_code: String,
    /// Plus: the scans (and, unread, the delivery details and images).
    #[serde(rename = "Scans", default)]
    scans: Option<PushScans>,
    /// Lite: the one scan's fields beside the shipment's.
    #[serde(flatten)]
    lite: PushScan,
}

#[derive(Deserialize)]
struct PushItem {
    #[serde(rename = "Shipment")]
    shipment: PushShipment,
}

#[derive(Deserialize)]
struct PushBody {
    #[serde(rename = "statustracking", deserialize_with = "one_or_many")]
    items: Vec<serde_json::Value>,
}

/// Drops the values that carry personal data before an item is read further, so that not even
/// a failed read can quote them.
fn strip_personal(item: &mut serde_json::Value) {
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
fn read_item(value: serde_json::Value) -> Result<CarrierShipment<'static>, &'static str> {
    let mut value = value;
    strip_personal(&mut value);
    let PushItem { shipment } =
        serde_json::from_value(value).map_err(|_| "not a {\"Shipment\": {…}} object")?;
    if !valid_awb(&shipment.waybill) {
        return Err("WaybillNo missing or not 9-12 digits");
    }
    let mut scans: Vec<CarrierScan<'static>> = shipment
        .scans
        .map(|s| s.details)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| !s.is_empty())
        .map(PushScan::into_carrier)
        .collect();
    if !shipment.lite.is_empty() {
        scans.push(shipment.lite.into_carrier());
    }
    if scans.is_empty() {
        return Err("no scan");
    }
    if scans.iter().any(|s| scan_at(s).is_none()) {
        return Err("ScanDate missing or not dd-mm-yyyy");
    }
    let expected = if shipment.dynamic_expected_delivery.is_empty() {
        shipment.expected_delivery
    } else {
        shipment.dynamic_expected_delivery
    };
    Ok(CarrierShipment {
        waybill: shipment.waybill.into(),
        ref_no: shipment.ref_no.into(),
        status: shipment.status.into(),
        status_type: shipment.status_type.into(),
        expected_delivery: expected.into(),
        new_waybill: shipment.new_waybill.into(),
        origin: shipment.origin.into(),
        origin_area_code: shipment.origin_area_code.into(),
        destination: shipment.destination.into(),
        destination_area_code: shipment.destination_area_code.into(),
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
    let body: PushBody = serde_json::from_slice(body).map_err(|e| {
        PushBodyError::NotAPush(if e.is_data() {
            "expected {\"statustracking\": [...]}".to_owned()
        } else {
            "the body is not JSON".to_owned()
        })
    })?;
    let items = body.items.len();
    let mut rejected = Vec::new();
    let mut shipments = Vec::new();
    for (item, value) in body.items.into_iter().enumerate() {
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
        items,
        rejected,
        updates,
    })
}
