//! From Blue Dart's shipments to the service's tracking events.

use crate::codes::{Evidence, on_return_waybill, resolve};
use crate::location::ScanPlaces;
use crate::parse::{CarrierScan, CarrierShipment};
use crate::payload::payload;
use crate::time::{ist_to_utc, parse_date, parse_time};
use tracking_core::carrier::{CarrierUpdate, TrackingReply};
use tracking_core::model::{Status, TrackingEvent};

/// Longest scan text kept in an event's identity when the payload has no scan code.
const TEXT_KEY_LIMIT: usize = 60;

/// The event a scan stands for; `newest` marks the scan the shipment's own status describes.
fn event_from_scan<'s>(
    shipment: &'s CarrierShipment,
    scan: &'s CarrierScan,
    newest: bool,
    places: &mut ScanPlaces<'s>,
) -> Option<TrackingEvent> {
    let date = parse_date(&scan.date)?;
    // Both readers tidy every value they keep.
    let text = &scan.scan;
    let scan_code = if scan.code.is_empty() {
        // Older payloads have no code: the type and text identify the scan instead.
        let key: String = text.chars().take(TEXT_KEY_LIMIT).collect();
        format!("{}:{key}", scan.scan_type)
    } else {
        [&*scan.group, "/", &*scan.code].concat()
    };
    let evidence = Evidence {
        group: &scan.group,
        code: &scan.code,
        scan_type: &scan.scan_type,
        text,
    };
    let current = Evidence {
        scan_type: &shipment.status_type,
        text: &shipment.status,
        ..Evidence::default()
    };
    let status = resolve(evidence, newest.then_some(current));
    // A delivery happens at the destination, whatever the scanning facility is called.
    let destination = (status == Status::Delivered)
        .then_some((&*shipment.destination_area_code, &*shipment.destination));
    let (location, place_key) = places.of(&scan.location, &scan.location_code, destination);
    Some(TrackingEvent {
        awb_no: shipment.waybill.to_string(),
        carrier_status: text.to_string(),
        status,
        description: text.to_string(),
        scan_code,
        location,
        event_at: ist_to_utc(date, parse_time(&scan.time)),
        place_key,
    })
}

/// A shipment's events, oldest first. A shipment without scans still has its current status.
fn events_of<'s>(shipment: &'s CarrierShipment, places: &mut ScanPlaces<'s>) -> Vec<TrackingEvent> {
    // Blue Dart lists scans newest first.
    let mut events: Vec<TrackingEvent> = shipment
        .scans
        .iter()
        .enumerate()
        .rev()
        .filter_map(|(i, scan)| event_from_scan(shipment, scan, i == 0, places))
        .collect();
    if shipment.scans.is_empty() {
        let status_scan = CarrierScan {
            scan: shipment.status.clone(),
            scan_type: shipment.status_type.clone(),
            date: shipment.status_date.clone(),
            time: shipment.status_time.clone(),
            ..CarrierScan::default()
        };
        // Placeless: nothing worth remembering.
        events.extend(event_from_scan(
            shipment,
            &status_scan,
            true,
            &mut ScanPlaces::default(),
        ));
    }
    by_time(&mut events);
    events
}

/// Oldest first; a stable sort keeps Blue Dart's order for equal times. One function for both
/// callers, so that the sort is compiled once.
fn by_time(events: &mut [TrackingEvent]) {
    tracking_core::sorting::sort_by_key(events, |e| e.event_at);
}

/// Whether `ref_no` (tidied, as both readers keep it) has Blue Dart's form for a return
/// waybill's reference, `"<code> - <awb>"` (`RTO - 81234567893`): a short code of letters, a
/// spaced dash, the forward waybill exactly. Our order ids, which become the reference of
/// waybills we generate, cannot take this form: they have no spaces. Checked for every pair of
/// waybills in an answer, so it allocates nothing.
fn is_rto_reference(ref_no: &str, awb: &str) -> bool {
    ref_no
        .strip_suffix(awb)
        .and_then(|rest| rest.strip_suffix(" - "))
        .is_some_and(|code| {
            (1..=10).contains(&code.len()) && code.bytes().all(|c| c.is_ascii_alphabetic())
        })
}

/// The forward waybill `ref_no` names, if it has Blue Dart's form for a return waybill's
/// reference (`RTO - 81234567893` names 81234567893). The code has no spaces, so the form's
/// dash is the first spaced dash.
pub fn rto_target(ref_no: &str) -> Option<&str> {
    let (_, forward) = ref_no.split_once(" - ")?;
    is_rto_reference(ref_no, forward).then_some(forward)
}

/// A shipment that may be a return leg, with the forward waybill its reference names.
type Candidate<'s, 'a> = (&'s CarrierShipment<'a>, Option<&'s str>);

fn candidate<'s, 'a>(shipment: &'s CarrierShipment<'a>) -> Candidate<'s, 'a> {
    (shipment, rto_target(&shipment.ref_no))
}

/// Whether `candidate` is the return leg of the forward waybill `awb`: named by the forward
/// shipment's `NewWaybillNo`, or referring back to it in Blue Dart's exact return form.
fn is_return_of(
    (candidate, names): Candidate,
    awb: &str,
    forward: Option<&CarrierShipment>,
) -> bool {
    if candidate.waybill == awb {
        return false;
    }
    let named_by_forward =
        forward.is_some_and(|f| !f.new_waybill.is_empty() && f.new_waybill == candidate.waybill);
    named_by_forward || names == Some(awb)
}

/// The update for the order whose waybill is `awb`, from an answer that may carry many
/// waybills. `None` when the answer says nothing about it.
pub fn update_for(awb: &str, shipments: &[CarrierShipment]) -> Option<CarrierUpdate> {
    let forward = shipments.iter().find(|s| s.waybill == awb);
    let candidates: Vec<Candidate> = shipments.iter().map(candidate).collect();
    update_from(awb, forward, &candidates, &mut ScanPlaces::default())
}

/// The update for `awb`, whose shipment in the answer is `forward`; its return legs are among
/// `candidates` (in the answer's order).
fn update_from<'s>(
    awb: &str,
    forward: Option<&'s CarrierShipment>,
    candidates: &[Candidate<'s, '_>],
    places: &mut ScanPlaces<'s>,
) -> Option<CarrierUpdate> {
    let returns: Vec<&CarrierShipment> = candidates
        .iter()
        .filter(|c| is_return_of(**c, awb, forward))
        .map(|(shipment, _)| *shipment)
        .collect();
    if forward.is_none() && returns.is_empty() {
        return None;
    }
    let mut events: Vec<TrackingEvent> = forward.map(|f| events_of(f, places)).unwrap_or_default();
    let involved: Vec<&CarrierShipment> =
        forward.into_iter().chain(returns.iter().copied()).collect();
    let payload = payload(&involved);
    for ret in returns {
        events.extend(events_of(ret, places).into_iter().map(|mut e| {
            e.status = on_return_waybill(e.status);
            e
        }));
    }
    by_time(&mut events);
    Some(CarrierUpdate {
        events,
        expected_delivery: forward.and_then(|f| parse_date(&f.expected_delivery)),
        payload,
    })
}

/// A tracking reply for `awbs` from the shipments of one answer. An answer is about as many
/// waybills as it was asked for (a sync asks about 50): each waybill's shipment is found by
/// binary search, and only the shipments that can be a return leg (named by another's
/// `NewWaybillNo`, or with a return's reference) are tried as one, not the whole answer.
pub fn reply_for(
    http_status: u16,
    awbs: &[String],
    shipments: &[CarrierShipment],
) -> TrackingReply {
    let mut by_waybill: Vec<(&str, usize)> = shipments
        .iter()
        .enumerate()
        .map(|(i, s)| (&*s.waybill, i))
        .collect();
    // By waybill, then by position: the first of equal waybills, as `update_for` finds.
    tracking_core::sorting::sort_by(&mut by_waybill, Ord::cmp);
    let named: Vec<&str> = shipments
        .iter()
        .map(|s| &*s.new_waybill)
        .filter(|w| !w.is_empty())
        .collect();
    let candidates: Vec<Candidate> = shipments
        .iter()
        .map(candidate)
        .filter(|(s, names)| names.is_some() || named.contains(&&*s.waybill))
        .collect();
    let mut places = ScanPlaces::default();
    TrackingReply {
        http_status,
        updates: awbs
            .iter()
            .map(|awb| {
                let at = by_waybill.partition_point(|(w, _)| *w < awb.as_str());
                let forward = by_waybill
                    .get(at)
                    .filter(|(w, _)| w == awb)
                    .map(|(_, i)| &shipments[*i]);
                (
                    awb.clone(),
                    update_from(awb, forward, &candidates, &mut places),
                )
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_tracking;
    use chrono::NaiveDate;
    use tracking_core::model::Status;

    fn scan_xml(text: &str, group: &str, code: &str, kind: &str, date: &str, time: &str) -> String {
        format!(
            "<ScanDetail><Scan>{text}</Scan><ScanCode>{code}</ScanCode><ScanType>{kind}</ScanType><ScanGroupType>{group}</ScanGroupType><ScanDate>{date}</ScanDate><ScanTime>{time}</ScanTime><ScannedLocation>KOCHI SERVICE CENTRE</ScannedLocation></ScanDetail>"
        )
    }

    fn shipment_xml(awb: &str, extra: &str, scans: &[String]) -> String {
        format!(
            "<Shipment WaybillNo=\"{awb}\" RefNo=\"R\">{extra}<Scans>{}</Scans></Shipment>",
            scans.concat()
        )
    }

    fn parse(shipments: &[String]) -> Vec<CarrierShipment<'static>> {
        // Shipments borrow from the answer: a test's answer lives as long as the test binary.
        let xml = format!("<ShipmentData>{}</ShipmentData>", shipments.concat());
        parse_tracking(Box::leak(xml.into_boxed_str())).unwrap()
    }

    #[test]
    fn scans_become_utc_events_oldest_first_with_codes_and_places() {
        let shipments = parse(&[shipment_xml(
            "111",
            "<ExpectedDeliveryDate>24 January 2026</ExpectedDeliveryDate>",
            &[
                scan_xml(
                    "SHIPMENT OUT FOR DELIVERY",
                    "S",
                    "002",
                    "UD",
                    "24-Jan-2026",
                    "09:12",
                ),
                scan_xml("SHIPMENT ARRIVED", "S", "001", "UD", "23-Jan-2026", "22:40"),
            ],
        )]);
        let update = update_for("111", &shipments).unwrap();
        assert_eq!(
            update.expected_delivery,
            NaiveDate::from_ymd_opt(2026, 1, 24)
        );
        let e = &update.events;
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].status, Status::InTransit);
        assert_eq!(e[0].event_at.to_rfc3339(), "2026-01-23T17:10:00+00:00");
        assert_eq!(e[1].status, Status::OutForDelivery);
        assert_eq!(e[1].scan_code, "S/002");
        assert_eq!(e[1].description, "SHIPMENT OUT FOR DELIVERY");
        assert_eq!(e[1].location.city, "Kochi");
        assert_eq!(e[1].location.state, "KL");
        assert_eq!(e[1].event_at.to_rfc3339(), "2026-01-24T03:42:00+00:00");
    }

    #[test]
    fn events_are_oldest_first_however_the_answer_lists_them() {
        // Scans listed oldest first (Blue Dart lists newest first), and a forward scan later
        // than the return leg's: the update still runs oldest first.
        let shipments = parse(&[
            shipment_xml(
                "111",
                "<StatusType>RT</StatusType><NewWaybillNo>999</NewWaybillNo>",
                &[
                    scan_xml("RETURN TO ORIGIN", "T", "074", "RT", "25-Jan-2026", "10:00"),
                    scan_xml("SHIPMENT ARRIVED", "S", "001", "RT", "26-Jan-2026", "09:00"),
                ],
            ),
            format!(
                "<Shipment WaybillNo=\"999\" RefNo=\"RTO - 111\"><Scans>{}</Scans></Shipment>",
                scan_xml("OUTSCANNED", "S", "003", "RT", "25-Jan-2026", "18:20")
            ),
        ]);
        let update = update_for("111", &shipments).unwrap();
        let times: Vec<String> = update
            .events
            .iter()
            .map(|e| e.event_at.to_rfc3339())
            .collect();
        assert_eq!(
            times,
            [
                "2026-01-25T04:30:00+00:00",
                "2026-01-25T12:50:00+00:00",
                "2026-01-26T03:30:00+00:00"
            ]
        );
    }

    #[test]
    fn a_return_waybill_turns_delivered_into_returned() {
        let shipments = parse(&[
            shipment_xml(
                "111",
                "<StatusType>RT</StatusType><NewWaybillNo>999</NewWaybillNo>",
                &[scan_xml(
                    "RETURN TO ORIGIN",
                    "T",
                    "074",
                    "RT",
                    "25-Jan-2026",
                    "10:00",
                )],
            ),
            format!(
                "<Shipment WaybillNo=\"999\" RefNo=\"RTO - 111\"><Scans>{}{}</Scans></Shipment>",
                scan_xml("DELIVERED", "T", "000", "DL", "28-Jan-2026", "11:45"),
                scan_xml("OUTSCANNED", "S", "003", "RT", "25-Jan-2026", "18:20")
            ),
        ]);
        let update = update_for("111", &shipments).unwrap();
        let statuses: Vec<Status> = update.events.iter().map(|e| e.status).collect();
        assert_eq!(
            statuses,
            [Status::Returning, Status::Returning, Status::Returned]
        );
        assert_eq!(update.events[2].awb_no, "999");
        let payload: serde_json::Value = serde_json::from_str(update.payload.as_str()).unwrap();
        assert_eq!(payload[0]["WaybillNo"], "111");
        assert_eq!(payload[1]["RefNo"], "RTO - 111");
        assert_eq!(payload[1]["Scans"][0]["ScanCode"], "000");
        // The return is recognised by its reference even without NewWaybillNo.
        let mut without_pointer = shipments.clone();
        without_pointer[0].new_waybill = "".into();
        assert_eq!(update_for("111", &without_pointer).unwrap().events.len(), 3);
        // And by the forward shipment's NewWaybillNo whatever its own reference says.
        let mut other_reference = shipments.clone();
        other_reference[1].ref_no = "SHOP-42".into();
        assert_eq!(update_for("111", &other_reference).unwrap().events.len(), 3);
    }

    /// `reply_for` looks waybills up through its index, `update_for` along the answer: for
    /// forward legs, both kinds of return leg, look-alike references, repeated and unknown
    /// waybills, they must find the same.
    #[test]
    fn a_reply_finds_for_each_waybill_what_update_for_finds() {
        let scan = |date| scan_xml("ARRIVED", "S", "001", "UD", date, "10:00");
        let shipment = |awb: &str, ref_no: &str, extra: &str, date| {
            format!(
                "<Shipment WaybillNo=\"{awb}\" RefNo=\"{ref_no}\">{extra}<Scans>{}</Scans></Shipment>",
                scan(date)
            )
        };
        let answers = [
            vec![
                shipment(
                    "111",
                    "A",
                    "<NewWaybillNo>999</NewWaybillNo>",
                    "25-Jan-2026",
                ),
                shipment("999", "SHOP-42", "", "26-Jan-2026"),
                shipment("333", "B", "", "25-Jan-2026"),
                shipment("444", "RTO - 333", "", "27-Jan-2026"),
                shipment("555", "SHOP - 1111", "", "27-Jan-2026"),
                shipment("666", "RTO - ", "", "27-Jan-2026"),
            ],
            vec![
                shipment("111", "RTO - 111", "", "25-Jan-2026"),
                shipment("222", "RTO - 111", "", "26-Jan-2026"),
                shipment("111", "SECOND", "", "28-Jan-2026"),
                shipment(
                    "777",
                    "rto - 222",
                    "<NewWaybillNo>111</NewWaybillNo>",
                    "29-Jan-2026",
                ),
            ],
        ];
        for answer in answers {
            let shipments = parse(&answer);
            let awbs: Vec<String> = [
                "111", "222", "333", "444", "555", "666", "777", "999", "000",
            ]
            .map(String::from)
            .to_vec();
            let reply = reply_for(200, &awbs, &shipments);
            for (awb, (replied_awb, update)) in awbs.iter().zip(&reply.updates) {
                assert_eq!(replied_awb, awb);
                assert_eq!(*update, update_for(awb, &shipments), "{awb} in {answer:?}");
            }
        }
    }

    #[test]
    fn a_reference_that_merely_ends_in_our_waybill_is_not_a_return_leg() {
        // Waybills we generate carry our order id as their reference; an order id ending in
        // another order's waybill must not pull that shipment in as its return.
        let delivered = scan_xml(
            "SHIPMENT DELIVERED",
            "T",
            "000",
            "DL",
            "28-Jan-2026",
            "11:45",
        );
        for ref_no in [
            "SHOP-111",
            "SHOP - 1111",
            "RTO-111",
            "R2D2 - 111",
            "RTO - 111 X",
        ] {
            let shipments = parse(&[
                shipment_xml(
                    "111",
                    "",
                    &[scan_xml(
                        "ARRIVED",
                        "S",
                        "001",
                        "UD",
                        "25-Jan-2026",
                        "10:00",
                    )],
                ),
                format!(
                    "<Shipment WaybillNo=\"222\" RefNo=\"{ref_no}\"><Scans>{delivered}</Scans></Shipment>"
                ),
            ]);
            let update = update_for("111", &shipments).unwrap();
            assert_eq!(update.events.len(), 1, "{ref_no}");
            assert_eq!(update.events[0].status, Status::InTransit, "{ref_no}");
        }
        assert!(is_rto_reference("RTO - 111", "111"));
        // The reader tidies the reference before it is compared.
        let untidy = parse(&[shipment_xml("222", "", &[]).replace("\"R\"", "\" rto  -  111 \"")]);
        assert_eq!(untidy[0].ref_no, "rto - 111");
        assert!(is_rto_reference(&untidy[0].ref_no, "111"));
    }

    #[test]
    fn other_waybills_in_a_batch_are_not_mixed_in() {
        let shipments = parse(&[
            shipment_xml(
                "111",
                "",
                &[scan_xml("A", "S", "001", "UD", "23-Jan-2026", "10:00")],
            ),
            shipment_xml(
                "222",
                "",
                &[scan_xml("B", "T", "000", "DL", "23-Jan-2026", "11:00")],
            ),
        ]);
        let update = update_for("111", &shipments).unwrap();
        assert_eq!(update.events.len(), 1);
        assert_eq!(update.events[0].awb_no, "111");
        assert_eq!(update_for("333", &shipments), None);
    }

    #[test]
    fn legacy_scans_without_code_or_time_get_a_text_identity_at_midnight_ist() {
        let xml = "<ShipmentData><Shipment WaybillNo=\"111\"><Scans><ScanDetail><Scan>PICKED UP</Scan><ScanType>PU</ScanType><ScanGroupType>S</ScanGroupType><ScanDate>04-Mar-2026</ScanDate></ScanDetail><ScanDetail><Scan>BOOKED IN</Scan><ScanType>PU</ScanType><ScanDate>04-Mar-2026</ScanDate></ScanDetail></Scans></Shipment></ShipmentData>";
        let update = update_for("111", &parse_tracking(xml).unwrap()).unwrap();
        let codes: Vec<&str> = update.events.iter().map(|e| e.scan_code.as_str()).collect();
        assert_eq!(codes, ["PU:BOOKED IN", "PU:PICKED UP"]);
        assert_eq!(
            update.events[0].event_at.to_rfc3339(),
            "2026-03-03T18:30:00+00:00"
        );
        assert_eq!(update.events[1].status, Status::InfoReceived);
    }

    #[test]
    fn a_shipment_without_scans_still_reports_its_status() {
        let xml = "<ShipmentData><Shipment WaybillNo=\"111\"><Status>SHIPMENT DELIVERED</Status><StatusType>DL</StatusType><StatusDate>24 January 2026</StatusDate><StatusTime>14:05</StatusTime></Shipment></ShipmentData>";
        let update = update_for("111", &parse_tracking(xml).unwrap()).unwrap();
        assert_eq!(update.events.len(), 1);
        // No code, but a DL whose text says delivered: a delivery.
        assert_eq!(update.events[0].status, Status::Delivered);
        assert_eq!(
            update.events[0].event_at.to_rfc3339(),
            "2026-01-24T08:35:00+00:00"
        );
    }

    #[test]
    fn scans_with_unreadable_dates_are_left_out() {
        let shipments = parse(&[shipment_xml(
            "111",
            "",
            &[
                scan_xml("A", "S", "001", "UD", "someday", "10:00"),
                scan_xml("B", "S", "001", "UD", "23-Jan-2026", "10:00"),
            ],
        )]);
        assert_eq!(update_for("111", &shipments).unwrap().events.len(), 1);
    }
}
