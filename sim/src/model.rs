//! The shipments the simulator knows, as Blue Dart would hold them.
//!
//! All dates and times are India Standard Time wall-clock values without an offset, exactly as
//! Blue Dart reports them; the worker is the one that has to turn them into UTC.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

/// One waybill and its scan history.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Shipment {
    pub waybill: String,
    /// The shipper's reference (`RefNo` attribute); for a return, `"<code> - <forward waybill>"`.
    pub ref_no: String,
    pub service: String,
    /// Pickup date and time (IST).
    pub pickup: Option<NaiveDateTime>,
    pub origin: String,
    pub origin_area_code: String,
    pub destination: String,
    pub destination_area_code: String,
    pub product_type: String,
    pub weight: String,
    /// Expected delivery date (IST); rendered as `%d %B %Y`.
    pub expected_delivery: Option<chrono::NaiveDate>,
    /// The return waybill once the shipment is returning to origin (RTO).
    pub new_waybill: String,
    pub received_by: String,
    /// Personal data, emitted in the payload as Blue Dart does, so that tests can check the
    /// worker never passes it on.
    pub consignee: Option<Consignee>,
    /// Which of the shapes real accounts answer in this shipment's scans take.
    pub shape: AnswerShape,
    /// Scans, oldest first. The payload lists them newest first.
    pub scans: Vec<Scan>,
}

/// The shapes of `<ScanDetail>` that real Blue Dart accounts send.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AnswerShape {
    /// `ScanCode` and `ScanGroupType` on every scan.
    #[default]
    Full,
    /// `ScanCode` without `ScanGroupType`: the gateway's answers captured in 2023.
    CodeWithoutGroup,
    /// Neither code nor group: text, type, date, time and place only (older accounts).
    NoCodes,
    /// The oldest form: no code, no time, no place (`ScanGroupType` still there).
    Legacy,
}

impl AnswerShape {
    /// (code, group, time, place) shown.
    fn fields(self) -> (bool, bool, bool, bool) {
        match self {
            AnswerShape::Full => (true, true, true, true),
            AnswerShape::CodeWithoutGroup => (true, false, true, true),
            AnswerShape::NoCodes => (false, false, true, true),
            AnswerShape::Legacy => (false, true, false, false),
        }
    }

    pub fn shows_code(self) -> bool {
        self.fields().0
    }

    pub fn shows_group(self) -> bool {
        self.fields().1
    }

    pub fn shows_time(self) -> bool {
        self.fields().2
    }

    pub fn shows_place(self) -> bool {
        self.fields().3
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Consignee {
    pub name: String,
    pub address1: String,
    pub address2: String,
    pub address3: String,
    pub pincode: String,
    pub phone: String,
}

/// One scan (`ScanDetail`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scan {
    /// Free text, e.g. `SHIPMENT OUT FOR DELIVERY`.
    pub scan: String,
    /// Zero-padded code, meaningful only together with `group`.
    pub code: String,
    /// Two-letter family: PU, UD, DL, RT, RD, NF.
    #[serde(rename = "type")]
    pub scan_type: String,
    /// `S` (operational scan) or `T` (status / exception code).
    pub group: String,
    /// When the scan happened (IST).
    pub at: NaiveDateTime,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub location_code: String,
}

impl Shipment {
    /// The newest scan, which is what `Status`, `StatusType`, `StatusDate` and `StatusTime` show.
    pub fn latest_scan(&self) -> Option<&Scan> {
        self.scans.iter().max_by_key(|s| s.at)
    }

    /// Scans newest first, as the payload lists them. Stable for scans with equal times: the
    /// one appended later counts as newer.
    pub fn scans_newest_first(&self) -> Vec<&Scan> {
        let mut scans: Vec<(usize, &Scan)> = self.scans.iter().enumerate().collect();
        scans.sort_by(|(ia, a), (ib, b)| b.at.cmp(&a.at).then(ib.cmp(ia)));
        scans.into_iter().map(|(_, s)| s).collect()
    }
}
