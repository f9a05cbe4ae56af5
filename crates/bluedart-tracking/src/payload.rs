//! What is kept of an answer for admins: the shipments' values as JSON, under Blue Dart's own
//! element names, consignee fields never included (the parser does not keep them). Written by
//! hand rather than derived: it runs for every synced shipment, and serde_json writes each key
//! and value a byte at a time.

use tracking_core::carrier::RawJson;
use tracking_core::json_text;

use crate::parse::{CarrierScan, CarrierShipment};

/// `shipments` as a JSON array of objects, values as sent.
pub fn payload(shipments: &[&CarrierShipment]) -> RawJson {
    // A shipment's kept answer, with its scans, is about a kilobyte: room for it to be written
    // without growing the buffer on the way.
    let mut out = String::with_capacity(2048);
    out.push('[');
    for (n, shipment) in shipments.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push('{');
        json_text::push_members(&mut out, &shipment_fields(shipment));
        out.push_str(",\"Scans\":[");
        for (n, scan) in shipment.scans.iter().enumerate() {
            out.push_str(if n == 0 { "{" } else { ",{" });
            json_text::push_members(&mut out, &scan_fields(scan));
            out.push('}');
        }
        out.push_str("]}");
    }
    out.push(']');
    RawJson::written(out)
}

/// A shipment's values under their element names, in the order they are written (its scans
/// follow, under `Scans`).
pub fn shipment_fields<'a>(s: &'a CarrierShipment) -> [(&'static str, &'a str); 12] {
    [
        ("WaybillNo", &s.waybill),
        ("RefNo", &s.ref_no),
        ("Status", &s.status),
        ("StatusType", &s.status_type),
        ("StatusDate", &s.status_date),
        ("StatusTime", &s.status_time),
        ("ExpectedDeliveryDate", &s.expected_delivery),
        ("NewWaybillNo", &s.new_waybill),
        ("Origin", &s.origin),
        ("OriginAreaCode", &s.origin_area_code),
        ("Destination", &s.destination),
        ("DestinationAreaCode", &s.destination_area_code),
    ]
}

/// A scan's values under their element names, in the order they are written.
pub fn scan_fields<'a>(s: &'a CarrierScan) -> [(&'static str, &'a str); 8] {
    [
        ("Scan", &s.scan),
        ("ScanCode", &s.code),
        ("ScanType", &s.scan_type),
        ("ScanGroupType", &s.group),
        ("ScanDate", &s.date),
        ("ScanTime", &s.time),
        ("ScannedLocation", &s.location),
        ("ScannedLocationCode", &s.location_code),
    ]
}
