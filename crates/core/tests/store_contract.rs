//! The storage ports' contract (`tracking_core::store_contract`) against the in-memory store,
//! one test per case, each on an empty store. The same cases run against D1 in the end-to-end
//! suite `tests/store_contract.rs`, so the in-memory copy cannot drift from the SQL.

use tracking_core::store_contract::{CASES, run};
use tracking_core::testing::MemoryStore;

fn check(case: &str) {
    let store = MemoryStore::default();
    match pollster::block_on(run(case, &store)) {
        Some(Ok(())) => {}
        Some(Err(why)) => panic!("{case}: {why}"),
        None => panic!("{case} is not a case of the contract"),
    }
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        $(#[test] fn $name() { check(stringify!($name)); })*
        /// Every case of the contract has its test here, and nothing else.
        #[test]
        fn every_case_runs_here() {
            assert_eq!(vec![$(stringify!($name)),*], CASES.to_vec());
        }
    };
}

cases!(
    new_orders_take_their_status_from_the_waybill,
    snapshots_come_in_the_order_asked,
    updates_keep_creation_time_and_waybill,
    upserts_are_all_or_nothing,
    intake_finds_orders_by_id_and_by_waybill,
    attaching_reports_each_outcome,
    due_shipments_are_taken_longest_waiting_first,
    enqueued_marks_are_retaken_and_released,
    saved_syncs_apply_every_field,
    saved_events_are_kept_once,
    saves_from_an_older_version_write_nothing,
    sync_errors_are_noted,
    refresh_claims_hold_until_not_before,
    runs_are_listed_newest_first,
    finishing_a_run_prunes_all_but_the_latest_kept,
    consumer_tallies_add_up_and_complete_a_run,
    kv_repairs_come_oldest_first,
    kv_holds_until_its_time,
    kv_write_budget_is_per_day,
    pushes_add_up,
    breaker_opens_at_threshold_and_allows_one_trial,
    webhook_messages_are_recorded_once_for_enabled_subscribers,
    webhook_attempts_replays_and_endpoints_read_back,
    webhook_deliveries_of_an_order_wait_for_earlier_ones,
);

#[test]
fn an_unknown_case_is_refused() {
    let store = MemoryStore::default();
    assert!(pollster::block_on(run("no_such_case", &store)).is_none());
}
