//! Pushed status updates (protocol notes, section 6): both variants, mixed, one object for a
//! list, dd-mm-yyyy and HHMM in IST, personal data never read, bad items reported one by one,
//! and a pushed scan read as the very event the same scan polled becomes.

use bluedart::events::update_for;
use bluedart::parse::parse_tracking;
use bluedart::push::{PushBodyError, read_push, read_push_text};
use serde_json::{Value, json};
use tracking_core::model::Status;

fn plus(awb: &str, scans: Value) -> Value {
    json!({"Shipment": {
        "SenderID": "BDPUSH", "ReceiverID": "STORE", "WaybillNo": awb, "RefNo": "ORD-2291",
        "Prodcode": "A", "Origin": "PUNE", "OriginAreaCode": "PNQ", "Destination": "KOCHI",
        "DestinationAreaCode": "COK", "PickUpDate": "22-01-2026", "PickUpTime": "1715",
        "ExpectedDeliveryDate": "24-01-2026", "Weight": 0.5,
        "Scans": {
            "ScanDetail": scans,
            "DeliveryDetails": {"ReceivedBy": "PRIYA NAIR", "Relation": "SELF", "IDType": "AADHAAR",
                                "IDNumber": "1234-5678-9012", "IDImage": "aGVsbG8=", "Signature": "c2lnbg=="},
            "PODDCImages": {"PODImage": "iVBORw0KGgo=", "DCImage": "iVBORw0KGgo="}
        }
    }})
}

fn scan(text: &str, group: &str, code: &str, kind: &str, date: &str, time: &str) -> Value {
    json!({"Scan": text, "ScanCode": code, "ScanType": kind, "ScanGroupType": group,
           "ScanDate": date, "ScanTime": time, "ScannedLocation": "KOCHI SERVICE CENTRE",
           "ScannedLocationCode": "COK", "ScannedLocationCity": "KOCHI",
           "ScannedLocationStateCode": "KL", "StatusTimeZone": "IST", "SecureCode": "4711"})
}

/// A scan of arrival at Kochi, 23 January 2026, 22:40 IST.
fn arrived() -> Value {
    scan("SHIPMENT ARRIVED", "S", "001", "UD", "23-01-2026", "2240")
}

fn lite(awb: &str, scan_fields: Value) -> Value {
    let mut shipment = json!({"WaybillNo": awb, "RefNo": "ORD-2291", "Destination": "KOCHI",
                              "DestinationAreaCode": "COK"});
    for (k, v) in scan_fields.as_object().unwrap() {
        shipment[k] = v.clone();
    }
    json!({"Shipment": shipment})
}

/// The out-for-delivery scan of 81234567890, as a Lite entry.
fn lite_out_for_delivery() -> Value {
    lite(
        "81234567890",
        scan(
            "SHIPMENT OUT FOR DELIVERY",
            "S",
            "002",
            "UD",
            "24-01-2026",
            "0912",
        ),
    )
}

fn push(items: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({ "statustracking": items })).unwrap()
}

#[test]
fn a_plus_push_becomes_utc_events_oldest_first() {
    let body = push(vec![plus(
        "81234567890",
        json!([
            scan(
                "SHIPMENT OUT FOR DELIVERY",
                "S",
                "002",
                "UD",
                "24-01-2026",
                "0912"
            ),
            arrived(),
        ]),
    )]);
    let batch = read_push(&body).unwrap();
    assert_eq!((batch.items, batch.accepted()), (1, 1));
    assert_eq!(batch.updates.len(), 1);
    let update = &batch.updates[0].update;
    assert_eq!(batch.updates[0].awb, "81234567890");
    let e = &update.events;
    assert_eq!(e.len(), 2);
    assert_eq!(e[0].event_at.to_rfc3339(), "2026-01-23T17:10:00+00:00");
    assert_eq!(e[1].status, Status::OutForDelivery);
    assert_eq!(e[1].scan_code, "S/002");
    assert_eq!(e[1].event_at.to_rfc3339(), "2026-01-24T03:42:00+00:00");
    assert_eq!(e[1].location.city, "Kochi");
    assert_eq!(update.expected_delivery.unwrap().to_string(), "2026-01-24");
}

#[test]
fn personal_data_is_never_read_into_the_update() {
    let body = push(vec![plus(
        "81234567890",
        json!(scan(
            "SHIPMENT DELIVERED",
            "T",
            "000",
            "DL",
            "24-01-2026",
            "1425"
        )),
    )]);
    let batch = read_push(&body).unwrap();
    let all = format!("{batch:?}");
    for secret in [
        "PRIYA",
        "AADHAAR",
        "1234-5678",
        "aGVsbG8",
        "c2lnbg",
        "iVBOR",
        "SELF",
        "4711",
    ] {
        assert!(!all.contains(secret), "{secret} leaked: {all}");
    }
    assert_eq!(batch.updates[0].update.events[0].status, Status::Delivered);
}

#[test]
fn lite_entries_of_one_waybill_fold_into_one_update_whatever_their_order() {
    let body = push(vec![
        lite(
            "81234567890",
            scan("SHIPMENT DELIVERED", "T", "000", "DL", "24-01-2026", "1425"),
        ),
        lite_out_for_delivery(),
        // The same scan pushed twice in one push.
        lite_out_for_delivery(),
    ]);
    let batch = read_push(&body).unwrap();
    assert_eq!((batch.items, batch.accepted()), (3, 3));
    assert_eq!(batch.updates.len(), 1);
    let statuses: Vec<Status> = batch.updates[0]
        .update
        .events
        .iter()
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, [Status::OutForDelivery, Status::Delivered]);
}

#[test]
fn one_push_may_mix_plus_and_lite_and_single_objects_for_lists() {
    let body = serde_json::to_vec(&json!({"statustracking": plus(
        "81234567890",
        json!(arrived()),
    )}))
    .unwrap();
    let batch = read_push(&body).unwrap();
    assert_eq!(batch.items, 1);
    assert_eq!(batch.updates[0].update.events.len(), 1);

    let body = push(vec![
        plus("81234567890", json!(arrived())),
        lite(
            "81234567891",
            scan(
                "SHIPMENT OUTSCANNED TO NETWORK",
                "S",
                "003",
                "UD",
                "22-01-2026",
                "0305",
            ),
        ),
    ]);
    let batch = read_push(&body).unwrap();
    let awbs: Vec<&str> = batch.updates.iter().map(|u| u.awb.as_str()).collect();
    assert_eq!(awbs, ["81234567890", "81234567891"]);
}

#[test]
fn malformed_items_are_reported_by_position_and_the_rest_accepted() {
    let body = push(vec![
        json!("not an object"),
        json!({"Shipment": {"RefNo": "X"}}),
        lite("12AB", scan("A", "S", "001", "UD", "23-01-2026", "2240")),
        lite(
            "81234567890",
            scan("A", "S", "001", "UD", "2026/01/23", "2240"),
        ),
        json!({"Shipment": {"WaybillNo": "81234567890"}}),
        lite("81234567890", arrived()),
    ]);
    let batch = read_push(&body).unwrap();
    assert_eq!(batch.items, 6);
    let positions: Vec<usize> = batch.rejected.iter().map(|r| r.item).collect();
    assert_eq!(positions, [0, 1, 2, 3, 4]);
    assert_eq!(batch.accepted(), 1);
    assert_eq!(batch.updates.len(), 1);
}

/// A field of ours that holds an object or a list, `Scans` that is not an object, or a scan
/// detail that is not one, makes the item unreadable; it is reported, the rest accepted.
#[test]
fn fields_of_the_wrong_shape_reject_their_item() {
    let mut status_object = lite("81234567890", arrived());
    status_object["Shipment"]["Status"] = json!({"a": 1});
    let mut scan_list = lite("81234567890", arrived());
    scan_list["Shipment"]["ScanCode"] = json!(["001"]);
    let mut scans_text = plus("81234567890", json!([arrived()]));
    scans_text["Shipment"]["Scans"] = json!("arrived");
    let detail_text = plus("81234567890", json!([arrived(), "arrived"]));
    let body = push(vec![
        status_object,
        scan_list,
        scans_text,
        detail_text,
        lite("81234567890", arrived()),
    ]);
    let batch = read_push(&body).unwrap();
    let rejected: Vec<(usize, &str)> = batch
        .rejected
        .iter()
        .map(|r| (r.item, r.reason.as_str()))
        .collect();
    let why = "not a {\"Shipment\": {…}} object";
    assert_eq!(rejected, [(0, why), (1, why), (2, why), (3, why)]);
    assert_eq!(batch.accepted(), 1);
}

#[test]
fn numbers_are_read_as_text_and_unknown_fields_ignored() {
    let body = br#"{"statustracking":[{"Shipment":{"WaybillNo":81234567890,"NewField":{"a":[1]},
        "Scan":"SHIPMENT ARRIVED","ScanCode":"001","ScanType":"UD","ScanGroupType":"S",
        "ScanDate":"23-01-2026","ScanTime":2240,"ScannedLocation":null}}],"Extra":true}"#;
    let batch = read_push(body).unwrap();
    assert_eq!(batch.accepted(), 1);
    assert_eq!(
        batch.updates[0].update.events[0].event_at.to_rfc3339(),
        "2026-01-23T17:10:00+00:00"
    );
}

#[test]
fn a_body_that_is_not_a_push_is_refused_whole() {
    for body in [&b"<xml/>"[..], b"{}", b"[]", b""] {
        assert!(
            matches!(read_push(body), Err(PushBodyError::NotAPush(_))),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    // A lone value that is no item is one malformed item.
    let batch = read_push(br#"{"statustracking": 5}"#).unwrap();
    assert_eq!((batch.items, batch.rejected.len()), (1, 1));
}

#[test]
fn a_pushed_scan_is_the_same_event_as_the_same_scan_polled() {
    let xml = r#"<ShipmentData><Shipment WaybillNo="81234567890" RefNo="ORD-2291">
      <Destination>KOCHI</Destination><DestinationAreaCode>COK</DestinationAreaCode>
      <Scans><ScanDetail><Scan>SHIPMENT OUT FOR DELIVERY</Scan><ScanCode>002</ScanCode>
      <ScanType>UD</ScanType><ScanGroupType>S</ScanGroupType><ScanDate>24-Jan-2026</ScanDate>
      <ScanTime>09:12</ScanTime><ScannedLocation>KOCHI SERVICE CENTRE</ScannedLocation>
      <ScannedLocationCode>COK</ScannedLocationCode></ScanDetail></Scans></Shipment></ShipmentData>"#;
    let polled = update_for("81234567890", &parse_tracking(xml).unwrap()).unwrap();
    let pushed = read_push(&push(vec![lite_out_for_delivery()])).unwrap();
    let pushed = &pushed.updates[0].update.events[0];
    assert_eq!(pushed.identity(), polled.events[0].identity());
    assert_eq!(pushed.status, polled.events[0].status);
}

#[test]
fn every_answer_shape_resolves_a_delivery() {
    // Full, code without group, no codes at all.
    for fields in [
        json!({"Scan": "SHIPMENT DELIVERED", "ScanCode": "000", "ScanType": "DL", "ScanGroupType": "T"}),
        json!({"Scan": "SHIPMENT DELIVERED", "ScanCode": "000", "ScanType": "DL"}),
        json!({"Scan": "Shipment delivered", "ScanType": "DL"}),
    ] {
        let mut fields = fields;
        fields["ScanDate"] = json!("24-01-2026");
        fields["ScanTime"] = json!("1425");
        let batch = read_push(&push(vec![lite("81234567890", fields.clone())])).unwrap();
        assert_eq!(
            batch.updates[0].update.events[0].status,
            Status::Delivered,
            "{fields}"
        );
    }
    let lost = json!({"Scan": "SHIPMENT LOST", "ScanCode": "021", "ScanType": "DL",
                      "ScanGroupType": "T", "ScanDate": "24-01-2026", "ScanTime": "1425"});
    let batch = read_push(&push(vec![lite("81234567890", lost)])).unwrap();
    assert_ne!(batch.updates[0].update.events[0].status, Status::Delivered);
}

#[test]
fn a_return_leg_goes_with_its_forward_waybill() {
    let mut ret = lite(
        "81234567899",
        scan("SHIPMENT DELIVERED", "T", "000", "DL", "28-01-2026", "1145"),
    );
    ret["Shipment"]["RefNo"] = json!("RTO - 81234567890");
    let batch = read_push(&push(vec![ret])).unwrap();
    assert_eq!(batch.updates.len(), 1);
    assert_eq!(batch.updates[0].awb, "81234567890");
    let event = &batch.updates[0].update.events[0];
    assert_eq!(event.awb_no, "81234567899");
    assert_eq!(event.status, Status::Returned);
}

#[test]
fn a_refused_body_says_why_in_words() {
    let why = read_push(b"<xml/>").unwrap_err().to_string();
    assert!(!why.is_empty());
    assert_eq!(read_push_text(b"<xml/>"), Err(why));
    let body = push(vec![lite_out_for_delivery()]);
    assert_eq!(read_push_text(&body).unwrap(), read_push(&body).unwrap());
}

#[test]
fn a_scan_needs_its_date_but_not_its_text() {
    let mut no_text = scan("", "S", "002", "UD", "24-01-2026", "0912");
    no_text["Scan"] = json!("");
    let batch = read_push(&push(vec![plus("81234567890", json!([no_text]))])).unwrap();
    assert_eq!(batch.accepted(), 1, "{:?}", batch.rejected);
    assert_eq!(
        batch.updates[0].update.events[0].status,
        Status::OutForDelivery
    );
    let no_date = scan("SHIPMENT ARRIVED", "S", "001", "UD", "", "2240");
    let batch = read_push(&push(vec![plus("81234567890", json!([no_date]))])).unwrap();
    assert_eq!(batch.rejected.len(), 1);
    assert_eq!(
        batch.rejected[0].reason,
        "ScanDate missing or not dd-mm-yyyy"
    );
}

#[test]
fn the_shipments_own_fields_are_kept_for_admins() {
    let mut item = plus("81234567890", json!(arrived()));
    item["Shipment"]["Status"] = json!("SHIPMENT ARRIVED");
    item["Shipment"]["StatusType"] = json!("UD");
    item["Shipment"]["NewWaybillNo"] = json!("81234567899");
    let batch = read_push(&push(vec![item])).unwrap();
    let payload: Value = serde_json::from_str(batch.updates[0].update.payload.as_str()).unwrap();
    let kept = &payload[0];
    for (field, value) in [
        ("Status", "SHIPMENT ARRIVED"),
        ("StatusType", "UD"),
        ("NewWaybillNo", "81234567899"),
        ("Origin", "PUNE"),
        ("OriginAreaCode", "PNQ"),
        ("Destination", "KOCHI"),
        ("DestinationAreaCode", "COK"),
    ] {
        assert_eq!(kept[field], value, "{field} in {payload}");
    }
}

#[test]
fn only_blue_darts_return_form_makes_a_return_leg() {
    // A reference with " - " that is not "<letters> - <a waybill>" leaves the shipment its own.
    for ref_no in ["1234 - 81234567890", "ORD - 2291"] {
        let mut item = lite(
            "81234567899",
            scan("SHIPMENT DELIVERED", "T", "000", "DL", "28-01-2026", "1145"),
        );
        item["Shipment"]["RefNo"] = json!(ref_no);
        let batch = read_push(&push(vec![item])).unwrap();
        assert_eq!(batch.updates.len(), 1, "{ref_no}");
        assert_eq!(batch.updates[0].awb, "81234567899", "{ref_no}");
        assert_eq!(
            batch.updates[0].update.events[0].status,
            Status::Delivered,
            "{ref_no}"
        );
    }
}
