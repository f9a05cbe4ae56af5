//! The corpus of Blue Dart answers in `tests/corpus/`, each read as the worker reads it and
//! compared with the reading written beside it by hand. Native: no worker, no simulator.

use std::fs;
use std::path::PathBuf;

use bluedart::events::update_for;
use bluedart::parse::parse_tracking;
use serde_json::{Value, json};
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

/// A connection that drops mid-answer or a proxy that mangles one must never pass for an
/// answer: every cut of every corpus answer reads as the whole answer or as an error, and
/// markup characters dropped into any place never make the reader panic.
#[test]
fn no_cut_or_corrupted_answer_passes_for_another() {
    for name in answers() {
        let xml = fs::read_to_string(corpus().join(format!("{name}.xml"))).unwrap();
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
