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
    /// Render scans in the older form that lacks `ScanCode`, `ScanTime`, `ScannedLocation` and
    /// `ScannedLocationCode`.
    pub legacy_scans: bool,
    /// Scans, oldest first. The payload lists them newest first.
    pub scans: Vec<Scan>,
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
