//! The rules at their edges: where `>=` and `>` differ, which limit is checked, which of two
//! equally recent events wins. Each test here was written against a deliberate bug that no
//! other test noticed (cargo-mutants; issue 18).

use chrono::{DateTime, Duration, TimeZone, Utc};
use tracking_core::model::{Location, Status, TrackingEvent};
use tracking_core::rules::budget::{
    Budget, RUN_RECORD_QUERIES, Spent, WEBHOOK_DISPATCH, limit_in_the_way,
};
use tracking_core::rules::merge::choose_latest;

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 24, hour, 0, 0).unwrap()
}

fn event(status: Status, hour: u32, code: &str, description: &str) -> TrackingEvent {
    TrackingEvent {
        awb_no: "81234567890".into(),
        carrier_status: description.into(),
        status,
        description: description.into(),
        scan_code: code.into(),
        location: Location::default(),
        event_at: at(hour),
        place_key: String::new(),
    }
}

#[test]
fn of_two_equally_recent_events_the_later_listed_wins() {
    // Blue Dart lists scans oldest first; two at the same minute are told apart by order.
    let first = event(Status::InTransit, 5, "S/001", "ARRIVED AT HUB");
    let second = event(Status::OutForDelivery, 5, "S/002", "OUT FOR DELIVERY");
    assert_eq!(
        choose_latest(None, &[first.clone(), second.clone()]),
        Some(second.clone())
    );
    assert_eq!(
        choose_latest(None, &[second.clone(), first.clone()]),
        Some(first.clone())
    );
    // An incoming event as recent as the stored latest replaces it.
    assert_eq!(
        choose_latest(Some(&first), std::slice::from_ref(&second)),
        Some(second)
    );
}

fn budget() -> Budget {
    Budget {
        subrequests: 50,
        d1_queries: 50,
        kv_operations: 100,
        wall_time: Duration::minutes(14),
    }
}

fn check(spent: Spent, next: Spent) -> Option<String> {
    limit_in_the_way(&budget(), spent, next, Duration::zero(), Duration::zero())
}

#[test]
fn the_subrequest_limit_stops_a_batch_that_would_pass_it_and_only_such_a_batch() {
    let next = Spent {
        subrequests: 4,
        ..Spent::default()
    };
    // The send of the webhook deliveries after the batches is reserved for.
    let at_limit = Spent {
        subrequests: 50 - 4 - WEBHOOK_DISPATCH.queue_sends,
        ..Spent::default()
    };
    assert_eq!(
        check(at_limit, next),
        None,
        "exactly at the limit is allowed"
    );
    let over = Spent {
        subrequests: 50 - 4 - WEBHOOK_DISPATCH.queue_sends + 1,
        ..Spent::default()
    };
    assert_eq!(
        check(over, next),
        Some("subrequest budget (50) would be exceeded".into())
    );
}

#[test]
fn the_kv_limit_stops_a_batch_that_would_pass_it_and_only_such_a_batch() {
    let next = Spent {
        kv_operations: 12,
        ..Spent::default()
    };
    let at_limit = Spent {
        kv_operations: 88,
        ..Spent::default()
    };
    assert_eq!(
        check(at_limit, next),
        None,
        "exactly at the limit is allowed"
    );
    let over = Spent {
        kv_operations: 89,
        ..Spent::default()
    };
    assert_eq!(
        check(over, next),
        Some("KV operation budget (100) would be exceeded".into())
    );
}

#[test]
fn the_d1_limit_keeps_the_run_record_and_the_webhook_dispatch_back() {
    let next = Spent {
        d1_queries: 8,
        ..Spent::default()
    };
    let fits = Spent {
        d1_queries: 50 - 8 - RUN_RECORD_QUERIES - WEBHOOK_DISPATCH.d1_queries,
        ..Spent::default()
    };
    assert_eq!(check(fits, next), None);
    let one_more = Spent {
        d1_queries: 50 - 8 - RUN_RECORD_QUERIES - WEBHOOK_DISPATCH.d1_queries + 1,
        ..Spent::default()
    };
    assert_eq!(
        check(one_more, next),
        Some("D1 query budget (50) would be exceeded".into())
    );
}

#[test]
fn the_wall_time_limit_counts_the_next_batch_and_allows_exactly_the_limit() {
    let b = budget();
    let none = Spent::default();
    assert_eq!(
        limit_in_the_way(&b, none, none, Duration::minutes(13), Duration::minutes(1)),
        None
    );
    assert_eq!(
        limit_in_the_way(
            &b,
            none,
            none,
            Duration::minutes(13),
            Duration::minutes(1) + Duration::seconds(1)
        ),
        Some("wall-time budget (840 s) would be exceeded".into())
    );
}
