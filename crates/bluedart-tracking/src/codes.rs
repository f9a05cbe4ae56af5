//! Blue Dart's status vocabulary mapped onto the normalised [`Status`] set.
//!
//! Real answers come in three shapes: full (`ScanCode` and `ScanGroupType`), code without group
//! (the gateway's 2023 answers) and no codes at all (older accounts: text and type only). A scan
//! resolves on the strongest evidence it carries:
//!
//! 1. its (group, code) pair — the code alone means nothing: `S/001` is an arrival, `T/001` a
//!    customer asking for a later delivery;
//! 2. with no group, its code read against its two-letter type (`DL` + `000` is a delivery);
//! 3. with no code, its text together with its type, then the shipment's own `Status` and
//!    `StatusType` (for the newest scan, which they describe);
//! 4. then its type alone.
//!
//! Missing evidence and unrecognised evidence differ. A `DL` with no code and no text saying
//! otherwise is a delivery (that is what `DL` normally means), but a code Blue Dart invents never
//! means delivered by itself, and a `DL` whose text says lost, destroyed, cancelled, confiscated
//! or returned is not a delivery.

use std::borrow::Cow;
use std::sync::LazyLock;

use crate::parse::tidy;
use tracking_core::model::Status;

/// (group, code, status). `S` = operational scan, `T` = status or exception code.
const CODES: &[(&str, &str, Status)] = &[
    // Operational scans.
    ("S", "001", Status::InTransit),      // inscan / arrived
    ("S", "002", Status::OutForDelivery), // outscan for delivery
    ("S", "003", Status::InTransit),      // outscanned to network
    ("S", "007", Status::InTransit),      // bag consolidated
    ("S", "009", Status::InTransit),      // autoscan
    ("S", "011", Status::InTransit),      // transit connection
    ("S", "012", Status::InTransit),      // bag auto tally
    ("S", "015", Status::InTransit),      // pickup scan on field
    ("S", "020", Status::InTransit),      // bag scan
    ("S", "022", Status::InTransit),      // bag scan
    ("S", "024", Status::Exception),      // undelivered shipment held at location
    ("S", "026", Status::InTransit),      // transit scan
    ("S", "027", Status::InTransit),      // vehicle arrived at delivery location
    ("S", "501", Status::InfoReceived),   // pickup employee out to pick up
    // Delivered.
    ("T", "000", Status::Delivered),
    ("T", "090", Status::Delivered), // forwarded to a third party, no proof of delivery
    ("T", "099", Status::Delivered), // moved to history
    ("T", "092", Status::OutForDelivery),
    // Failed delivery attempts: the customer sees "delivery attempted".
    ("T", "001", Status::FailedAttempt), // customer asked for a future delivery
    ("T", "003", Status::FailedAttempt), // premises closed
    ("T", "008", Status::FailedAttempt), // address problems
    ("T", "009", Status::FailedAttempt),
    ("T", "010", Status::FailedAttempt),
    ("T", "011", Status::FailedAttempt), // refused
    ("T", "012", Status::FailedAttempt), // no such consignee
    ("T", "013", Status::FailedAttempt), // consignee not available
    ("T", "014", Status::FailedAttempt), // consignee shifted
    ("T", "137", Status::FailedAttempt), // area not accessible
    ("T", "139", Status::FailedAttempt), // department / extension needed
    ("T", "201", Status::FailedAttempt), // e-tail refusals
    ("T", "203", Status::FailedAttempt),
    ("T", "204", Status::FailedAttempt),
    ("T", "205", Status::FailedAttempt),
    ("T", "308", Status::FailedAttempt), // no entry
    // Exceptions.
    ("T", "002", Status::Exception), // out of delivery area
    ("T", "017", Status::Exception), // disturbance / strike
    ("T", "059", Status::Exception), // flight / vehicle delayed
    ("T", "062", Status::Exception), // charges not ready
    ("T", "129", Status::Exception), // damaged
    ("T", "173", Status::Exception), // not located
    ("T", "555", Status::Exception), // pickup rescheduled
    // Return to origin.
    ("T", "016", Status::Returning),
    ("T", "074", Status::Returning),
    ("T", "104", Status::Returning),
    ("T", "105", Status::Returning),
    ("T", "123", Status::Returning),
    ("T", "118", Status::Returned), // delivered back to the shipper
    ("T", "188", Status::Returned),
    // Closed without delivery (type DL, but not delivered).
    ("T", "021", Status::Lost),
    ("T", "025", Status::Lost), // destroyed
    ("T", "070", Status::Lost),
    ("T", "141", Status::Lost),
    ("T", "098", Status::Lost), // pickup cancelled
    ("T", "135", Status::Lost), // confiscated
    ("T", "178", Status::Lost), // spoiled
];

/// Phrases in a scan's text and what they say, checked in this order: the words that deny a
/// delivery ("lost", "return", "undelivered") come before the ones that claim one.
const PHRASES: &[(&[&str], Reading)] = &[
    (
        &["LOST", "DESTROY", "CANCEL", "CONFISCAT", "SEIZED", "SPOIL"],
        Reading::Is(Status::Lost),
    ),
    (
        &[
            "DELIVERED BACK",
            "BACK TO SHIPPER",
            "RETURNED TO SHIPPER",
            "DELIVERED TO SHIPPER",
        ],
        Reading::Is(Status::Returned),
    ),
    (&["RETURN", "RTO"], Reading::Returning),
    (
        &[
            "UNDELIVERED",
            "NOT DELIVERED",
            "ATTEMPT",
            "REFUSED",
            "PREMISES CLOSED",
            "NOT AVAILABLE",
            "FUTURE DELIVERY",
            "ADDRESS",
            "SHIFTED",
            "NO SUCH CONSIGNEE",
            "NOT ACCESSIBLE",
            "NO ENTRY",
        ],
        Reading::Is(Status::FailedAttempt),
    ),
    (
        &[
            "OUT OF DELIVERY AREA",
            "DELAY",
            "DAMAGE",
            "STRIKE",
            "DISTURBANCE",
            "NOT LOCATED",
            "HELD",
            "MISROUTE",
        ],
        Reading::Is(Status::Exception),
    ),
    (&["OUT FOR DELIVERY"], Reading::Is(Status::OutForDelivery)),
    (
        &["DELIVERED", "MOVED TO HISTORY", "FORWARDED TO 3RD PARTY"],
        Reading::Is(Status::Delivered),
    ),
    (
        &["PICKUP", "PICKED UP", "BOOKED", "MANIFEST"],
        Reading::Is(Status::InfoReceived),
    ),
    (
        &[
            "ARRIVED", "INSCAN", "OUTSCAN", "TRANSIT", "CONNECT", "BAG", "DEPART",
        ],
        Reading::Is(Status::InTransit),
    ),
];

/// What a phrase says. "Return" is on the way back, unless the type closes the shipment.
#[derive(Clone, Copy)]
enum Reading {
    Is(Status),
    Returning,
}

/// What one scan, or a shipment's current status, carries as evidence. Values as sent.
#[derive(Clone, Copy, Debug, Default)]
pub struct Evidence<'a> {
    pub group: &'a str,
    pub code: &'a str,
    pub scan_type: &'a str,
    pub text: &'a str,
}

/// A (group, code) pair as one number: every pair in the table is one letter and three digits.
fn pair_key(group: &str, code: &str) -> Option<u32> {
    match (group.as_bytes(), code.as_bytes()) {
        ([g], [c1, c2, c3]) => Some(u32::from_be_bytes([*g, *c1, *c2, *c3])),
        _ => None,
    }
}

/// The table by pair, sorted: every scan of every answer is looked up here.
static BY_PAIR: LazyLock<Vec<(u32, Status)>> = LazyLock::new(|| {
    let mut index: Vec<(u32, Status)> = CODES
        .iter()
        .map(|(g, c, status)| (pair_key(g, c).expect("a letter and three digits"), *status))
        .collect();
    tracking_core::sorting::sort_by_key(&mut index, |(key, _)| *key);
    index
});

fn in_table(group: &str, code: &str) -> Option<Status> {
    let key = pair_key(group, code)?;
    let at = BY_PAIR.binary_search_by_key(&key, |(k, _)| *k).ok()?;
    Some(BY_PAIR[at].1)
}

/// Whether a status can stand under a two-letter type: `UD` is never delivered, `DL` always
/// closed. An unknown or missing type allows anything.
fn fits(scan_type: &str, status: Status) -> bool {
    use Status::*;
    match scan_type {
        "DL" => matches!(status, Delivered | Lost | Returned),
        "UD" | "RD" => matches!(
            status,
            InTransit | OutForDelivery | FailedAttempt | Exception
        ),
        "RT" => matches!(status, Returning | Returned),
        "PU" => matches!(status, InfoReceived | Exception),
        "NF" => status == Pending,
        _ => true,
    }
}

/// What a text says. `Err(())` when it names a state the type cannot be in: text and type
/// contradict each other, so neither is trusted to mean delivered.
fn text_says(text: &str, scan_type: &str) -> Result<Option<Status>, ()> {
    let mut text = tidy(text);
    text.make_ascii_uppercase();
    let has = |phrase: &str| {
        // Short phrases ("RTO", "BAG") are whole words; longer ones may sit inside words.
        if phrase.len() <= 3 {
            text.split(|c: char| !c.is_ascii_alphanumeric())
                .any(|w| w == phrase)
        } else {
            text.contains(phrase)
        }
    };
    let Some((_, reading)) = PHRASES
        .iter()
        .find(|(phrases, _)| phrases.iter().any(|p| has(p)))
    else {
        return Ok(None);
    };
    let status = match reading {
        Reading::Is(status) => *status,
        // A return under a closing type has reached the shipper.
        Reading::Returning if scan_type == "DL" => Status::Returned,
        Reading::Returning => Status::Returning,
    };
    if fits(scan_type, status) {
        Ok(Some(status))
    } else {
        Err(())
    }
}

fn type_alone(scan_type: &str, unrecognised: bool) -> Status {
    match scan_type {
        "PU" => Status::InfoReceived,
        "RT" => Status::Returning,
        "NF" => Status::Pending,
        "DL" if !unrecognised => Status::Delivered,
        // UD, RD, a DL with evidence we cannot read, anything new: moving, not delivered.
        _ => Status::InTransit,
    }
}

/// Trimmed, in capitals; borrowed when it already is (as groups and types arrive): this runs
/// twice for every scan a sync reads. Values arrive tidied (both readers tidy what they keep):
/// ASCII spaces are all there can be around them.
fn normalised(value: &str) -> Cow<'_, str> {
    let value = value.trim_ascii();
    if value.bytes().any(|b| b.is_ascii_lowercase()) {
        Cow::Owned(value.to_ascii_uppercase())
    } else {
        Cow::Borrowed(value)
    }
}

/// The status a scan stands for. `shipment` is the shipment's own `Status`/`StatusType`, given
/// for the newest scan only: it describes the same moment.
pub fn resolve(scan: Evidence<'_>, shipment: Option<Evidence<'_>>) -> Status {
    let group = normalised(scan.group);
    let code = scan.code.trim_ascii();
    let scan_type = normalised(scan.scan_type);
    let mut unrecognised = false;
    if !code.is_empty() {
        if !group.is_empty() {
            match in_table(&group, code) {
                Some(status) => return status,
                None => unrecognised = true,
            }
        } else {
            // No group: the readings of the code in either group that the type allows.
            let mut candidates: Vec<Status> = ["S", "T"]
                .iter()
                .filter_map(|g| in_table(g, code))
                .filter(|s| fits(&scan_type, *s))
                .collect();
            candidates.dedup();
            match candidates.as_slice() {
                [only] => return *only,
                [] => unrecognised = true,
                // Ambiguous (`UD` + `001`): the text decides, else the type.
                several => {
                    let told = text_says(scan.text, &scan_type).ok().flatten();
                    return told
                        .filter(|s| several.contains(s))
                        .unwrap_or_else(|| type_alone(&scan_type, false));
                }
            }
        }
    }
    match text_says(scan.text, &scan_type) {
        Ok(Some(status)) => return status,
        Err(()) => return type_alone(&scan_type, true),
        Ok(None) => {}
    }
    if let Some(shipment) = shipment {
        let shipment_type = normalised(shipment.scan_type);
        if scan_type.is_empty() || scan_type == shipment_type {
            if let Ok(Some(status)) = text_says(shipment.text, &shipment_type) {
                return status;
            }
            if scan_type.is_empty() {
                return type_alone(&shipment_type, unrecognised);
            }
        }
    }
    type_alone(&scan_type, unrecognised)
}

/// On a return waybill, "delivered" means back with the shipper and anything else means on
/// the way back.
pub fn on_return_waybill(status: Status) -> Status {
    match status {
        Status::Delivered | Status::Returned => Status::Returned,
        Status::Lost => Status::Lost,
        _ => Status::Returning,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    fn full(group: &str, code: &str, scan_type: &str) -> Status {
        resolve(
            Evidence {
                group,
                code,
                scan_type,
                text: "",
            },
            None,
        )
    }

    fn without_group(code: &str, scan_type: &str, text: &str) -> Status {
        resolve(
            Evidence {
                code,
                scan_type,
                text,
                ..Evidence::default()
            },
            None,
        )
    }

    fn without_codes(scan_type: &str, text: &str) -> Status {
        resolve(
            Evidence {
                scan_type,
                text,
                ..Evidence::default()
            },
            None,
        )
    }

    /// Every code `bluedart-protocol.md` lists, with what it must mean. Written out again here,
    /// not derived from the table, so that a wrong entry in the table fails.
    const DOCUMENTED: &[(&str, &str, Status)] = &[
        ("S", "001", InTransit),
        ("S", "002", OutForDelivery),
        ("S", "003", InTransit),
        ("S", "007", InTransit),
        ("S", "009", InTransit),
        ("S", "011", InTransit),
        ("S", "012", InTransit),
        ("S", "015", InTransit),
        ("S", "020", InTransit),
        ("S", "022", InTransit),
        ("S", "024", Exception),
        ("S", "026", InTransit),
        ("S", "027", InTransit),
        ("S", "501", InfoReceived),
        ("T", "000", Delivered),
        ("T", "090", Delivered),
        ("T", "099", Delivered),
        ("T", "092", OutForDelivery),
        ("T", "001", FailedAttempt),
        ("T", "003", FailedAttempt),
        ("T", "008", FailedAttempt),
        ("T", "009", FailedAttempt),
        ("T", "010", FailedAttempt),
        ("T", "011", FailedAttempt),
        ("T", "012", FailedAttempt),
        ("T", "013", FailedAttempt),
        ("T", "014", FailedAttempt),
        ("T", "137", FailedAttempt),
        ("T", "139", FailedAttempt),
        ("T", "201", FailedAttempt),
        ("T", "203", FailedAttempt),
        ("T", "204", FailedAttempt),
        ("T", "205", FailedAttempt),
        ("T", "308", FailedAttempt),
        ("T", "002", Exception),
        ("T", "017", Exception),
        ("T", "059", Exception),
        ("T", "062", Exception),
        ("T", "129", Exception),
        ("T", "173", Exception),
        ("T", "555", Exception),
        ("T", "016", Returning),
        ("T", "074", Returning),
        ("T", "104", Returning),
        ("T", "105", Returning),
        ("T", "123", Returning),
        ("T", "118", Returned),
        ("T", "188", Returned),
        ("T", "021", Lost),
        ("T", "025", Lost),
        ("T", "070", Lost),
        ("T", "141", Lost),
        ("T", "098", Lost),
        ("T", "135", Lost),
        ("T", "178", Lost),
    ];

    #[test]
    fn every_documented_code_means_what_the_protocol_notes_say() {
        for (group, code, expected) in DOCUMENTED {
            // The pair decides, whatever the type says.
            for scan_type in ["UD", "DL", "RT", ""] {
                assert_eq!(
                    full(group, code, scan_type),
                    *expected,
                    "{group}/{code} with type {scan_type:?}"
                );
            }
        }
        // And the table holds nothing the notes do not document.
        assert_eq!(CODES.len(), DOCUMENTED.len());
        // Each pair once, so the sorted index finds the one meaning there is.
        let mut keys: Vec<u32> = BY_PAIR.iter().map(|(key, _)| *key).collect();
        keys.dedup();
        assert_eq!(keys.len(), CODES.len());
        assert_eq!(in_table("S", "0010"), None);
        assert_eq!(in_table("ST", "001"), None);
    }

    #[test]
    fn group_decides_what_a_code_means() {
        assert_eq!(full("S", "001", "UD"), InTransit);
        assert_eq!(full("T", "001", "UD"), FailedAttempt);
        assert_eq!(full("S", "002", "UD"), OutForDelivery);
        assert_eq!(full("T", "002", "UD"), Exception);
        assert_eq!(full(" t ", "013", "ud"), FailedAttempt);
    }

    #[test]
    fn an_unrecognised_code_never_means_delivered_by_itself() {
        assert_eq!(full("T", "777", "DL"), InTransit);
        assert_eq!(without_group("777", "DL", ""), InTransit);
        assert_eq!(without_group("777", "DL", "NEW KIND OF CLOSURE"), InTransit);
        // Unless its text says so.
        assert_eq!(
            resolve(
                Evidence {
                    group: "T",
                    code: "777",
                    scan_type: "DL",
                    text: "SHIPMENT DELIVERED"
                },
                None
            ),
            Delivered
        );
        assert_eq!(full("S", "999", "PU"), InfoReceived);
        assert_eq!(full("S", "999", "RT"), Returning);
        assert_eq!(full("S", "999", "UD"), InTransit);
    }

    #[test]
    fn without_a_group_the_code_is_read_against_the_type() {
        assert_eq!(without_group("000", "DL", ""), Delivered);
        assert_eq!(without_group("021", "DL", ""), Lost);
        assert_eq!(without_group("118", "DL", ""), Returned);
        assert_eq!(without_group("013", "UD", ""), FailedAttempt);
        assert_eq!(without_group("024", "UD", ""), Exception);
        assert_eq!(without_group("074", "RT", ""), Returning);
        // S/002 (out for delivery) and T/002 (out of delivery area) both fit UD: text decides.
        assert_eq!(
            without_group("002", "UD", "SHIPMENT OUT FOR DELIVERY"),
            OutForDelivery
        );
        assert_eq!(
            without_group("002", "UD", "OUT OF DELIVERY AREA"),
            Exception
        );
        assert_eq!(without_group("001", "UD", "SHIPMENT ARRIVED"), InTransit);
        assert_eq!(
            without_group("001", "UD", "CUSTOMER ASKED FUTURE DELIVERY"),
            FailedAttempt
        );
        // Ambiguous and the text does not help: the type.
        assert_eq!(without_group("002", "UD", "SCANNED"), InTransit);
        // S/003 does not fit RT: the type.
        assert_eq!(
            without_group("003", "RT", "SHIPMENT OUTSCANNED TO NETWORK"),
            Returning
        );
    }

    #[test]
    fn without_codes_text_and_type_decide() {
        assert_eq!(without_codes("DL", "SHIPMENT DELIVERED"), Delivered);
        assert_eq!(without_codes("dl", "  Shipment   delivered "), Delivered);
        assert_eq!(without_codes("DL", ""), Delivered);
        assert_eq!(without_codes("DL", "SHIPMENT LOST"), Lost);
        assert_eq!(without_codes("DL", "SHIPMENT DESTROYED"), Lost);
        assert_eq!(without_codes("DL", "PICKUP CANCELLED"), Lost);
        assert_eq!(without_codes("DL", "CONFISCATED BY AUTHORITIES"), Lost);
        assert_eq!(
            without_codes("DL", "SHIPMENT DELIVERED BACK TO SHIPPER"),
            Returned
        );
        assert_eq!(without_codes("DL", "RETURNED TO ORIGIN"), Returned);
        // Text that denies a delivery under DL: not delivered.
        assert_eq!(without_codes("DL", "SHIPMENT NOT DELIVERED"), InTransit);
        assert_eq!(
            without_codes("UD", "SHIPMENT OUT FOR DELIVERY"),
            OutForDelivery
        );
        assert_eq!(
            without_codes("UD", "CONSIGNEE NOT AVAILABLE"),
            FailedAttempt
        );
        assert_eq!(
            without_codes("UD", "UNDELIVERED - PREMISES CLOSED"),
            FailedAttempt
        );
        // UD is never delivered, whatever the text claims.
        assert_eq!(without_codes("UD", "SHIPMENT DELIVERED"), InTransit);
        assert_eq!(without_codes("UD", "SHIPMENT ARRIVED"), InTransit);
        assert_eq!(without_codes("RT", "RETURN TO ORIGIN"), Returning);
        assert_eq!(without_codes("RT", "RTO DELIVERED TO SHIPPER"), Returned);
        assert_eq!(without_codes("PU", "PICKED UP"), InfoReceived);
        assert_eq!(without_codes("NF", ""), Pending);
        assert_eq!(without_codes("RD", ""), InTransit);
        // "RTO" is a word, not part of one.
        assert_eq!(without_codes("UD", "SHIPMENT AT PORTOBELLO"), InTransit);
        assert_eq!(without_codes("", "RTO INITIATED"), Returning);
    }

    #[test]
    fn a_text_its_type_cannot_stand_for_gives_way_to_the_type() {
        // A pickup scan is not a delivery, whatever its text says; a delay at pickup is.
        assert_eq!(without_codes("PU", "SHIPMENT DELIVERED"), InfoReceived);
        assert_eq!(without_codes("PU", "PICKUP DELAYED"), Exception);
        // "Not found" stays pending: the shipment has not moved.
        assert_eq!(without_codes("NF", "SHIPMENT ARRIVED"), Pending);
    }

    #[test]
    fn the_shipments_own_status_speaks_for_its_newest_scan() {
        let scan = Evidence {
            scan_type: "DL",
            text: "POD UPDATED",
            ..Evidence::default()
        };
        let shipment = |text| Evidence {
            scan_type: "DL",
            text,
            ..Evidence::default()
        };
        assert_eq!(resolve(scan, Some(shipment("SHIPMENT LOST"))), Lost);
        assert_eq!(
            resolve(scan, Some(shipment("SHIPMENT DELIVERED"))),
            Delivered
        );
        // A scan with no type takes the shipment's.
        let untyped = Evidence {
            text: "POD UPDATED",
            ..Evidence::default()
        };
        assert_eq!(resolve(untyped, Some(shipment("X"))), Delivered);
        assert_eq!(resolve(untyped, None), InTransit);
        // A shipment status of another type describes another moment: ignored.
        let transit = Evidence {
            scan_type: "UD",
            text: "SCANNED",
            ..Evidence::default()
        };
        assert_eq!(
            resolve(transit, Some(shipment("SHIPMENT DELIVERED"))),
            InTransit
        );
    }

    #[test]
    fn return_waybills() {
        assert_eq!(on_return_waybill(Delivered), Returned);
        assert_eq!(on_return_waybill(Returned), Returned);
        assert_eq!(on_return_waybill(InTransit), Returning);
        assert_eq!(on_return_waybill(OutForDelivery), Returning);
        assert_eq!(on_return_waybill(Lost), Lost);
    }
}
