//! The background sync, natively: batching, pauses, failures, end states, the per-run cap and
//! the budgets, with in-memory ports and Blue Dart answering in its own XML.

mod support;

use bluedart_sim::demo;
use bluedart_sim::demo::{delivered_in_kochi, scan};
use chrono::Duration;
use pollster::block_on;
use support::FakeBlueDart;
use tracking_core::carrier::CarrierError;
use tracking_core::model::{ShippingStatus, Status};
use tracking_core::rules::budget::{Budget, Spent};
use tracking_core::runs::{RunStatus, SyncRun, Trigger};
use tracking_core::service::sync::SyncSettings;
use tracking_core::testing::{FakeSleeper, FixedRandom, World};

struct SyncWorld {
    w: World<FakeBlueDart>,
    sync: SyncSettings,
}

impl std::ops::Deref for SyncWorld {
    type Target = World<FakeBlueDart>;
    fn deref(&self) -> &Self::Target {
        &self.w
    }
}

fn awb(n: usize) -> String {
    format!("7000000{n:04}")
}

impl SyncWorld {
    /// `count` shipped orders ORD-01…, each with an in-transit waybill Blue Dart knows.
    fn with_orders(count: usize) -> SyncWorld {
        let w = World::new(FakeBlueDart::with(
            (1..=count).map(|n| demo::in_transit(&awb(n), "")).collect(),
        ));
        for n in 1..=count {
            w.shipped(&format!("ORD-{n:02}"), &awb(n));
        }
        w.log.0.borrow_mut().clear();
        SyncWorld {
            w,
            sync: SyncSettings {
                batch_size: 10,
                delay_ms: 100,
                max_per_run: 1000,
                retries: 2,
                retry_base_ms: 500,
                retry_max_wait_secs: 30,
                budget: Budget {
                    subrequests: 1000,
                    d1_queries: 1000,
                    kv_operations: 1000,
                    wall_time: Duration::minutes(14),
                },
            },
        }
    }

    fn run(&self) -> (SyncRun, Vec<u64>) {
        let sleeper = FakeSleeper {
            clock: &self.clock,
            pauses: Default::default(),
        };
        // What this run spends, as a fresh invocation would count it.
        let measure = || Spent {
            subrequests: self.carrier.calls.borrow().len(),
            d1_queries: self.store.queries(),
            kv_operations: self.kv.reads.get() + self.kv.writes.get(),
        };
        let base = measure();
        let spent = || {
            let now = measure();
            Spent {
                subrequests: now.subrequests - base.subrequests,
                d1_queries: now.d1_queries - base.d1_queries,
                kv_operations: now.kv_operations - base.kv_operations,
            }
        };
        let run = block_on(self.service().sync_due(
            &self.sync,
            &sleeper,
            &FixedRandom(0),
            Trigger::Cron,
            spent,
        ));
        (run, sleeper.pauses.into_inner())
    }

    fn status(&self, order: &str) -> (Option<Status>, ShippingStatus, String) {
        let snapshot = block_on(self.service().load(order)).unwrap();
        let order = snapshot.order;
        (
            snapshot.latest.map(|l| l.status),
            order.shipping_status,
            order.order_status,
        )
    }
}

#[test]
fn twenty_five_shipments_in_batches_of_ten_make_three_calls_with_pauses() {
    let w = SyncWorld::with_orders(25);
    let (run, pauses) = w.run();
    let sizes: Vec<usize> = w.carrier.calls.borrow().iter().map(Vec::len).collect();
    assert_eq!(sizes, [10, 10, 5]);
    assert_eq!(
        w.carrier.calls.borrow()[0][0],
        awb(1),
        "oldest (never synced) first"
    );
    assert_eq!(
        pauses,
        [100, 100],
        "a pause between calls, none after the last"
    );
    assert_eq!(
        (run.considered, run.succeeded, run.failed, run.batches),
        (25, 25, 0, 3)
    );
    assert_eq!(run.status, RunStatus::Completed);
    for n in 1..=25 {
        let (latest, shipping, _) = w.status(&format!("ORD-{n:02}"));
        assert_eq!(latest, Some(Status::InTransit), "ORD-{n:02}");
        assert_eq!(shipping, ShippingStatus::InTransit);
    }
    assert_eq!(w.store.runs(), vec![run]);
}

#[test]
fn logs_say_what_the_run_did_in_the_agreed_form() {
    let w = SyncWorld::with_orders(3);
    w.carrier.shipments.borrow_mut()[1]
        .scans
        .push(delivered_in_kochi());
    w.run();
    let lines = w.log.lines();
    assert_eq!(lines[0], "[TRACKING SYNC] Starting background sync...");
    assert_eq!(lines[1], "[TRACKING SYNC] Syncing 3 shipments...");
    assert!(lines.contains(&format!("[TRACKING SAVED] AWB {} tracking updated", awb(1))));
    assert!(lines.contains(&"[TRACKING SYNC] Order ORD-02 marked as delivered".to_owned()));
    assert_eq!(
        lines.last().unwrap(),
        "[TRACKING SYNC] Completed: 3 success, 0 failed"
    );
}

#[test]
fn a_failing_batch_changes_nothing_for_its_orders_and_the_others_go_through() {
    let w = SyncWorld::with_orders(25);
    // The second batch fails on its call and on both retries.
    for call in 2..=4 {
        w.carrier
            .failures
            .borrow_mut()
            .insert(call, CarrierError::Unavailable { status: 500 });
    }
    let before: Vec<_> = (11..=20)
        .map(|n| block_on(w.service().load(&format!("ORD-{n:02}"))).unwrap())
        .collect();
    let (run, _) = w.run();
    assert_eq!((run.succeeded, run.failed, run.batches), (15, 10, 3));
    assert_eq!(run.failures.len(), 1);
    assert_eq!(run.failures[0].batch, 2);
    assert_eq!(
        run.failures[0].reason,
        "Blue Dart is unavailable (HTTP 500)"
    );
    assert_eq!(run.failures[0].order_ids[0], "ORD-11");
    for (n, before) in (11..=20).zip(before) {
        let id = format!("ORD-{n:02}");
        assert_eq!(w.store.order(&id).unwrap(), before.order, "{id} untouched");
        assert_eq!(
            block_on(w.service().load(&id)).unwrap(),
            before,
            "{id} untouched"
        );
    }
    assert_eq!(w.status("ORD-21").0, Some(Status::InTransit));
    assert!(
        w.log
            .lines()
            .contains(&"WARN [TRACKING SYNC] Batch 2 failed (10 shipments): Blue Dart is unavailable (HTTP 500)".to_owned())
    );
    assert_eq!(
        w.log.lines().last().unwrap(),
        "[TRACKING SYNC] Completed: 15 success, 10 failed"
    );
}

#[test]
fn delivered_returned_and_lost_shipments_reach_their_end_states_and_leave_the_set() {
    let w = SyncWorld::with_orders(4);
    {
        let mut shipments = w.carrier.shipments.borrow_mut();
        shipments[0].scans.push(delivered_in_kochi());
        shipments[1].scans.push(scan(
            "SHIPMENT LOST",
            "T",
            "021",
            "DL",
            "2026-01-24 14:05",
            "KOCHI/COK",
        ));
        shipments[2].scans.push(scan(
            "RETURNED TO SHIPPER",
            "T",
            "118",
            "DL",
            "2026-01-28 11:45",
            "PUNE/PNQ",
        ));
    }
    w.run();
    assert_eq!(
        w.status("ORD-01"),
        (
            Some(Status::Delivered),
            ShippingStatus::Delivered,
            "Delivered".into()
        )
    );
    assert_eq!(
        w.status("ORD-02"),
        (Some(Status::Lost), ShippingStatus::Lost, "Shipped".into())
    );
    assert_eq!(
        w.status("ORD-03"),
        (
            Some(Status::Returned),
            ShippingStatus::Returned,
            "Shipped".into()
        )
    );
    assert_eq!(w.status("ORD-04").1, ShippingStatus::InTransit);

    w.clock.advance(Duration::hours(1));
    let (run, _) = w.run();
    assert_eq!(run.considered, 1);
    assert_eq!(w.carrier.calls.borrow().last().unwrap(), &vec![awb(4)]);
}

#[test]
fn syncing_again_without_news_adds_nothing() {
    let w = SyncWorld::with_orders(12);
    w.run();
    let rows = w.store.event_rows();
    let kv_entries = w.kv.entries.borrow().clone();
    let kv_writes = w.kv.writes.get();
    w.log.0.borrow_mut().clear();
    w.clock.advance(Duration::hours(1));
    let (run, _) = w.run();
    assert_eq!(run.succeeded, 12);
    assert_eq!(w.store.event_rows(), rows);
    assert_eq!(*w.kv.entries.borrow(), kv_entries);
    assert_eq!(
        w.kv.writes.get(),
        kv_writes,
        "nothing changed, so KV is not rewritten"
    );
    assert!(!w.log.lines().iter().any(|l| l.contains("[TRACKING SAVED]")));
}

#[test]
fn recently_synced_shipments_are_not_due() {
    let w = SyncWorld::with_orders(5);
    w.run();
    w.clock.advance(Duration::minutes(30));
    let (run, _) = w.run();
    assert_eq!(run.considered, 0);
    assert_eq!(w.carrier.calls.borrow().len(), 1);
}

#[test]
fn the_per_run_cap_takes_the_oldest_first_and_the_next_run_continues() {
    let mut w = SyncWorld::with_orders(25);
    w.sync.max_per_run = 10;
    let mut seen: Vec<String> = Vec::new();
    for _ in 0..3 {
        let calls_before = w.carrier.calls.borrow().len();
        let (run, _) = w.run();
        assert!(run.considered <= 10);
        for call in &w.carrier.calls.borrow()[calls_before..] {
            seen.extend(call.iter().cloned());
        }
        w.clock.advance(Duration::minutes(5));
    }
    let expected: Vec<String> = (1..=25).map(awb).collect();
    assert_eq!(
        seen, expected,
        "every shipment once, oldest first, none starved"
    );

    // An hour later the first ten are the oldest again.
    w.clock.advance(Duration::hours(1));
    let before = w.carrier.calls.borrow().len();
    w.run();
    assert_eq!(w.carrier.calls.borrow()[before][0], awb(1));
}

#[test]
fn a_run_stops_before_a_budget_would_be_exceeded_and_the_rest_waits() {
    let mut w = SyncWorld::with_orders(25);
    w.sync.budget.d1_queries = 16;
    let (run, _) = w.run();
    assert_eq!(run.status, RunStatus::Stopped);
    let reason = run.stop_reason.clone().unwrap();
    assert!(
        reason.starts_with("D1 query budget (16) would be exceeded"),
        "{reason}"
    );
    assert!(run.d1_queries <= 16, "spent {}", run.d1_queries);
    assert!(run.succeeded > 0 && run.succeeded < 25);
    assert!(reason.ends_with(&format!(
        "{} shipments left for the next run",
        25 - run.succeeded
    )));
    assert!(
        w.log
            .lines()
            .iter()
            .any(|l| l.starts_with("WARN [TRACKING SYNC] Stopping early: D1 query budget"))
    );

    let done = run.succeeded;
    w.sync.budget.d1_queries = 1000;
    let before = w.carrier.calls.borrow().len();
    let (second, _) = w.run();
    assert_eq!(second.considered, 25 - done, "the next run takes the rest");
    assert_eq!(w.carrier.calls.borrow()[before][0], awb(done + 1));
}

#[test]
fn the_wall_time_budget_counts_the_pauses() {
    let mut w = SyncWorld::with_orders(25);
    w.sync.delay_ms = 30_000;
    w.sync.budget.wall_time = Duration::seconds(45);
    let (run, pauses) = w.run();
    assert_eq!(run.status, RunStatus::Stopped);
    assert_eq!(pauses, [30_000]);
    assert_eq!(run.batches, 2);
    assert!(
        run.stop_reason
            .unwrap()
            .starts_with("wall-time budget (45 s) would be exceeded")
    );
}

#[test]
fn a_manual_sync_is_recorded_as_a_run_of_one() {
    let w = SyncWorld::with_orders(2);
    let summary = block_on(
        w.service()
            .sync_order("ORD-02", Trigger::Manual, Spent::default),
    )
    .unwrap();
    assert!(summary.changed);
    let runs = w.store.runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].trigger, runs[0].considered, runs[0].succeeded),
        (Trigger::Manual, 1, 1)
    );
    assert_eq!(
        runs[0].status,
        RunStatus::Completed,
        "a manual run that ran is completed"
    );
    assert!(runs[0].finished_at.is_some());
    assert_eq!(w.carrier.calls.borrow()[0], vec![awb(2)]);
}

#[test]
fn a_transient_failure_is_retried_after_a_jittered_backoff() {
    let w = SyncWorld::with_orders(25);
    w.carrier
        .failures
        .borrow_mut()
        .insert(2, CarrierError::Timeout { ms: 5000 });
    let (run, pauses) = w.run();
    assert_eq!((run.succeeded, run.failed), (25, 0));
    let sizes: Vec<usize> = w.carrier.calls.borrow().iter().map(Vec::len).collect();
    assert_eq!(sizes, [10, 10, 10, 5], "the second batch was tried twice");
    // FixedRandom(0): the jitter's random half is zero, so the first retry waits half the base.
    assert_eq!(pauses, [100, 250, 100]);
    assert!(w.log.lines().contains(
        &"WARN [TRACKING SYNC] Batch 2 attempt 1 failed: Blue Dart did not answer within 5000 ms; retrying in 250 ms"
            .to_owned()
    ));
}

#[test]
fn configuration_problems_are_not_retried() {
    let w = SyncWorld::with_orders(5);
    w.carrier
        .failures
        .borrow_mut()
        .insert(1, CarrierError::Licence);
    let (run, pauses) = w.run();
    assert_eq!(run.failed, 5);
    assert_eq!(w.carrier.calls.borrow().len(), 1);
    assert!(pauses.is_empty());
}

#[test]
fn retries_honour_retry_after_unless_it_is_too_long() {
    let w = SyncWorld::with_orders(5);
    w.carrier.failures.borrow_mut().insert(
        1,
        CarrierError::Throttled {
            retry_after_secs: Some(7),
        },
    );
    let (run, pauses) = w.run();
    assert_eq!(run.succeeded, 5);
    assert_eq!(pauses, [7_000]);

    let w = SyncWorld::with_orders(5);
    w.carrier.failures.borrow_mut().insert(
        1,
        CarrierError::Throttled {
            retry_after_secs: Some(120),
        },
    );
    let (run, pauses) = w.run();
    assert_eq!(
        run.failed, 5,
        "asked to wait longer than SYNC_RETRY_MAX_WAIT_SECONDS"
    );
    assert!(pauses.is_empty());
}

#[test]
fn backoff_doubles_with_jitter_and_respects_retry_after() {
    use tracking_core::rules::budget::backoff_ms;
    assert_eq!(backoff_ms(0, 500, 0, None), 250);
    assert_eq!(backoff_ms(0, 500, 250, None), 500);
    assert_eq!(backoff_ms(1, 500, 0, None), 500);
    assert_eq!(backoff_ms(2, 500, 1_000_000, None), 1000 + 1_000_000 % 1001);
    for random in [0, 1, 77, u64::MAX] {
        let wait = backoff_ms(3, 500, random, None);
        assert!((2000..=4000).contains(&wait), "{wait}");
    }
    assert_eq!(backoff_ms(0, 500, 0, Some(3)), 3000);
}

#[test]
fn blue_darts_own_error_text_reaches_the_log_but_not_the_run_record() {
    let w = SyncWorld::with_orders(3);
    w.carrier.failures.borrow_mut().insert(
        1,
        CarrierError::Message("Service temporarily suspended".into()),
    );
    let (run, _) = w.run();
    assert_eq!(run.failures[0].reason, "Blue Dart reported an error");
    assert!(w.log.lines().contains(
        &"WARN [TRACKING SYNC] Batch 1 failed (3 shipments): Blue Dart reported an error: Service temporarily suspended"
            .to_owned()
    ));
}
