//! Demo shipments, one per state worth seeing: out for delivery (the sample from
//! `bluedart-protocol.md`, byte for byte), in transit, delivered, returned to origin, a failed
//! delivery attempt and a lost parcel; and a delivered parcel in each of the two other answer
//! shapes real accounts send (code without group, no codes at all). `scripts/demo-seed.sql`
//! registers the matching orders.

use chrono::NaiveDateTime;

use crate::model::{AnswerShape, Consignee, Scan, Shipment};

/// Parses `"YYYY-MM-DD HH:MM"` (IST).
pub fn ist(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("demo times are well formed")
}

/// A scan; `group`/`code` as Blue Dart pairs them (`S`/`002`, `T`/`000`, …).
pub fn scan(text: &str, group: &str, code: &str, scan_type: &str, at: &str, place: &str) -> Scan {
    let (location, location_code) = place.split_once('/').unwrap_or((place, ""));
    Scan {
        scan: text.into(),
        code: code.into(),
        scan_type: scan_type.into(),
        group: group.into(),
        at: ist(at),
        location: location.into(),
        location_code: location_code.into(),
    }
}

fn pune_to_kochi(waybill: &str, ref_no: &str, scans: Vec<Scan>) -> Shipment {
    Shipment {
        waybill: waybill.into(),
        ref_no: ref_no.into(),
        service: "Dart Apex - Door To Door".into(),
        pickup: Some(ist("2026-01-21 17:15")),
        origin: "PUNE".into(),
        origin_area_code: "PNQ".into(),
        destination: "KOCHI".into(),
        destination_area_code: "COK".into(),
        product_type: "Non Documents".into(),
        weight: "0.8".into(),
        expected_delivery: chrono::NaiveDate::from_ymd_opt(2026, 1, 24),
        scans,
        ..Shipment::default()
    }
}

/// The first two legs every demo parcel shares.
fn booked_and_outscanned() -> Vec<Scan> {
    vec![
        scan(
            "SHIPMENT OUTSCANNED TO NETWORK",
            "S",
            "003",
            "UD",
            "2026-01-22 03:05",
            "PUNE HUB/PNH",
        ),
        scan(
            "SHIPMENT ARRIVED",
            "S",
            "001",
            "UD",
            "2026-01-23 22:40",
            "KOCHI SERVICE CENTRE/COK",
        ),
    ]
}

/// Blue Dart's delivery scan (`T`/`000`, type `DL`) at the Kochi service centre.
pub fn delivered_in_kochi() -> Scan {
    scan(
        "SHIPMENT DELIVERED",
        "T",
        "000",
        "DL",
        "2026-01-24 14:05",
        "KOCHI SERVICE CENTRE/COK",
    )
}

/// A parcel in transit from Pune to Kochi (outscanned, arrived) under `waybill`, without
/// consignee details: for loading many shipments at once.
pub fn in_transit(waybill: &str, ref_no: &str) -> Shipment {
    pune_to_kochi(waybill, ref_no, booked_and_outscanned())
}

/// A parcel delivered in Kochi, answered in `shape`.
pub fn delivered_in_shape(waybill: &str, ref_no: &str, shape: AnswerShape) -> Shipment {
    Shipment {
        shape,
        ..pune_to_kochi(
            waybill,
            ref_no,
            with(booked_and_outscanned(), vec![delivered_in_kochi()]),
        )
    }
}

/// A parcel from Pune delivered in New Delhi at a service centre named after its locality (ITO),
/// answered without codes, as older accounts do.
fn delivered_in_delhi_without_codes() -> Shipment {
    let scans = vec![
        scan(
            "SHIPMENT OUTSCANNED TO NETWORK",
            "S",
            "003",
            "UD",
            "2026-01-22 03:05",
            "PUNE HUB/PNH",
        ),
        scan(
            "SHIPMENT ARRIVED",
            "S",
            "001",
            "UD",
            "2026-01-23 21:10",
            "RAMA ROAD HUB/DEL",
        ),
        scan(
            "SHIPMENT OUT FOR DELIVERY",
            "S",
            "002",
            "UD",
            "2026-01-24 08:30",
            "ITO SERVICE CENTRE/DEL",
        ),
        scan(
            "Shipment delivered",
            "T",
            "000",
            "DL",
            "2026-01-24 12:20",
            "ITO SERVICE CENTRE/DEL",
        ),
    ];
    Shipment {
        destination: "NEW DELHI".into(),
        destination_area_code: "DEL".into(),
        weight: "1.2".into(),
        shape: AnswerShape::NoCodes,
        ..pune_to_kochi("81234567897", "ORD-2299", scans)
    }
}

fn with(mut scans: Vec<Scan>, more: Vec<Scan>) -> Vec<Scan> {
    scans.extend(more);
    scans
}

/// Blue Dart's out-for-delivery scan (`S`/`002`) at the Kochi service centre.
pub fn out_for_delivery_in_kochi() -> Scan {
    scan(
        "SHIPMENT OUT FOR DELIVERY",
        "S",
        "002",
        "UD",
        "2026-01-24 09:12",
        "KOCHI SERVICE CENTRE/COK",
    )
}

pub fn shipments() -> Vec<Shipment> {
    let out_for_delivery = out_for_delivery_in_kochi();
    let mut delivered = pune_to_kochi(
        "81234567892",
        "ORD-2293",
        with(
            booked_and_outscanned(),
            vec![out_for_delivery.clone(), delivered_in_kochi()],
        ),
    );
    delivered.received_by = "SELF".into();
    let mut returning = pune_to_kochi(
        "81234567893",
        "ORD-2294",
        with(
            booked_and_outscanned(),
            vec![
                out_for_delivery.clone(),
                scan(
                    "CONSIGNEE REFUSED TO ACCEPT",
                    "T",
                    "011",
                    "UD",
                    "2026-01-24 13:30",
                    "KOCHI SERVICE CENTRE/COK",
                ),
                scan(
                    "RETURN TO ORIGIN",
                    "T",
                    "074",
                    "RT",
                    "2026-01-25 10:00",
                    "KOCHI SERVICE CENTRE/COK",
                ),
            ],
        ),
    );
    returning.new_waybill = "81234567899".into();
    let returned = Shipment {
        waybill: "81234567899".into(),
        ref_no: "RTO - 81234567893".into(),
        service: "Dart Apex - Door To Door".into(),
        pickup: Some(ist("2026-01-25 10:00")),
        origin: "KOCHI".into(),
        origin_area_code: "COK".into(),
        destination: "PUNE".into(),
        destination_area_code: "PNQ".into(),
        product_type: "Non Documents".into(),
        weight: "0.8".into(),
        received_by: "SHIPPER".into(),
        scans: vec![
            scan(
                "SHIPMENT OUTSCANNED TO NETWORK",
                "S",
                "003",
                "RT",
                "2026-01-25 18:20",
                "KOCHI HUB/COH",
            ),
            scan(
                "SHIPMENT DELIVERED BACK TO SHIPPER",
                "T",
                "118",
                "DL",
                "2026-01-28 11:45",
                "PUNE SERVICE CENTRE/PNQ",
            ),
        ],
        ..Shipment::default()
    };
    vec![
        pune_to_kochi(
            "81234567890",
            "ORD-2291",
            with(booked_and_outscanned(), vec![out_for_delivery.clone()]),
        ),
        Shipment {
            consignee: Some(Consignee {
                name: "ASHA MENON".into(),
                address1: "14/221 MARINE DRIVE".into(),
                address2: "ERNAKULAM".into(),
                address3: "".into(),
                pincode: "682031".into(),
                phone: "9847012345".into(),
            }),
            ..in_transit("81234567891", "ORD-2292")
        },
        delivered,
        returning,
        returned,
        pune_to_kochi(
            "81234567894",
            "ORD-2295",
            with(
                booked_and_outscanned(),
                vec![
                    out_for_delivery.clone(),
                    scan(
                        "CONSIGNEE NOT AVAILABLE",
                        "T",
                        "013",
                        "UD",
                        "2026-01-24 16:50",
                        "KOCHI SERVICE CENTRE/COK",
                    ),
                ],
            ),
        ),
        pune_to_kochi(
            "81234567895",
            "ORD-2296",
            with(
                booked_and_outscanned(),
                vec![scan(
                    "SHIPMENT LOST",
                    "T",
                    "021",
                    "DL",
                    "2026-01-26 09:00",
                    "KOCHI HUB/COH",
                )],
            ),
        ),
        delivered_in_shape("81234567896", "ORD-2298", AnswerShape::CodeWithoutGroup),
        delivered_in_delhi_without_codes(),
    ]
}

/// What happens next to the demo parcel in transit (ORD-2292) when `npm run dev` lets the
/// simulator push: out for delivery in Kochi, then delivered.
pub fn onward_journey() -> (&'static str, Vec<Scan>) {
    (
        "81234567891",
        vec![out_for_delivery_in_kochi(), delivered_in_kochi()],
    )
}
