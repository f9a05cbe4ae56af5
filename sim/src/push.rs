//! Blue Dart's "Push API — Status Tracking" as the simulator sends it: JSON
//! `{"statustracking": [...]}` in the Plus variant (one entry per shipment, scans under
//! `Scans.ScanDetail`, delivery details and base64 images beside them) or the Lite variant (one
//! entry per scan, the scan's fields on the `Shipment` object), dates `dd-mm-yyyy`, times `HHMM`,
//! all IST. One scan in a Plus entry is written as an object, not a list, as Blue Dart does.

use serde_json::{Map, Value, json};

use crate::model::{AnswerShape, Scan, Shipment};

/// Which of the two published shapes an entry takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Variant {
    Plus,
    Lite,
}

fn date(at: &chrono::NaiveDateTime) -> String {
    at.format("%d-%m-%Y").to_string()
}

/// A scan's fields as the push writes them (in the shipment's answer shape).
fn scan_fields(scan: &Scan, shape: AnswerShape) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("Scan".into(), json!(scan.scan));
    if shape.shows_code() {
        fields.insert("ScanCode".into(), json!(scan.code));
    }
    fields.insert("ScanType".into(), json!(scan.scan_type));
    if shape.shows_group() {
        fields.insert("ScanGroupType".into(), json!(scan.group));
    }
    fields.insert("ScanDate".into(), json!(date(&scan.at)));
    if shape.shows_time() {
        fields.insert("ScanTime".into(), json!(scan.at.format("%H%M").to_string()));
    }
    if shape.shows_place() {
        fields.insert("ScannedLocation".into(), json!(scan.location));
        fields.insert("ScannedLocationCode".into(), json!(scan.location_code));
        fields.insert("ScannedLocationStateCode".into(), json!(""));
    }
    fields.insert("StatusTimeZone".into(), json!("IST"));
    fields.insert("SecureCode".into(), json!("SIM-SECURE"));
    fields
}

/// The shipment's own fields (no scans).
fn shipment_fields(s: &Shipment) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("SenderID".into(), json!("BLUEDART"));
    fields.insert("ReceiverID".into(), json!("SIMSTORE"));
    fields.insert("WaybillNo".into(), json!(s.waybill));
    fields.insert("RefNo".into(), json!(s.ref_no));
    fields.insert("Prodcode".into(), json!("A"));
    fields.insert("Origin".into(), json!(s.origin));
    fields.insert("OriginAreaCode".into(), json!(s.origin_area_code));
    fields.insert("Destination".into(), json!(s.destination));
    fields.insert("DestinationAreaCode".into(), json!(s.destination_area_code));
    if let Some(pickup) = s.pickup {
        fields.insert("PickUpDate".into(), json!(date(&pickup)));
        fields.insert(
            "PickUpTime".into(),
            json!(pickup.format("%H%M").to_string()),
        );
    }
    if let Some(expected) = s.expected_delivery {
        let text = expected.format("%d-%m-%Y").to_string();
        fields.insert("ExpectedDeliveryDate".into(), json!(text));
        fields.insert("DynamicExpectedDeliveryDate".into(), json!(text));
    }
    fields.insert("Weight".into(), json!(s.weight));
    fields
}

/// Personal data as Blue Dart pushes it with a delivery: the worker must drop all of it.
pub fn delivery_details(image_bytes: usize) -> (Value, Value) {
    let image = "iVBORw0KGgo".repeat(image_bytes / 11 + 1);
    (
        json!({"ReceivedBy": "SIM RECEIVER", "Relation": "SELF", "IDType": "PAN",
               "IDNumber": "SIMPAN1234X", "IDImage": image, "Signature": image}),
        json!({"PODImage": image, "DCImage": image}),
    )
}

/// One entry for `scans` of `shipment` (Plus: all of them in one entry; Lite: give one scan).
pub fn entry(shipment: &Shipment, scans: &[&Scan], variant: Variant) -> Value {
    let mut fields = shipment_fields(shipment);
    match variant {
        Variant::Lite => {
            for scan in scans {
                fields.extend(scan_fields(scan, shipment.shape));
            }
        }
        Variant::Plus => {
            let mut details: Vec<Value> = scans
                .iter()
                .map(|s| Value::Object(scan_fields(s, shipment.shape)))
                .collect();
            let detail = if details.len() == 1 {
                details.remove(0)
            } else {
                Value::Array(details)
            };
            let mut scans_obj = Map::new();
            scans_obj.insert("ScanDetail".into(), detail);
            if scans.iter().any(|s| s.scan_type == "DL") {
                let (delivery, images) = delivery_details(64);
                scans_obj.insert("DeliveryDetails".into(), delivery);
                scans_obj.insert("PODDCImages".into(), images);
            }
            fields.insert("Scans".into(), Value::Object(scans_obj));
        }
    }
    json!({ "Shipment": Value::Object(fields) })
}

/// A push body of `entries`.
pub fn body(entries: Vec<Value>) -> String {
    json!({ "statustracking": entries }).to_string()
}

/// The push body for one scan of `shipment`, the way Blue Dart pushes a new scan.
pub fn scan_push(shipment: &Shipment, scan: &Scan, variant: Variant) -> String {
    body(vec![entry(shipment, &[scan], variant)])
}

/// How the simulator authenticates its pushes, as the account was set up with Blue Dart.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PushAuth {
    /// The shared secret.
    pub token: String,
    /// The header it goes in (`token` by default); ignored with `basic`.
    pub header: Option<String>,
    /// Send it as the HTTP basic-auth password instead.
    pub basic: bool,
}

/// One delivery attempt and its outcome: the HTTP status, or 0 when no answer came.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushAttempt {
    pub waybill: String,
    pub try_number: u32,
    pub status: u16,
}

/// Blue Dart tries a push three times.
pub const TRIES: u32 = 3;

/// POSTs `body` to `url` (plain `http://host:port/path`) once; the answer's status, or 0.
pub async fn post(url: &str, auth: &PushAuth, body: &str) -> u16 {
    use base64::Engine;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(rest) = url.strip_prefix("http://") else {
        return 0;
    };
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let Ok(mut stream) = tokio::net::TcpStream::connect(host).await else {
        return 0;
    };
    let credential = if auth.basic {
        let pair =
            base64::engine::general_purpose::STANDARD.encode(format!("bluedart:{}", auth.token));
        format!("Authorization: Basic {pair}\r\n")
    } else {
        format!(
            "{}: {}\r\n",
            auth.header.as_deref().unwrap_or("token"),
            auth.token
        )
    };
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{credential}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(request.as_bytes()).await.is_err() {
        return 0;
    }
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stream.read_to_end(&mut answer),
    )
    .await;
    if !matches!(read, Ok(Ok(_))) && answer.is_empty() {
        return 0;
    }
    // `HTTP/1.1 200 OK`
    String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

/// Delivers one push as Blue Dart does: up to three tries, a pause between them, until a 2xx.
/// Every attempt is returned.
pub async fn deliver(
    url: &str,
    auth: &PushAuth,
    waybill: &str,
    body: &str,
    retry_pause_ms: u64,
) -> Vec<PushAttempt> {
    let mut attempts = Vec::new();
    for try_number in 1..=TRIES {
        let status = post(url, auth, body).await;
        attempts.push(PushAttempt {
            waybill: waybill.to_owned(),
            try_number,
            status,
        });
        if (200..300).contains(&status) {
            break;
        }
        if try_number < TRIES {
            tokio::time::sleep(std::time::Duration::from_millis(retry_pause_ms)).await;
        }
    }
    attempts
}

/// `POST /__control/push`: send a shipment's journey to `url`, a push per scan (oldest first),
/// or only the scans at `scans` (positions, oldest first, in the order given: to test
/// repeats and reordering).
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushOrder {
    pub url: String,
    #[serde(flatten)]
    pub auth: PushAuth,
    pub waybill: String,
    #[serde(default = "plus")]
    pub variant: Variant,
    #[serde(default)]
    pub scans: Option<Vec<usize>>,
    /// Pause between two scans' pushes.
    #[serde(default)]
    pub interval_ms: u64,
    /// Pause between the tries of one push.
    #[serde(default = "retry_pause")]
    pub retry_pause_ms: u64,
}

fn plus() -> Variant {
    Variant::Plus
}

fn retry_pause() -> u64 {
    1000
}

impl PushOrder {
    /// The bodies to send, in order, for `shipment`.
    pub fn bodies(&self, shipment: &Shipment) -> Result<Vec<String>, String> {
        let mut scans: Vec<&Scan> = shipment.scans.iter().collect();
        scans.sort_by_key(|s| s.at);
        let chosen: Vec<&Scan> = match &self.scans {
            None => scans,
            Some(positions) => positions
                .iter()
                .map(|&i| scans.get(i).copied().ok_or(format!("no scan {i}")))
                .collect::<Result<_, _>>()?,
        };
        Ok(chosen
            .into_iter()
            .map(|scan| scan_push(shipment, scan, self.variant))
            .collect())
    }
}
