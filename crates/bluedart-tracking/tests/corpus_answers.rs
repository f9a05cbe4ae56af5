//! The corpus of Blue Dart answers in `tests/corpus/`, each read as the worker reads it and
//! compared with the reading written beside it by hand. Native: no worker, no simulator.

use std::fs;
use std::path::PathBuf;

use bluedart_tracking::events::{reply_for, update_for};
use bluedart_tracking::parse::{CarrierShipment, parse_tracking};
use bluedart_tracking::payload::{payload, scan_fields, shipment_fields};
use serde_json::{Map, Value, json};
use tracking_core::carrier::CarrierUpdate;
use tracking_core::model::iso;
use tracking_core::rules::merge::choose_latest;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// What a customer-facing reading of one waybill comes to, in the expected files' terms.
fn reading(update: &CarrierUpdate) -> Value {
    let events = &update.events;
    json!({
        "latest": choose_latest(None, events).map(|e| e.status),
        "statuses": events.iter().map(|e| e.status).collect::<Vec<_>>(),
        "places": events
            .iter()
            .map(|e| format!("{}|{}|{}", e.location.facility, e.location.city, e.location.state))
            .collect::<Vec<_>>(),
        "times": events.iter().map(|e| iso(e.event_at)).collect::<Vec<_>>(),
        "expectedDelivery": update.expected_delivery.map(|d| d.to_string()),
    })
}

fn check(name: &str) -> Result<(), String> {
    let xml =
        fs::read_to_string(corpus().join(format!("{name}.xml"))).map_err(|e| e.to_string())?;
    let expected_file = corpus().join(format!("{name}.expected.json"));
    let expected: Value = serde_json::from_str(
        &fs::read_to_string(&expected_file).map_err(|e| format!("{expected_file:?}: {e}"))?,
    )
    .map_err(|e| format!("{expected_file:?}: {e}"))?;
    let parsed = parse_tracking(&xml);
    if let Some(error) = expected.get("error") {
        return match parsed {
            Err(e) if json!(format!("{e:?}")) == *error => Ok(()),
            other => Err(format!("expected error {error}, got {other:?}")),
        };
    }
    let shipments = parsed.map_err(|e| format!("unexpected parse error {e:?}"))?;
    let readings = expected["readings"]
        .as_object()
        .ok_or("expected file has no readings")?;
    for (awb, want) in readings {
        let got = update_for(awb, &shipments)
            .as_ref()
            .map_or(Value::Null, reading);
        if got != *want {
            return Err(format!(
                "waybill {awb}:\n  expected {want}\n  got      {got}"
            ));
        }
    }
    Ok(())
}

/// The names of the corpus's answers, sorted.
fn answers() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(corpus())
        .expect("tests/corpus exists")
        .filter_map(|e| {
            let path = e.expect("a directory entry").path();
            (path.extension()? == "xml").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    names
}

/// The text of the corpus answer `name`.
fn answer(name: &str) -> String {
    fs::read_to_string(corpus().join(format!("{name}.xml"))).unwrap()
}

#[test]
fn every_answer_in_the_corpus_reads_as_written_down() {
    let names = answers();
    assert!(names.len() >= 14, "the corpus has {} answers", names.len());
    let failures: Vec<String> = names
        .iter()
        .filter_map(|name| check(name).err().map(|e| format!("{name}: {e}")))
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn every_shape_and_case_the_protocol_names_is_in_the_corpus() {
    for name in [
        "full_delivered",
        "code_without_group_delivered",
        "no_codes_delivered",
        "return_legs",
        "not_found_error_form",
        "not_found_nf_form",
        "no_scans",
        "odd_spacing_and_case",
        "multi_waybill_mixed_shapes",
        "places",
        "unknown_codes",
    ] {
        assert!(
            corpus().join(format!("{name}.xml")).exists(),
            "{name}.xml is missing"
        );
    }
}

/// A reply for many waybills at once (what a sync asks for) says for each, in the order asked,
/// what reading that waybill alone gives: for every corpus answer, its waybills asked for
/// backwards, with one it does not name.
#[test]
fn a_reply_for_many_waybills_reads_each_as_alone() {
    let mut answered = 0;
    for name in answers() {
        let xml = answer(&name);
        let Ok(shipments) = parse_tracking(&xml) else {
            continue;
        };
        let mut awbs: Vec<String> = shipments
            .iter()
            .rev()
            .map(|s| s.waybill.to_string())
            .collect();
        awbs.push("99999999999".into());
        let reply = reply_for(207, &awbs, &shipments);
        assert_eq!(reply.http_status, 207, "{name}");
        let asked: Vec<&String> = reply.updates.iter().map(|(awb, _)| awb).collect();
        assert_eq!(asked, awbs.iter().collect::<Vec<_>>(), "{name}");
        for (awb, update) in &reply.updates {
            let alone = update_for(awb, &shipments);
            assert_eq!(
                update.as_ref().map(reading),
                alone.as_ref().map(reading),
                "{name}: {awb}"
            );
            assert_eq!(
                update.as_ref().map(|u| u.payload.as_str()),
                alone.as_ref().map(|u| u.payload.as_str()),
                "{name}: {awb}"
            );
            answered += usize::from(update.is_some());
        }
    }
    assert!(answered >= 14, "only {answered} waybills were answered");
}

/// A connection that drops mid-answer or a proxy that mangles one must never pass for an
/// answer: every cut of every corpus answer reads as the whole answer or as an error, and
/// markup characters dropped into any place never make the reader panic.
#[test]
fn no_cut_or_corrupted_answer_passes_for_another() {
    for name in answers() {
        let xml = answer(&name);
        let whole = parse_tracking(&xml);
        for (cut, _) in xml.char_indices() {
            let read = parse_tracking(&xml[..cut]);
            assert!(
                read.is_err() || read == whole,
                "{name} cut at byte {cut} reads as {read:?}"
            );
        }
        let mut corrupted = 0;
        for (at, c) in xml.char_indices() {
            for markup in ['<', '&', '"'] {
                let mut xml = xml.clone();
                xml.replace_range(at..at + c.len_utf8(), markup.encode_utf8(&mut [0; 4]));
                corrupted += usize::from(parse_tracking(&xml).is_err());
            }
        }
        assert!(corrupted > 0, "{name}: no corruption was noticed");
    }
}

/// The same shipments as `payload` writes them, through serde_json from the same field lists.
fn payload_by_serde(shipments: &[&CarrierShipment]) -> String {
    let object = |fields: &[(&str, &str)]| -> Map<String, Value> {
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect()
    };
    let objects: Vec<Value> = shipments
        .iter()
        .map(|s| {
            let mut o = object(&shipment_fields(s));
            let scans = s.scans.iter().map(|c| object(&scan_fields(c)).into());
            o.insert("Scans".into(), Value::Array(scans.collect()));
            o.into()
        })
        .collect();
    serde_json::to_string(&objects).unwrap()
}

/// What admins are shown of an answer is written by hand, and is the text serde_json writes for
/// the same values: for every corpus answer, and for one whose values hold what JSON escapes.
#[test]
fn every_answer_is_kept_as_serde_json_would_write_it() {
    let escapes = concat!(
        "<ShipmentData><Shipment WaybillNo=\"111\" RefNo=\"A &quot;B&quot; \\ C&#1;\">",
        "<Status>IN TRANSIT</Status><Destination>नई दिल्ली</Destination><Scans>",
        "<ScanDetail><Scan>ARRIVED</Scan><ScanCode>002</ScanCode></ScanDetail>",
        "<ScanDetail><Scan>PICKED UP</Scan></ScanDetail></Scans></Shipment>",
        "<Shipment WaybillNo=\"222\"><Scans/></Shipment></ShipmentData>"
    );
    let mut answers: Vec<String> = answers().iter().map(|name| answer(name)).collect();
    answers.push(escapes.into());
    for xml in &answers {
        let Ok(shipments) = parse_tracking(xml) else {
            continue;
        };
        let all: Vec<&CarrierShipment> = shipments.iter().collect();
        for some in [&all[..], all.get(..1).unwrap_or_default(), &[]] {
            assert_eq!(payload(some).as_str(), payload_by_serde(some));
        }
    }
    let kept: Value =
        serde_json::from_str(payload(&[&parse_tracking(escapes).unwrap()[0]]).as_str()).unwrap();
    assert_eq!(kept[0]["RefNo"], "A \"B\" \\ C\u{1}");
    assert_eq!(kept[0]["Scans"][1]["Scan"], "PICKED UP");
}
