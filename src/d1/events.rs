//! `tracking_events`: a sync's new events and the latest flag.

use serde::Deserialize;
use tracking_core::model::{Location, Status, TrackingEvent};
use tracking_core::ports::StoreError;
use worker::D1PreparedStatement;

use super::{D1Store, parse_time, text};

/// One event as a snapshot's read lists it, under its order's row.
#[derive(Deserialize)]
pub(super) struct EventRow {
    awb_no: String,
    carrier_status: String,
    status: String,
    description: String,
    scan_code: String,
    facility: String,
    city: String,
    state: String,
    country: String,
    place_key: String,
    event_at: String,
    is_latest: f64,
}

impl EventRow {
    /// The event, and whether it is the order's latest.
    pub(super) fn into_event(self) -> Result<(TrackingEvent, bool), StoreError> {
        let event = TrackingEvent {
            status: Status::parse(&self.status)
                .ok_or_else(|| StoreError(format!("unknown status {:?}", self.status)))?,
            event_at: parse_time(&self.event_at)?,
            awb_no: self.awb_no,
            carrier_status: self.carrier_status,
            description: self.description,
            scan_code: self.scan_code,
            location: Location {
                facility: self.facility,
                city: self.city.into(),
                state: self.state.into(),
                country: self.country.into(),
            },
            place_key: self.place_key,
        };
        Ok((event, self.is_latest != 0.0))
    }
}

const INSERT_EVENTS: &str = "INSERT OR IGNORE INTO tracking_events (order_id, awb_no, carrier_status, \
    status, description, scan_code, facility, city, state, country, place_key, event_at, synced_at, \
    is_latest) \
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), \
           json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), \
           json_extract(value, '$[6]'), json_extract(value, '$[7]'), json_extract(value, '$[8]'), \
           json_extract(value, '$[9]'), json_extract(value, '$[10]'), json_extract(value, '$[11]'), \
           json_extract(value, '$[12]'), 0 \
    FROM json_each(?1)";

const CLEAR_LATEST: &str = "UPDATE tracking_events SET is_latest = 0 WHERE is_latest = 1 \
    AND order_id IN (SELECT json_extract(value, '$.o') FROM json_each(?1))";

const SET_LATEST: &str = "UPDATE tracking_events SET is_latest = 1 WHERE id IN ( \
    SELECT t.id FROM json_each(?1) AS j JOIN tracking_events AS t \
      ON t.order_id = json_extract(j.value, '$.o') AND t.awb_no = json_extract(j.value, '$.a') \
     AND t.event_at = json_extract(j.value, '$.e') AND t.scan_code = json_extract(j.value, '$.k') \
     AND t.place_key = json_extract(j.value, '$.pk'))";

impl D1Store {
    /// The statements that save a batch's events and move its latest flags, skipping empty ones.
    pub(super) fn event_statements(
        &self,
        events: Option<&str>,
        latest: Option<&str>,
    ) -> Result<Vec<D1PreparedStatement>, StoreError> {
        let mut statements = Vec::new();
        if let Some(events) = events {
            statements.push(self.statement(INSERT_EVENTS, &[text(events)])?);
        }
        if let Some(latest) = latest {
            statements.push(self.statement(CLEAR_LATEST, &[text(latest)])?);
            statements.push(self.statement(SET_LATEST, &[text(latest)])?);
        }
        Ok(statements)
    }
}
