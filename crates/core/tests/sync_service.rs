//! The hourly sync on the queues, natively: the producer's messages, the consumers' calls and
//! pauses, retries, splits and the dead-letter queue, end states, the per-run cap and the
//! budgets, with in-memory ports and queues and Blue Dart answering in its own XML.

use std::cell::RefCell;

use crate::support::{FakeBlueDart, Meanwhile, status_update};
use bluedart_sim::demo;
use bluedart_sim::demo::{delivered_in_kochi, scan};
use chrono::Duration;
use pollster::block_on;
use tracking_core::carrier::CarrierError;
use tracking_core::model::{ShippingStatus, Status};
use tracking_core::ports::OrderStore;
use tracking_core::queue::{Lane, Verdict};
use tracking_core::rules::budget::{Budget, Spent};
use tracking_core::runs::{RunStatus, SyncRun, Trigger};
use tracking_core::service::queue::ENQUEUE_LEASE;
use tracking_core::service::sync::SyncSettings;
use tracking_core::testing::{MemoryQueues, World};

struct SyncWorld {
    w: World<FakeBlueDart>,
    sync: SyncSettings,
    queues: MemoryQueues,
    /// Messages per consumer invocation (`max_batch_size`).
    consumer_batch: usize,
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
                budget: Budget {
                    subrequests: 1000,
                    d1_queries: 1000,
                    kv_operations: 1000,
                    wall_time: Duration::minutes(14),
                },
            },
            queues: MemoryQueues::default(),
            consumer_batch: 5,
        }
    }

    /// What has been spent so far, all invocations together.
    fn measure(&self) -> Spent {
        Spent {
            subrequests: self.carrier.calls.borrow().len(),
            d1_queries: self.store.queries(),
            kv_operations: self.kv.reads.get() + self.kv.writes.get(),
            queue_sends: self.queues.sends.get(),
        }
    }

    /// A cron firing and the queues drained: the run as recorded, and the pauses consumers made.
    fn run(&self) -> (SyncRun, Vec<u64>) {
        let pauses = RefCell::new(Vec::new());
        let run = self.queued_sync(
            &self.sync,
            &self.queues,
            self.consumer_batch,
            &pauses,
            || self.measure(),
        );
        (run, pauses.into_inner())
    }

    /// The cron's producer alone.
    fn produce(&self) -> SyncRun {
        block_on(
            self.service()
                .enqueue_due(&self.sync, &self.queues, || self.measure()),
        )
    }

    fn drain(&self) -> Vec<u64> {
        let pauses = RefCell::new(Vec::new());
        self.w.drain(
            &self.sync,
            &self.queues,
            self.consumer_batch,
            &pauses,
            &|| self.measure(),
        );
        pauses.into_inner()
    }

    /// The messages waiting on the queues, oldest first.
    fn waiting(&self) -> Vec<tracking_core::queue::SyncMessage> {
        self.queues
            .waiting
            .borrow()
            .iter()
            .map(|m| m.message.clone())
            .collect()
    }

    /// One consumer invocation of the sync lane handed `messages`, outside any drain.
    fn consume_once(&self, messages: &[tracking_core::queue::SyncMessage]) -> Vec<Verdict> {
        self.consume_with(&self.carrier, messages)
    }

    /// [`Self::consume_once`], talking to `carrier`.
    fn consume_with<D: tracking_core::carrier::Carrier>(
        &self,
        carrier: &D,
        messages: &[tracking_core::queue::SyncMessage],
    ) -> Vec<Verdict> {
        block_on(self.w.service_with(carrier).consume(
            Lane::Sync,
            messages,
            &self.sync,
            &tracking_core::testing::FakeSleeper {
                clock: &self.clock,
                pauses: Default::default(),
            },
            &tracking_core::testing::FixedRandom(0),
            &self.queues,
            Spent::default,
        ))
    }

    fn sizes(&self) -> Vec<usize> {
        self.carrier.calls.borrow().iter().map(Vec::len).collect()
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
fn twenty_five_shipments_go_out_as_three_messages_and_three_calls_with_pauses() {
    let w = SyncWorld::with_orders(25);
    let (run, pauses) = w.run();
    assert_eq!(w.sizes(), [10, 10, 5]);
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
        (
            run.enqueued,
            run.succeeded,
            run.failed,
            run.skipped,
            run.batches
        ),
        (25, 25, 0, 0, 3)
    );
    assert_eq!(run.status, RunStatus::Completed);
    assert!(run.finished_at.is_some());
    assert_eq!(run.invocations, 2, "the producer and one consumer");
    assert_eq!(run.carrier_calls, 3);
    assert_eq!(run.busiest_invocation.subrequests, 3);
    assert_eq!(w.queues.messages_sent.get(), 3);
    for n in 1..=25 {
        let (latest, shipping, _) = w.status(&format!("ORD-{n:02}"));
        assert_eq!(latest, Some(Status::InTransit), "ORD-{n:02}");
        assert_eq!(shipping, ShippingStatus::InTransit);
    }
    assert_eq!(w.store.runs(), vec![run]);
}

#[test]
fn a_run_stays_running_until_its_last_message_is_consumed() {
    let w = SyncWorld::with_orders(12);
    let produced = w.produce();
    assert_eq!(produced.status, RunStatus::Running);
    assert_eq!(produced.finished_at, None);
    assert_eq!((produced.enqueued, produced.batches), (12, 2));
    assert_eq!(w.store.runs()[0].status, RunStatus::Running);
    w.drain();
    let run = &w.store.runs()[0];
    assert_eq!((run.status, run.succeeded), (RunStatus::Completed, 12));
    assert!(run.finished_at.is_some());
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
    assert_eq!(
        lines[2],
        "[TRACKING SYNC] Enqueued 3 shipments in 1 messages"
    );
    assert!(lines.contains(&format!("[TRACKING SAVED] AWB {} tracking updated", awb(1))));
    assert!(lines.contains(&"[TRACKING SYNC] Order ORD-02 marked as delivered".to_owned()));
    assert!(
        lines.contains(
            &"[TRACKING SYNC] Call 1: 3 of 3 shipments synced, the rest already synced or gone"
                .to_owned()
        )
    );
    assert_eq!(
        lines.last().unwrap(),
        "[TRACKING SYNC] Completed: 3 success, 0 failed"
    );
}

#[test]
fn a_poison_waybill_is_split_out_and_dead_lettered_alone() {
    let w = SyncWorld::with_orders(25);
    w.carrier.poison.borrow_mut().push(awb(13));
    let before = block_on(w.service().load("ORD-13")).unwrap();
    let (run, _) = w.run();
    assert_eq!(
        (run.succeeded, run.failed, run.dead_lettered, run.status),
        (24, 1, 1, RunStatus::Completed)
    );
    assert_eq!(run.failures.len(), 1);
    assert_eq!(run.failures[0].order_ids, ["ORD-13"]);
    assert_eq!(
        run.failures[0].reason,
        "Blue Dart is unavailable (HTTP 500)"
    );
    let dead = w.queues.dead.borrow();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].orders, ["ORD-13"]);
    // Every other waybill went through in a call without the poison, exactly once.
    let calls = w.carrier.calls.borrow();
    for n in (1..=25).filter(|n| *n != 13) {
        let good = calls
            .iter()
            .filter(|c| c.contains(&awb(n)) && !c.contains(&awb(13)))
            .count();
        assert_eq!(good, 1, "{}", awb(n));
    }
    // Three tries of the whole message, halving 10 → 5 → 3 → 1, three tries alone.
    let poisoned: Vec<usize> = calls
        .iter()
        .filter(|c| c.contains(&awb(13)))
        .map(Vec::len)
        .collect();
    assert_eq!(poisoned, [10, 10, 10, 5, 3, 1, 1, 1]);
    drop(calls);
    let order = w.store.order("ORD-13").unwrap();
    assert_eq!(
        order.last_sync_error.as_deref(),
        Some("Blue Dart is unavailable (HTTP 500)")
    );
    assert!(
        order.next_check_at.unwrap() > w.clock.0.get(),
        "its next check backs off"
    );
    assert_eq!(order.last_synced_at, before.order.last_synced_at);
    assert_eq!(
        block_on(w.service().load("ORD-13")).unwrap().events,
        before.events
    );
    assert!(w.log.lines().iter().any(|l| l.starts_with(
        "WARN [TRACKING SYNC] Order ORD-13 dead-lettered after 3 attempts: Blue Dart is unavailable (HTTP 500)"
    )));
    // The next firing leaves it alone until its backed-off check comes.
    w.clock.advance(Duration::minutes(50));
    let next = w.produce();
    assert_eq!(next.enqueued, 24);
}

#[test]
fn a_second_firing_before_the_queue_drains_enqueues_nothing_twice() {
    let w = SyncWorld::with_orders(12);
    assert_eq!(w.produce().enqueued, 12);
    w.clock.advance(Duration::hours(1));
    assert_eq!(w.produce().enqueued, 0, "still on the queue");
    // A message lost for longer than the lease: its shipments are taken again.
    w.clock.advance(ENQUEUE_LEASE);
    assert_eq!(w.produce().enqueued, 12);
    // The runs whose messages were lost stay `running` for admins to see (README: "running:
    // still going, or the invocation died"); they block nothing.
    let runs: Vec<(RunStatus, usize, bool)> = w
        .store
        .runs()
        .iter()
        .map(|r| (r.status, r.enqueued, r.finished_at.is_some()))
        .collect();
    assert_eq!(
        runs,
        [
            (RunStatus::Running, 12, false),
            (RunStatus::Completed, 0, true),
            (RunStatus::Running, 12, false),
        ]
    );
}

#[test]
fn a_redelivered_message_is_skipped_without_a_call() {
    let w = SyncWorld::with_orders(4);
    w.produce();
    let message = w.queues.waiting.borrow()[0].message.clone();
    w.drain();
    assert_eq!(w.sizes(), [4]);
    // The platform delivers the same message again.
    w.consume_once(std::slice::from_ref(&message));
    assert_eq!(w.sizes(), [4], "no second call");
    let run = &w.store.runs()[0];
    assert_eq!((run.succeeded, run.skipped), (4, 4));
}

#[test]
fn a_failed_send_releases_the_shipments_for_the_next_firing() {
    let w = SyncWorld::with_orders(3);
    w.queues.failing.set(true);
    let run = w.produce();
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(
        run.stop_reason.as_deref(),
        Some("could not send to the sync queue")
    );
    w.queues.failing.set(false);
    assert_eq!(w.produce().enqueued, 3, "released, not leased");
}

#[test]
fn background_refreshes_are_combined_into_batched_calls() {
    let w = SyncWorld::with_orders(12);
    for n in 1..=12 {
        block_on(
            w.service()
                .enqueue_refresh(&format!("ORD-{n:02}"), &w.queues),
        )
        .unwrap();
    }
    assert!(
        w.queues
            .waiting
            .borrow()
            .iter()
            .all(|m| m.lane == Lane::Refresh)
    );
    let mut w = w;
    w.consumer_batch = 100;
    w.drain();
    assert_eq!(w.sizes(), [10, 2], "twelve refreshes, two calls");
    let runs = w.store.runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (
            runs[0].trigger,
            runs[0].status,
            runs[0].succeeded,
            runs[0].batches
        ),
        (Trigger::Background, RunStatus::Completed, 12, 12)
    );
}

#[test]
fn a_transient_failure_is_retried_through_the_queue_after_a_backoff() {
    let w = SyncWorld::with_orders(25);
    w.carrier
        .failures
        .borrow_mut()
        .insert(2, CarrierError::Timeout { ms: 5000 });
    let produced = w.produce();
    assert!(produced.id.is_some());
    let pauses = w.drain();
    let run = &w.store.runs()[0];
    assert_eq!((run.succeeded, run.failed, run.retried), (25, 0, 1));
    assert_eq!(
        w.sizes(),
        [10, 10, 5, 10],
        "the second message came back last"
    );
    assert_eq!(pauses, [100, 100]);
    assert!(w.log.lines().contains(
        &"WARN [TRACKING SYNC] Message of 10 shipments failed: Blue Dart did not answer within 5000 ms; retried"
            .to_owned()
    ));
}

#[test]
fn configuration_problems_are_split_at_once_not_retried() {
    let w = SyncWorld::with_orders(5);
    w.carrier
        .failures
        .borrow_mut()
        .insert(1, CarrierError::Licence);
    let (run, _) = w.run();
    assert_eq!(w.sizes(), [5, 2, 3]);
    assert_eq!((run.succeeded, run.retried), (5, 1));
}

#[test]
fn retries_wait_as_long_as_blue_dart_asks() {
    let w = SyncWorld::with_orders(5);
    w.carrier.failures.borrow_mut().insert(
        1,
        CarrierError::Throttled {
            retry_after_secs: Some(120),
        },
    );
    let start = w.clock.0.get();
    let (run, _) = w.run();
    assert_eq!(run.succeeded, 5);
    assert!(w.clock.0.get() - start >= Duration::seconds(120));
}

#[test]
fn an_open_circuit_hands_the_messages_back_for_after_the_cool_down() {
    let w = SyncWorld::with_orders(25);
    w.carrier.failures.borrow_mut().insert(
        2,
        CarrierError::CircuitOpen {
            retry_after_secs: 60,
        },
    );
    let start = w.clock.0.get();
    let (run, _) = w.run();
    assert_eq!(
        (run.succeeded, run.failed, run.retried, run.handed_back),
        (25, 0, 0, 2)
    );
    assert!(w.clock.0.get() - start >= Duration::seconds(60));
    assert!(
        w.log.lines().contains(
            &"WARN [TRACKING SYNC] 2 messages handed back for later: Blue Dart's circuit is open"
                .to_owned()
        )
    );
}

#[test]
fn blue_darts_own_error_text_reaches_the_log_but_not_the_run_record() {
    let w = SyncWorld::with_orders(1);
    for call in 1..=3 {
        w.carrier.failures.borrow_mut().insert(
            call,
            CarrierError::Message("Service temporarily suspended".into()),
        );
    }
    let (run, _) = w.run();
    assert_eq!(run.failures[0].reason, "Blue Dart reported an error");
    assert!(
        w.log
            .lines()
            .iter()
            .any(|l| l.ends_with("Blue Dart reported an error: Service temporarily suspended"))
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
fn a_consumer_hands_back_what_its_budget_cannot_cover_and_the_next_invocation_takes_it() {
    let mut w = SyncWorld::with_orders(25);
    w.sync.budget.d1_queries = 15;
    let (run, _) = w.run();
    assert_eq!((run.status, run.succeeded), (RunStatus::Completed, 25));
    assert!(
        run.busiest_invocation.d1_queries <= 15,
        "spent {:?}",
        run.busiest_invocation
    );
    assert_eq!(
        run.invocations, 4,
        "the producer and a consumer per call: {run:?}"
    );
    assert!(
        w.log
            .lines()
            .iter()
            .any(|l| l.starts_with("WARN [TRACKING SYNC] ")
                && l.contains(
                    "messages handed back for later: D1 query budget (15) would be exceeded"
                ))
    );
    assert_eq!(w.sizes(), [10, 10, 5], "nothing called twice");
    assert_eq!(
        w.queues.messages_sent.get(),
        3 + 2 + 1,
        "handed back by resending (the platform's retries would count towards max_retries)"
    );
    assert_eq!(
        (run.handed_back, run.retried),
        (2 + 1, 0),
        "counted as handed back, not as retried"
    );
    assert!(
        w.log.lines().contains(
            &"[TRACKING SYNC] Completed: 10 success, 0 failed, 2 messages handed back".to_owned()
        ),
        "{:?}",
        w.log.lines()
    );
}

#[test]
fn the_wall_time_budget_counts_the_pauses() {
    let mut w = SyncWorld::with_orders(25);
    w.sync.delay_ms = 30_000;
    w.sync.budget.wall_time = Duration::seconds(45);
    let (run, pauses) = w.run();
    assert_eq!((run.status, run.succeeded), (RunStatus::Completed, 25));
    assert_eq!(
        pauses,
        [30_000],
        "two calls in the first invocation, one in the next"
    );
    assert_eq!(run.invocations, 3);
}

#[test]
fn the_producer_stops_before_its_own_budget_and_the_rest_waits() {
    let mut w = SyncWorld::with_orders(25);
    w.sync.batch_size = 1;
    w.sync.budget.subrequests = 0;
    let run = w.produce();
    assert_eq!(run.status, RunStatus::Failed);
    assert!(
        run.stop_reason
            .unwrap()
            .starts_with("subrequest budget (0) would be exceeded")
    );
    assert!(w.queues.waiting.borrow().is_empty());
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
    assert_eq!(runs[0].batches, 1);
    assert_eq!(w.carrier.calls.borrow()[0], vec![awb(2)]);
}

/// A manual sync Blue Dart fails is a run of one failed batch, numbered from one.
#[test]
fn a_failed_manual_sync_is_recorded_as_one_failed_batch() {
    let w = SyncWorld::with_orders(1);
    w.carrier
        .failures
        .borrow_mut()
        .insert(1, CarrierError::Unavailable { status: 503 });
    let result = block_on(
        w.service()
            .sync_order("ORD-01", Trigger::Manual, Spent::default),
    );
    assert!(result.is_err());
    let run = &w.store.runs()[0];
    assert_eq!(
        (run.batches, run.succeeded, run.failed),
        (1, 0, 1),
        "{run:?}"
    );
    assert_eq!(run.failures.len(), 1);
    assert_eq!(
        (run.failures[0].batch, run.failures[0].order_ids.clone()),
        (1, vec!["ORD-01".to_owned()])
    );
}

/// The producer sends a hundred messages per send and asks D1 for a page of shipments at a
/// time; a page that comes back short ends the run, and the per-run cap holds across pages.
#[test]
fn the_producer_takes_pages_of_a_hundred_messages_until_one_comes_back_short() {
    // Budgets out of the way: the set-up's own D1 queries count in `measure`.
    let roomy = |w: &mut SyncWorld| {
        w.sync.batch_size = 1;
        w.sync.budget.d1_queries = 100_000;
        w.sync.budget.kv_operations = 100_000;
    };
    let mut w = SyncWorld::with_orders(200);
    roomy(&mut w);
    w.sync.max_per_run = 150;
    let capped = w.produce();
    assert_eq!((capped.enqueued, capped.batches), (150, 150));
    assert_eq!(w.queues.sends.get(), 2, "100 + 50 messages");
    assert_eq!(w.store.count("take_due"), 2, "no third look at the cap");

    w.sync.max_per_run = 1000;
    let rest = w.produce();
    assert_eq!(rest.enqueued, 50, "the 50 left, in one short page");
    assert_eq!(w.store.count("take_due"), 3);

    let mut w = SyncWorld::with_orders(150);
    roomy(&mut w);
    let run = w.produce();
    assert_eq!(run.enqueued, 150);
    assert_eq!(w.queues.sends.get(), 2, "a page is 100 messages");
    assert_eq!(
        w.store.count("take_due"),
        2,
        "the short second page ends it"
    );
}

/// A page of the producer costs two D1 queries (take, release on failure) and a send, with
/// the run's record and the webhook dispatch kept back: a budget one short stops it.
#[test]
fn the_producer_counts_a_page_as_two_queries_and_a_send() {
    let produce_with = |d1_queries: usize, subrequests: usize| {
        let mut w = SyncWorld::with_orders(3);
        w.sync.budget.d1_queries = d1_queries;
        w.sync.budget.subrequests = subrequests;
        block_on(w.service().enqueue_due(&w.sync, &w.queues, Spent::default))
    };
    assert_eq!(produce_with(6, 2).enqueued, 3);
    for (d1_queries, subrequests, reason) in [
        (5, 2, "D1 query budget (5) would be exceeded"),
        (6, 1, "subrequest budget (1) would be exceeded"),
    ] {
        let short = produce_with(d1_queries, subrequests);
        assert_eq!(short.enqueued, 0, "{reason}");
        assert!(short.stop_reason.unwrap().starts_with(reason), "{reason}");
    }
}

/// Refreshes packed into one call that fails go back one by one, on their own, not retried
/// together.
#[test]
fn messages_whose_combined_call_failed_are_tried_again_alone() {
    let mut w = SyncWorld::with_orders(2);
    for order in ["ORD-01", "ORD-02"] {
        block_on(w.service().enqueue_refresh(order, &w.queues)).unwrap();
    }
    w.carrier
        .failures
        .borrow_mut()
        .insert(1, CarrierError::Timeout { ms: 5000 });
    w.consumer_batch = 100;
    w.drain();
    assert_eq!(w.sizes(), [2, 1, 1]);
    let run = &w.store.runs()[0];
    assert_eq!((run.succeeded, run.failed), (2, 0));
}

/// A shipment dead-lettered while D1 cannot be read for its history is checked again one
/// "moving" interval later, not at once and not in the past.
#[test]
fn a_dead_letter_without_its_history_is_checked_again_after_the_moving_interval() {
    let w = SyncWorld::with_orders(1);
    w.produce();
    w.carrier
        .failures
        .borrow_mut()
        .insert(1, CarrierError::Licence);
    // The consumer's read of the batch works; the dead-letter's read of the order does not.
    w.store
        .fail_call
        .set(Some(("snapshots", w.store.count("snapshots") + 2)));
    w.drain();
    assert_eq!(w.queues.dead.borrow().len(), 1);
    let order = w.store.order("ORD-01").unwrap();
    assert_eq!(
        order.next_check_at,
        Some(w.clock.0.get() + w.settings.schedule.moving)
    );
}

/// A save that fails hands the call's messages back to the platform, counted as retried.
#[test]
fn a_save_that_fails_hands_the_messages_back_counted_as_retried() {
    let w = SyncWorld::with_orders(12);
    w.produce();
    // The save's webhook messages (every order changes status) cannot be written.
    w.store.refuse_webhooks.set(true);
    let messages = w.waiting();
    let verdicts = w.consume_once(&messages);
    assert!(
        verdicts.iter().all(|v| matches!(v, Verdict::Retry { .. })),
        "{verdicts:?}"
    );
    assert_eq!(verdicts.len(), 2);
    let run = &w.store.runs()[0];
    assert_eq!((run.retried, run.succeeded), (2, 0));
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
fn the_backlog_says_how_many_wait_on_the_queue_and_for_how_long() {
    let w = SyncWorld::with_orders(12);
    let empty = block_on(w.service().queue_backlog()).unwrap();
    assert_eq!((empty.enqueued, empty.oldest_age_seconds), (0, None));
    w.produce();
    w.clock.advance(Duration::seconds(90));
    let waiting = block_on(w.service().queue_backlog()).unwrap();
    assert_eq!(
        (waiting.enqueued, waiting.oldest_age_seconds),
        (12, Some(90))
    );
    w.drain();
    assert_eq!(block_on(w.service().queue_backlog()).unwrap().enqueued, 0);
}

/// Customers read these orders, so KV holds their snapshots.
fn read_by_customers(w: &SyncWorld, ids: &[&str]) {
    for id in ids {
        block_on(w.service().load(id)).unwrap();
    }
}

fn kv_holds(w: &SyncWorld, id: &str) -> Option<String> {
    w.kv.entries
        .borrow()
        .get(&tracking_core::service::snapshot_key(id))
        .map(|(v, _)| v.clone())
}

#[test]
fn the_sync_rewrites_kv_only_for_orders_customers_hold_there() {
    let w = SyncWorld::with_orders(3);
    // Registered two days ago: the snapshots written then have expired from KV.
    w.clock.advance(Duration::days(2));
    w.kv.entries.borrow_mut().clear();
    read_by_customers(&w, &["ORD-01"]);
    let writes = w.kv.writes.get();
    w.run();
    assert_eq!(
        w.kv.writes.get(),
        writes + 1,
        "one KV write, for the order customers read"
    );
    assert!(kv_holds(&w, "ORD-01").unwrap().contains("in_transit"));
    assert_eq!(kv_holds(&w, "ORD-02"), None, "nobody reads it: no write");
    // A customer who comes later misses KV and reads D1's new state.
    assert_eq!(w.status("ORD-02").0, Some(Status::InTransit));
}

#[test]
fn sync_kv_writes_stop_at_the_days_budget_and_are_repaired_later() {
    let mut w = SyncWorld::with_orders(3);
    w.w.settings.kv_sync_writes_per_day = 2;
    read_by_customers(&w, &["ORD-01", "ORD-02", "ORD-03"]);
    let writes = w.kv.writes.get();
    w.run();
    assert_eq!(
        w.kv.writes.get(),
        writes,
        "three do not fit in two: none written"
    );
    assert!(w.log.lines().iter().any(|l| l.contains(
        "[CACHE] The day's 2 sync KV writes are spent; 3 snapshots wait for tomorrow's repair"
    )));
    assert_eq!(w.store.kv_repairs().len(), 3);
    // The next day's first firing repairs them within the new day's budget.
    w.clock.advance(Duration::days(1));
    w.w.settings.kv_sync_writes_per_day = 10;
    w.produce();
    assert!(w.store.kv_repairs().is_empty());
    assert!(kv_holds(&w, "ORD-03").unwrap().contains("in_transit"));
}

/// An order whose row changed while its call waited (here the store cancelled it) is left out
/// of the call's save, which would have written the status it was read with back over the
/// change; the call's other orders are saved, and the changed one is free to be taken again.
#[test]
fn an_order_changed_while_its_call_waited_is_left_to_the_change() {
    let w = SyncWorld::with_orders(3);
    w.produce();
    let messages = w.waiting();
    let carrier = Meanwhile::new(&w.carrier, || {
        block_on(w.service().put_order("ORD-02", &status_update("Cancelled"))).unwrap();
    });
    let recorded_before = w.store.webhooks.borrow().events.len();
    let verdicts = w.consume_with(&carrier, &messages);
    assert!(verdicts.iter().all(|v| *v == Verdict::Ack), "{verdicts:?}");
    assert_eq!(w.sizes(), [3], "one call");
    let stored = |id: &str| block_on(w.store.snapshot(id)).unwrap().unwrap();
    for synced in ["ORD-01", "ORD-03"] {
        let snapshot = stored(synced);
        assert_eq!(
            snapshot.latest.map(|e| e.status),
            Some(Status::InTransit),
            "{synced}"
        );
        assert!(snapshot.order.last_synced_at.is_some(), "{synced}");
    }
    let changed = stored("ORD-02");
    assert_eq!(
        changed.latest.map(|e| e.status),
        Some(Status::InfoReceived),
        "none of the call's news"
    );
    assert_eq!(changed.order.order_status, "Cancelled", "the change stands");
    assert_eq!(changed.order.last_synced_at, None);
    // The status changes saved are recorded for the webhooks; the one left out is not.
    let recorded: Vec<String> = w.store.webhooks.borrow().events[recorded_before..]
        .iter()
        .filter_map(|e| e.order_id.clone())
        .collect();
    assert_eq!(recorded, ["ORD-01", "ORD-03"]);
    assert!(
        w.log
            .lines()
            .iter()
            .any(|l| l.contains("Order ORD-02 changed while it synced; left to that change")),
        "{:?}",
        w.log.lines()
    );
    // Its enqueued mark is cleared: the next firing takes it again.
    let produced = w.produce();
    assert_eq!(produced.enqueued, 1);
}
