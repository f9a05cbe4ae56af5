//! Blue Dart's status vocabulary mapped onto the normalised [`Status`] set.
//!
//! A scan resolves on its (group, code) pair first — the code alone means nothing: `S/001` is an
//! arrival, `T/001` a customer asking for a later delivery — then on its two-letter type. An
//! unrecognised code never means delivered: it falls back to the type, and a `DL` type whose code
//! is unknown counts as in transit, since `DL` also covers lost, destroyed and cancelled parcels.

use crate::tracking::model::Status;

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

/// The status a scan (or a shipment's current status) stands for.
pub fn status_of(group: &str, code: &str, status_type: &str) -> Status {
    let group = group.trim().to_ascii_uppercase();
    let code = code.trim();
    if let Some((_, _, status)) = CODES.iter().find(|(g, c, _)| *g == group && *c == code) {
        return *status;
    }
    match status_type.trim().to_ascii_uppercase().as_str() {
        "PU" => Status::InfoReceived,
        "RT" => Status::Returning,
        "NF" => Status::Pending,
        // UD, RD, an unknown DL code, anything new: moving, but not delivered.
        _ => Status::InTransit,
    }
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

    #[test]
    fn group_decides_what_a_code_means() {
        assert_eq!(status_of("S", "001", "UD"), Status::InTransit);
        assert_eq!(status_of("T", "001", "UD"), Status::FailedAttempt);
        assert_eq!(status_of("S", "002", "UD"), Status::OutForDelivery);
        assert_eq!(status_of("T", "002", "UD"), Status::Exception);
    }

    #[test]
    fn delivered_only_on_delivery_codes() {
        assert_eq!(status_of("T", "000", "DL"), Status::Delivered);
        assert_eq!(status_of("T", "021", "DL"), Status::Lost);
        assert_eq!(status_of("T", "098", "DL"), Status::Lost);
        assert_eq!(status_of("T", "135", "DL"), Status::Lost);
        // An unknown code never means delivered, even with type DL.
        assert_eq!(status_of("T", "777", "DL"), Status::InTransit);
        assert_eq!(status_of("", "", "DL"), Status::InTransit);
    }

    #[test]
    fn unknown_codes_fall_back_to_the_type() {
        assert_eq!(status_of("S", "999", "PU"), Status::InfoReceived);
        assert_eq!(status_of("S", "999", "RT"), Status::Returning);
        assert_eq!(status_of("S", "999", "UD"), Status::InTransit);
        assert_eq!(status_of("", "", "RD"), Status::InTransit);
        assert_eq!(status_of("", "", "NF"), Status::Pending);
        assert_eq!(status_of(" t ", "013", "ud"), Status::FailedAttempt);
    }

    #[test]
    fn return_codes() {
        assert_eq!(status_of("T", "074", "RT"), Status::Returning);
        assert_eq!(status_of("T", "118", "DL"), Status::Returned);
        assert_eq!(on_return_waybill(Status::Delivered), Status::Returned);
        assert_eq!(on_return_waybill(Status::InTransit), Status::Returning);
        assert_eq!(on_return_waybill(Status::OutForDelivery), Status::Returning);
        assert_eq!(on_return_waybill(Status::Lost), Status::Lost);
    }
}
