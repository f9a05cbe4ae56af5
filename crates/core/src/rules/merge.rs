//! How carrier news is merged into what is stored: which event is the latest, what the order's
//! statuses become. Pure rules; the store carries them out in one transaction.

use chrono::{DateTime, NaiveDate, Utc};

use super::schedule::{CheckSchedule, NextCheck};
use crate::carrier::{CarrierUpdate, RawJson, TrackingReply};
use crate::model::{Order, ShippingStatus, Snapshot, Status, TrackingEvent};

/// The carrier's answer as received, kept (cut to size, personal data removed) for admins.
#[derive(Clone, Debug, PartialEq)]
pub struct RawResponse {
    pub http_status: u16,
    pub body: RawBody,
}

/// A kept answer: whole (JSON), or cut to its size limit (then no longer JSON, only text).
#[derive(Clone, Debug, PartialEq)]
pub enum RawBody {
    Whole(RawJson),
    Cut(String),
}

impl RawBody {
    pub fn as_str(&self) -> &str {
        match self {
            RawBody::Whole(json) => json.as_str(),
            RawBody::Cut(text) => text,
        }
    }

    pub fn is_truncated(&self) -> bool {
        matches!(self, RawBody::Cut(_))
    }
}

/// Every write one sync makes for one order.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderSync {
    pub order_id: String,
    /// Events the store does not have yet.
    pub events: Vec<TrackingEvent>,
    /// The event to flag as latest; `None` leaves the flag where it is.
    pub latest: Option<TrackingEvent>,
    pub shipping_status: ShippingStatus,
    pub order_status: String,
    pub expected_delivery: Option<NaiveDate>,
    pub synced_at: DateTime<Utc>,
    pub raw: Option<RawResponse>,
    /// When to ask again; `None` for a shipment that is no longer in transit or stopped.
    pub next_check_at: Option<DateTime<Utc>>,
    pub last_progress_at: Option<DateTime<Utc>>,
    pub polling_stopped_at: Option<DateTime<Utc>>,
    /// Until when KV will hold the new snapshot, when the caller writes it whatever happens
    /// (a refresh): noted in the save itself rather than by a write of its own afterwards.
    pub kv_held_until: Option<DateTime<Utc>>,
    /// Whether the save moves the order's [`version`](crate::model::Order::version): it
    /// changes the order's tracking. Set by [`settle`].
    pub moves_version: bool,
    /// The version of the order the plan was made from: the store saves the plan only while
    /// the order is still at it, so that a plan from an older read (a sync that read before a
    /// customer's refresh saved) never writes older tracking over newer.
    pub from_version: u64,
}

impl OrderSync {
    /// What the sync writes to the order's row, but for its version.
    pub fn apply_to(&self, order: &mut Order) {
        order.shipping_status = self.shipping_status;
        order.order_status = self.order_status.clone();
        order.expected_delivery_date = self.expected_delivery;
        order.last_synced_at = Some(self.synced_at);
        order.last_sync_error = None;
        order.updated_at = self.synced_at;
        order.next_check_at = self.next_check_at;
        order.last_progress_at = self.last_progress_at;
        order.polling_stopped_at = self.polling_stopped_at;
    }
}

/// The latest event after merging `incoming` into what is stored.
///
/// A shipment in an end state stays there whatever arrives later, and an older event never
/// replaces a newer latest one.
pub fn choose_latest(
    stored: Option<&TrackingEvent>,
    incoming: &[TrackingEvent],
) -> Option<TrackingEvent> {
    if let Some(stored) = stored.filter(|s| s.status.is_terminal() && s.is_from_carrier()) {
        return Some(stored.clone());
    }
    // For equal recency the later-listed event wins.
    let mut best: Option<&TrackingEvent> = stored;
    for event in incoming {
        if best.is_none_or(|b| event.recency() >= b.recency()) {
            best = Some(event);
        }
    }
    best.cloned()
}

/// Plans the writes for one order. `update` is `None` when the carrier had nothing on the
/// waybill (a valid answer): only the sync time and the next check move.
pub fn plan_sync(
    before: &Snapshot,
    update: Option<CarrierUpdate>,
    raw: Option<RawResponse>,
    schedule: &CheckSchedule,
    now: DateTime<Utc>,
) -> OrderSync {
    let order = &before.order;
    let update = update.unwrap_or_default();
    let latest = choose_latest(before.latest.as_ref(), &update.events);
    let mut events: Vec<TrackingEvent> = Vec::new();
    for event in update.events {
        let known = before
            .events
            .iter()
            .chain(&events)
            .any(|e| e.identity() == event.identity());
        if !known {
            events.push(event);
        }
    }
    let status = latest.as_ref().map(|l| l.status);
    let moved = latest != before.latest;
    let shipping_status = match status {
        Some(status) if moved || status.is_terminal() => status.shipping_status(),
        _ => order.shipping_status,
    };
    let order_status = if status == Some(Status::Delivered) {
        "Delivered".to_owned()
    } else {
        order.order_status.clone()
    };
    // A new scan restarts the schedule; silence backs it off, and in the end stops it.
    let last_progress_at = if events.is_empty() {
        order.last_progress_at.or(Some(now))
    } else {
        Some(now)
    };
    let (next_check_at, polling_stopped_at) = if shipping_status != ShippingStatus::InTransit {
        (None, None)
    } else {
        match schedule.next_check(last_progress_at.unwrap_or(now), now) {
            NextCheck::At(at) => (Some(at), None),
            NextCheck::Stopped => (None, order.polling_stopped_at.or(Some(now))),
        }
    };
    OrderSync {
        order_id: order.id.clone(),
        latest: latest.filter(|_| moved),
        events,
        shipping_status,
        order_status,
        expected_delivery: update.expected_delivery.or(order.expected_delivery_date),
        synced_at: now,
        raw,
        next_check_at,
        last_progress_at,
        polling_stopped_at,
        kv_held_until: None,
        moves_version: false,
        from_version: order.version,
    }
}

/// `payload` whole if it fits in `max` bytes, else its first `max` bytes cut on a character
/// boundary.
fn clip(payload: RawJson, max: usize) -> RawBody {
    let text = payload.as_str();
    if text.len() <= max {
        return RawBody::Whole(payload);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    RawBody::Cut(text[..end].to_owned())
}

/// Plans the writes for a batch of orders from one carrier answer about their waybills,
/// keeping at most `raw_max_bytes` of each order's part of the answer.
pub fn plan_batch(
    snapshots: &[Snapshot],
    mut reply: TrackingReply,
    raw_max_bytes: usize,
    schedule: &CheckSchedule,
    now: DateTime<Utc>,
) -> Vec<OrderSync> {
    // The waybills were asked for in the snapshots' order.
    let mut asked = 0;
    snapshots
        .iter()
        .map(|before| {
            let mut update = before.order.awb_no.as_deref().and_then(|awb| {
                asked += 1;
                reply.take(awb, asked - 1)
            });
            let raw = update.as_mut().map(|u| RawResponse {
                http_status: reply.http_status,
                body: clip(std::mem::take(&mut u.payload), raw_max_bytes),
            });
            plan_sync(before, update, raw, schedule, now)
        })
        .collect()
}

/// The snapshot after the store has carried out `sync`, with `sync` marked as moving the
/// order's version when it changes the tracking (a save that only moves the sync times leaves
/// a KV copy at the version D1 holds, as it is not rewritten for them).
pub fn settle(before: &Snapshot, sync: &mut OrderSync) -> Snapshot {
    let mut after = before.applied(sync);
    sync.moves_version = !after.same_tracking(before);
    after.order.version += u64::from(sync.moves_version);
    after
}

impl Snapshot {
    /// The snapshot after the store has carried out `sync`: what D1 now holds for the order,
    /// but for its version (see [`settle`]).
    pub fn applied(&self, sync: &OrderSync) -> Snapshot {
        let mut after = self.clone();
        for event in &sync.events {
            if !after
                .events
                .iter()
                .any(|e| e.identity() == event.identity())
            {
                after.events.push(event.clone());
            }
        }
        crate::sorting::sort_by_key(&mut after.events, |e| e.event_at);
        if sync.latest.is_some() {
            after.latest = sync.latest.clone();
        }
        sync.apply_to(&mut after.order);
        after
    }

    /// Whether what a customer sees differs, the sync times aside: the tracking a merge
    /// carries over from its base.
    pub fn same_tracking(&self, other: &Snapshot) -> bool {
        let (a, b) = (&self.order, &other.order);
        self.latest == other.latest
            && self.events == other.events
            && a.shipping_status == b.shipping_status
            && a.order_status == b.order_status
            && a.expected_delivery_date == b.expected_delivery_date
            && a.awb_no == b.awb_no
            // Customers are told when polling stopped.
            && a.polling_stopped_at == b.polling_stopped_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Location, test_order};
    use crate::rules::schedule::parse_backoff;
    use chrono::{Duration, TimeZone};

    fn schedule() -> CheckSchedule {
        CheckSchedule {
            moving: Duration::minutes(45),
            backoff: parse_backoff("1d=3h,2d=6h").unwrap(),
            give_up_after: Duration::days(30),
        }
    }

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 24, hour, 0, 0).unwrap()
    }

    fn event(status: Status, hour: u32, code: &str) -> TrackingEvent {
        TrackingEvent {
            awb_no: "111".into(),
            carrier_status: code.into(),
            status,
            description: code.into(),
            scan_code: code.into(),
            location: Location::default(),
            event_at: at(hour),
            place_key: String::new(),
        }
    }

    fn snapshot(latest: Option<TrackingEvent>) -> Snapshot {
        Snapshot {
            order: test_order(at(0)),
            events: latest.iter().cloned().collect(),
            latest,
        }
    }

    /// A plan names the version it was made from, which its save is checked against.
    #[test]
    fn a_plan_carries_the_version_it_was_made_from() {
        let mut before = snapshot(None);
        before.order.version = 7;
        assert_eq!(
            plan_sync(&before, None, None, &schedule(), at(1)).from_version,
            7
        );
    }

    #[test]
    fn the_newest_carrier_event_becomes_latest() {
        let incoming = [
            event(Status::InTransit, 3, "S/001"),
            event(Status::OutForDelivery, 5, "S/002"),
        ];
        let latest = choose_latest(None, &incoming).unwrap();
        assert_eq!(latest.status, Status::OutForDelivery);
    }

    #[test]
    fn any_carrier_event_supersedes_the_booked_entry_even_if_older() {
        let booked = TrackingEvent::booked("111", at(20));
        let incoming = [event(Status::InTransit, 3, "S/001")];
        assert_eq!(
            choose_latest(Some(&booked), &incoming).unwrap().status,
            Status::InTransit
        );
        assert_eq!(choose_latest(Some(&booked), &[]).unwrap(), booked);
    }

    #[test]
    fn an_older_scan_never_replaces_a_newer_latest() {
        let stored = event(Status::OutForDelivery, 9, "S/002");
        let late = [event(Status::InTransit, 4, "S/001")];
        assert_eq!(choose_latest(Some(&stored), &late).unwrap(), stored);
    }

    #[test]
    fn a_terminal_state_is_never_left() {
        let delivered = event(Status::Delivered, 9, "T/000");
        let newer_but_odd = [event(Status::InTransit, 11, "S/001")];
        assert_eq!(
            choose_latest(Some(&delivered), &newer_but_odd).unwrap(),
            delivered
        );
    }

    #[test]
    fn delivered_marks_the_order_delivered() {
        let update = CarrierUpdate {
            events: vec![
                event(Status::InTransit, 3, "S/001"),
                event(Status::Delivered, 9, "T/000"),
            ],
            expected_delivery: NaiveDate::from_ymd_opt(2026, 1, 24),
            payload: RawJson::default(),
        };
        let plan = plan_sync(&snapshot(None), Some(update), None, &schedule(), at(10));
        assert_eq!(plan.shipping_status, ShippingStatus::Delivered);
        assert_eq!(plan.order_status, "Delivered");
        assert_eq!(plan.latest.unwrap().status, Status::Delivered);
        assert_eq!(plan.expected_delivery, NaiveDate::from_ymd_opt(2026, 1, 24));
    }

    #[test]
    fn returns_and_losses_reach_their_own_end_states() {
        for (status, shipping) in [
            (Status::Returned, ShippingStatus::Returned),
            (Status::Lost, ShippingStatus::Lost),
        ] {
            let update = CarrierUpdate {
                events: vec![event(status, 9, "T/x")],
                expected_delivery: None,
                payload: RawJson::default(),
            };
            let plan = plan_sync(&snapshot(None), Some(update), None, &schedule(), at(10));
            assert_eq!(plan.shipping_status, shipping);
            assert_eq!(plan.order_status, "Shipped");
        }
    }

    #[test]
    fn nothing_new_leaves_statuses_and_the_latest_flag_alone() {
        let stored = event(Status::OutForDelivery, 9, "S/002");
        let update = CarrierUpdate {
            events: vec![stored.clone()],
            expected_delivery: None,
            payload: RawJson::default(),
        };
        let plan = plan_sync(
            &snapshot(Some(stored.clone())),
            Some(update),
            None,
            &schedule(),
            at(10),
        );
        assert_eq!(plan.latest, None);
        assert!(
            plan.events.is_empty(),
            "stored events are not planned again"
        );
        assert_eq!(plan.shipping_status, ShippingStatus::InTransit);
        let plan = plan_sync(
            &snapshot(Some(stored.clone())),
            None,
            None,
            &schedule(),
            at(10),
        );
        assert!(plan.events.is_empty());
        assert_eq!(plan.synced_at, at(10));
    }

    #[test]
    fn a_new_scan_restarts_the_schedule_and_silence_backs_it_off() {
        let stored = event(Status::InTransit, 3, "S/001");
        let mut before = snapshot(Some(stored.clone()));
        before.order.last_progress_at = Some(at(0) - Duration::days(3));
        before.order.polling_stopped_at = Some(at(0));
        // A new scan: checked again after the moving interval, and no longer stopped.
        let news = CarrierUpdate {
            events: vec![event(Status::OutForDelivery, 9, "S/002")],
            ..CarrierUpdate::default()
        };
        let plan = plan_sync(&before, Some(news), None, &schedule(), at(10));
        assert_eq!(plan.last_progress_at, Some(at(10)));
        assert_eq!(plan.next_check_at, Some(at(10) + Duration::minutes(45)));
        assert_eq!(plan.polling_stopped_at, None);
        // Nothing new for three days: the backoff step, progress left where it was.
        before.order.polling_stopped_at = None;
        let same = CarrierUpdate {
            events: vec![stored.clone()],
            ..CarrierUpdate::default()
        };
        let plan = plan_sync(&before, Some(same), None, &schedule(), at(10));
        assert_eq!(plan.last_progress_at, before.order.last_progress_at);
        assert_eq!(
            plan.next_check_at,
            Some(at(10) + Duration::hours(6) - Duration::minutes(15))
        );
        // Thirty days of silence (or of answers with nothing on the waybill): stopped.
        before.order.last_progress_at = Some(at(0) - Duration::days(30));
        let plan = plan_sync(&before, None, None, &schedule(), at(10));
        assert_eq!(plan.next_check_at, None);
        assert_eq!(plan.polling_stopped_at, Some(at(10)));
        let after = before.applied(&plan);
        let plan = plan_sync(&after, None, None, &schedule(), at(11));
        assert_eq!(
            plan.polling_stopped_at,
            Some(at(10)),
            "stopped once, not again"
        );
        // An end state is never checked again.
        let delivered = CarrierUpdate {
            events: vec![event(Status::Delivered, 9, "T/000")],
            ..CarrierUpdate::default()
        };
        let plan = plan_sync(&before, Some(delivered), None, &schedule(), at(10));
        assert_eq!((plan.next_check_at, plan.polling_stopped_at), (None, None));
    }

    #[test]
    fn each_order_of_a_batch_takes_the_update_at_its_own_place() {
        // A waybill asked for twice in one batch: each order is given the update at its place
        // in the reply, not the first one's twice.
        let update = |code| CarrierUpdate {
            events: vec![event(Status::InTransit, 3, code)],
            ..CarrierUpdate::default()
        };
        let reply = TrackingReply {
            http_status: 200,
            updates: vec![
                ("111".into(), Some(update("S/001"))),
                ("111".into(), Some(update("S/002"))),
            ],
        };
        let plans = plan_batch(
            &[snapshot(None), snapshot(None)],
            reply,
            1024,
            &schedule(),
            at(4),
        );
        let codes: Vec<&str> = plans
            .iter()
            .flat_map(|p| p.events.iter().map(|e| e.scan_code.as_str()))
            .collect();
        assert_eq!(codes, ["S/001", "S/002"]);
    }

    #[test]
    fn repeated_events_in_one_answer_are_planned_once() {
        let e = event(Status::InTransit, 3, "S/001");
        let update = CarrierUpdate {
            events: vec![e.clone(), e.clone()],
            expected_delivery: None,
            payload: RawJson::default(),
        };
        assert_eq!(
            plan_sync(&snapshot(None), Some(update), None, &schedule(), at(10)).events,
            vec![e]
        );
    }

    #[test]
    fn applying_a_plan_gives_what_the_store_then_holds() {
        let booked = TrackingEvent::booked("111", at(1));
        let before = snapshot(Some(booked.clone()));
        let update = CarrierUpdate {
            events: vec![
                event(Status::InTransit, 3, "S/001"),
                event(Status::Delivered, 9, "T/000"),
            ],
            expected_delivery: None,
            payload: RawJson::default(),
        };
        let plan = plan_sync(&before, Some(update), None, &schedule(), at(10));
        let after = before.applied(&plan);
        assert_eq!(after.events.len(), 3);
        assert_eq!(after.latest.as_ref().unwrap().status, Status::Delivered);
        assert_eq!(after.order.order_status, "Delivered");
        assert_eq!(after.order.last_synced_at, Some(at(10)));
        assert!(!after.same_tracking(&before));
        // A second identical answer changes only the sync time.
        let again = plan_sync(
            &after,
            Some(CarrierUpdate {
                events: after.events.clone(),
                ..CarrierUpdate::default()
            }),
            None,
            &schedule(),
            at(11),
        );
        let later = after.applied(&again);
        assert!(later.same_tracking(&after));
        assert_eq!(later.order.last_synced_at, Some(at(11)));
    }

    /// The order's shipping status follows the carrier when the latest event moves (to any
    /// status) and when it is an end state; an unchanged, open latest leaves it as it is.
    #[test]
    fn the_shipping_status_follows_a_moved_or_final_latest_only() {
        let mut before = snapshot(Some(event(Status::InTransit, 3, "S/001")));
        before.order.shipping_status = ShippingStatus::Pending;
        let plan_with = |before: &Snapshot, events: Vec<TrackingEvent>| {
            let update = CarrierUpdate {
                events,
                ..CarrierUpdate::default()
            };
            plan_sync(before, Some(update), None, &schedule(), at(12)).shipping_status
        };
        // Moved, to an open status.
        assert_eq!(
            plan_with(&before, vec![event(Status::OutForDelivery, 5, "S/002")]),
            ShippingStatus::InTransit
        );
        // Not moved, open: left as it was.
        assert_eq!(
            plan_with(&before, vec![event(Status::InTransit, 3, "S/001")]),
            ShippingStatus::Pending
        );
        // Not moved, final.
        before.latest = Some(event(Status::Returned, 3, "R/001"));
        assert_eq!(
            plan_with(&before, vec![event(Status::Returned, 3, "R/001")]),
            ShippingStatus::Returned
        );
    }

    /// The carrier's answer kept for admins is cut on a character boundary, never past `max`.
    #[test]
    fn a_kept_answer_is_cut_within_its_limit_on_a_character_boundary() {
        // `"naïve"`: "ï" takes bytes 3 and 4 of 8.
        let payload = RawJson::of("naïve");
        let cut = |max| clip(payload.clone(), max);
        assert_eq!(cut(4), RawBody::Cut("\"na".into()));
        assert_eq!(cut(5), RawBody::Cut("\"naï".into()));
        assert_eq!(cut(7), RawBody::Cut("\"naïve".into()));
        assert_eq!(cut(8), RawBody::Whole(payload.clone()));
        assert!(cut(7).is_truncated() && !cut(8).is_truncated());
        assert_eq!(cut(8).as_str(), "\"naïve\"");
    }
}
