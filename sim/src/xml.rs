//! Renders tracking answers in Blue Dart's XML shape: waybill and reference as attributes,
//! everything else as child elements, scans newest first, IST dates in Blue Dart's formats.

use std::fmt::Write;

use crate::model::{AnswerShape, Scan, Shipment};

/// The text Blue Dart puts in `<Error>` (and, in the older form, in `<Status>`) for a waybill it
/// has no information about.
pub const NO_INFORMATION: &str = "Incorrect waybill number or No information";
pub const NO_INFORMATION_LEGACY: &str = "Incorrect Waybill number or No Information";
pub const LICENSE_MISMATCH: &str = "License Mismatch";

/// Escapes text for element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// `<ShipmentData>` holding the given shipments. `with_scans` is the `scan=1` switch.
pub fn shipment_data(shipments: &[&Shipment], with_scans: bool) -> String {
    let mut out = String::from("<ShipmentData>\n");
    for shipment in shipments {
        write_shipment(&mut out, shipment, with_scans);
    }
    out.push_str("</ShipmentData>\n");
    out
}

/// `<ShipmentData><Error>…</Error></ShipmentData>`, the answer for an unknown waybill or an
/// account problem.
pub fn error_data(message: &str) -> String {
    format!(
        "<ShipmentData><Error>{}</Error></ShipmentData>\n",
        escape(message)
    )
}

/// The older "not found" form: a `<Shipment>` whose status type is `NF`.
pub fn legacy_not_found(waybill: &str) -> String {
    format!(
        "<ShipmentData>\n  <Shipment WaybillNo=\"{}\">\n    <Status>{}</Status>\n    <StatusType>NF</StatusType>\n  </Shipment>\n</ShipmentData>\n",
        escape(waybill),
        NO_INFORMATION_LEGACY
    )
}

fn element(out: &mut String, indent: &str, name: &str, value: &str) {
    let _ = writeln!(out, "{indent}<{name}>{}</{name}>", escape(value));
}

fn write_shipment(out: &mut String, s: &Shipment, with_scans: bool) {
    let _ = writeln!(
        out,
        "  <Shipment WaybillNo=\"{}\" RefNo=\"{}\">",
        escape(&s.waybill),
        escape(&s.ref_no)
    );
    let i = "    ";
    let pickup_date = s.pickup.map(|p| p.format("%d %B %Y").to_string());
    let pickup_time = s.pickup.map(|p| p.format("%H%M").to_string());
    element(out, i, "Service", &s.service);
    element(out, i, "PickUpDate", pickup_date.as_deref().unwrap_or(""));
    element(out, i, "PickUpTime", pickup_time.as_deref().unwrap_or(""));
    element(out, i, "Origin", &s.origin);
    element(out, i, "OriginAreaCode", &s.origin_area_code);
    element(out, i, "Destination", &s.destination);
    element(out, i, "DestinationAreaCode", &s.destination_area_code);
    element(out, i, "ProductType", &s.product_type);
    if let Some(c) = &s.consignee {
        element(out, i, "Consignee", &c.name);
        element(out, i, "ConsigneeAddress1", &c.address1);
        element(out, i, "ConsigneeAddress2", &c.address2);
        element(out, i, "ConsigneeAddress3", &c.address3);
        element(out, i, "ConsigneePincode", &c.pincode);
        element(out, i, "ConsigneeTelNo", &c.phone);
    }
    element(out, i, "Weight", &s.weight);
    let latest = s.latest_scan();
    element(out, i, "Status", latest.map_or("", |l| l.scan.as_str()));
    element(
        out,
        i,
        "StatusType",
        latest.map_or("", |l| l.scan_type.as_str()),
    );
    let expected = s
        .expected_delivery
        .map(|d| d.format("%d %B %Y").to_string());
    element(
        out,
        i,
        "ExpectedDeliveryDate",
        expected.as_deref().unwrap_or(""),
    );
    let status_date = latest.map(|l| l.at.format("%d %B %Y").to_string());
    let status_time = latest.map(|l| l.at.format("%H:%M").to_string());
    element(out, i, "StatusDate", status_date.as_deref().unwrap_or(""));
    element(out, i, "StatusTime", status_time.as_deref().unwrap_or(""));
    element(out, i, "NewWaybillNo", &s.new_waybill);
    element(out, i, "ReceivedBy", &s.received_by);
    if with_scans {
        out.push_str("    <Scans>\n");
        for scan in s.scans_newest_first() {
            write_scan(out, scan, s.shape);
        }
        out.push_str("    </Scans>\n");
    }
    out.push_str("  </Shipment>\n");
}

fn write_scan(out: &mut String, scan: &Scan, shape: AnswerShape) {
    let date = scan.at.format("%d-%b-%Y").to_string();
    let time = scan.at.format("%H:%M").to_string();
    // Laid out as in Blue Dart's published samples: three lines of fields.
    let lines: [&[(&str, &str, bool)]; 3] = [
        &[
            ("Scan", &scan.scan, true),
            ("ScanCode", &scan.code, shape.shows_code()),
            ("ScanType", &scan.scan_type, true),
        ],
        &[
            ("ScanGroupType", &scan.group, shape.shows_group()),
            ("ScanDate", &date, true),
            ("ScanTime", &time, shape.shows_time()),
        ],
        &[
            ("ScannedLocation", &scan.location, shape.shows_place()),
            (
                "ScannedLocationCode",
                &scan.location_code,
                shape.shows_place() && shape.shows_code(),
            ),
        ],
    ];
    out.push_str("      <ScanDetail>\n");
    for fields in lines {
        let mut line = String::new();
        for (name, value, _) in fields.iter().filter(|(_, _, shown)| *shown) {
            let _ = write!(line, "<{name}>{}</{name}>", escape(value));
        }
        if !line.is_empty() {
            let _ = writeln!(out, "        {line}");
        }
    }
    out.push_str("      </ScanDetail>\n");
}
