//! What an event carries besides its status: the description and the identity key, for a
//! shipment that has only its own status line, and a self-closing `<Shipment/>` (issue 18).

use std::fs;
use std::path::PathBuf;

use bluedart_tracking::events::update_for;
use bluedart_tracking::parse::parse_tracking;

fn corpus(name: &str) -> String {
    fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/corpus")
            .join(name),
    )
    .unwrap()
}

#[test]
fn a_shipment_without_scans_is_one_event_described_and_keyed_by_its_status() {
    let xml = corpus("no_scans.xml");
    let shipments = parse_tracking(&xml).unwrap();
    let update = update_for("70000000002", &shipments).unwrap();
    let [event] = update.events.as_slice() else {
        panic!("one event: {:?}", update.events)
    };
    assert_eq!(event.description, "SHIPMENT OUTSCANNED TO NETWORK");
    assert_eq!(event.carrier_status, "SHIPMENT OUTSCANNED TO NETWORK");
    // No code: the type and the text identify the event.
    assert_eq!(event.scan_code, "UD:SHIPMENT OUTSCANNED TO NETWORK");
}

#[test]
fn the_shipments_own_status_text_decides_an_uninformative_newest_scan() {
    let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<ShipmentData>
  <Shipment WaybillNo="50912345680" RefNo="SO-88123">
    <Destination>CHENNAI</Destination>
    <Status>SHIPMENT LOST</Status>
    <StatusType>DL</StatusType>
    <StatusDate>05 March 2019</StatusDate>
    <StatusTime>13:22</StatusTime>
    <Scans>
      <ScanDetail>
        <Scan>POD UPDATED</Scan>
        <ScanType>DL</ScanType>
        <ScanDate>05-Mar-2019</ScanDate>
        <ScanTime>13:22</ScanTime>
        <ScannedLocation>CHENNAI SERVICE CENTRE</ScannedLocation>
      </ScanDetail>
    </Scans>
  </Shipment>
</ShipmentData>"#;
    let shipments = parse_tracking(xml).unwrap();
    let update = update_for("50912345680", &shipments).unwrap();
    assert_eq!(
        update.events.last().unwrap().status,
        tracking_core::model::Status::Lost,
        "a DL scan saying only POD UPDATED, of a shipment Blue Dart calls lost"
    );
}

#[test]
fn a_self_closing_shipment_keeps_its_waybill_and_reference() {
    let xml = r#"<ShipmentData><Shipment WaybillNo="50912345681" RefNo="SO-9"/></ShipmentData>"#;
    let shipments = parse_tracking(xml).unwrap();
    assert_eq!(shipments.len(), 1);
    assert_eq!(shipments[0].waybill, "50912345681");
    assert_eq!(shipments[0].ref_no, "SO-9");
}
