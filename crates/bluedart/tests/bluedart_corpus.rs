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

#[test]
fn every_answer_in_the_corpus_reads_as_written_down() {
    let mut names: Vec<String> = fs::read_dir(corpus())
        .expect("tests/corpus exists")
        .filter_map(|e| {
            let path = e.expect("a directory entry").path();
            (path.extension()? == "xml").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
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
