//! CPU per synced shipment, natively: the domain path for one Blue Dart answer about 50 waybills
//! (parse, normalise, merge against stored history, encode the D1 batch's parameters) against
//! the floor, bare tokenising of the same bytes with the same XML crate.
//!
//! `cargo bench --bench sync_cpu`; `npm run bench` reads criterion's estimates from
//! `target/criterion/sync_cpu/*/new/estimates.json` into its report.

use std::hint::black_box;

use bluedart::events::{reply_for, update_for};
use bluedart::parse::parse_tracking;
use bluedart_sim::demo::delivered_in_kochi;
use bluedart_sim::{Consignee, Shipment, demo};
use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use quick_xml::Reader;
use quick_xml::events::Event;
use shipment_tracker::d1::rows::sync_params;

use tracking_core::model::{Order, ShippingStatus, Snapshot, TrackingEvent};
use tracking_core::rules::merge::plan_batch;
use tracking_core::rules::schedule::CheckSchedule;

pub const WAYBILLS: usize = 50;

/// 50 parcels like the demo's out-for-delivery one, with the consignee block real answers carry.
fn answer() -> (String, Vec<String>) {
    let template = demo::shipments()
        .into_iter()
        .next()
        .expect("demo shipments");
    let shipments: Vec<Shipment> = (0..WAYBILLS)
        .map(|n| {
            let mut s = template.clone();
            s.waybill = format!("7000000{n:04}");
            s.ref_no = format!("ORD-{n:04}");
            s.consignee = Some(Consignee {
                name: "ASHA MENON".into(),
                address1: "14/221 MARINE DRIVE".into(),
                pincode: "682031".into(),
                phone: "9847012345".into(),
                ..Consignee::default()
            });
            s.scans.push(delivered_in_kochi());
            s
        })
        .collect();
    let refs: Vec<&Shipment> = shipments.iter().collect();
    let awbs = shipments.iter().map(|s| s.waybill.clone()).collect();
    (bluedart_sim::xml::shipment_data(&refs, true), awbs)
}

/// What the store holds before the sync: each order booked, with its first two scans.
fn stored(awbs: &[String], xml: &str) -> Vec<Snapshot> {
    let parsed = parse_tracking(xml).expect("the answer parses");
    let at = Utc.with_ymd_and_hms(2026, 1, 21, 11, 45, 0).unwrap();
    awbs.iter()
        .enumerate()
        .map(|(n, awb)| {
            let mut events = vec![TrackingEvent::booked(awb, at)];
            events.extend(update_for(awb, &parsed).unwrap().events.into_iter().take(2));
            Snapshot {
                order: Order {
                    id: format!("ORD-{n:04}"),
                    customer_id: "cust-1".into(),
                    order_status: "Shipped".into(),
                    shipping_status: ShippingStatus::InTransit,
                    awb_no: Some(awb.clone()),
                    courier: "bluedart".into(),
                    shipping_error: None,
                    expected_delivery_date: None,
                    created_at: at,
                    updated_at: at,
                    last_synced_at: Some(at),
                    last_sync_error: None,
                    next_check_at: Some(at),
                    last_progress_at: Some(at),
                    polling_stopped_at: None,
                },
                latest: events.last().cloned(),
                events,
            }
        })
        .collect()
}

/// The floor: every XML event of the answer, read and dropped.
fn tokenise(xml: &str) -> usize {
    let mut reader = Reader::from_str(xml);
    let mut count = 0;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => return count,
            Ok(event) => {
                black_box(&event);
                count += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
}

/// The domain path of one batch, as the service runs it: read the answer, plan every order's
/// writes, encode the bound parameters of the batch's D1 statements.
fn sync_batch(xml: &str, awbs: &[String], before: &[Snapshot]) -> usize {
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
    let parsed = parse_tracking(xml).expect("the answer parses");
    let reply = reply_for(200, awbs, &parsed);
    let schedule = CheckSchedule::default();
    let plans = plan_batch(before, reply, 16 * 1024, &schedule, now);
    let params = sync_params(&plans);
    params.events.map_or(0, |e| e.len()) + params.orders.map_or(0, |o| o.len())
}

fn benches(c: &mut Criterion) {
    let (xml, awbs) = answer();
    let before = stored(&awbs, &xml);
    assert!(sync_batch(&xml, &awbs, &before) > 0);
    let mut group = c.benchmark_group("sync_cpu");
    group.bench_function("tokenise_50", |b| b.iter(|| tokenise(black_box(&xml))));
    group.bench_function("sync_batch_50", |b| {
        b.iter(|| sync_batch(black_box(&xml), &awbs, &before))
    });
    group.finish();
}

criterion_group!(sync_cpu, benches);
criterion_main!(sync_cpu);
