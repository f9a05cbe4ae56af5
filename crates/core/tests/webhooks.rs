//! Webhooks, natively: every path that changes a status (waybill attach, refresh, admin sync,
//! queued sync, push) records its messages once, re-syncs and redeliveries record nothing
//! twice, only enabled endpoints that asked for the type get deliveries; the consumer signs,
//! retries with growing delays honouring Retry-After, refuses for good on other 4xx, keeps an
//! order's messages in order, skips disabled endpoints, drops stale messages and disables an
//! endpoint that failed for a day.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use crate::support::{FakeBlueDart, status_update};
use bluedart_sim::demo::{self, delivered_in_kochi, out_for_delivery_in_kochi};
use chrono::Duration;
use pollster::block_on;
use tracking_core::access::Access;
use tracking_core::ports::{HttpClient, HttpError, HttpRequest, HttpResponse, StoreError};
use tracking_core::push::PushMessage;
use tracking_core::queue::{Lane, SyncMessage, Verdict};
use tracking_core::rules::budget::Spent;
use tracking_core::runs::Trigger;
use tracking_core::service::ServiceError;
use tracking_core::service::sync::SyncSettings;
use tracking_core::testing::{FakeSleeper, FixedRandom, MemoryQueues, MemoryWebhookQueue, World};
use tracking_core::webhooks::service::{EndpointInput, EndpointPatch};
use tracking_core::webhooks::{DeliveryMessage, DeliveryState, STATUS_CHANGED, WebhookQueue, sign};

const AWB: &str = "81234567890";

/// An endpoint that answers from a script and records what it was sent.
#[derive(Default)]
struct Endpoint {
    answers: RefCell<VecDeque<Result<HttpResponse, HttpError>>>,
    received: RefCell<Vec<HttpRequest>>,
}

impl Endpoint {
    fn then(&self, status: u16, headers: &[(&str, &str)]) -> &Self {
        self.answers.borrow_mut().push_back(Ok(HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: String::new(),
        }));
        self
    }
}

impl HttpClient for Endpoint {
    async fn send(&self, request: HttpRequest, _: u64) -> Result<HttpResponse, HttpError> {
        self.received.borrow_mut().push(request);
        self.answers
            .borrow_mut()
            .pop_front()
            .unwrap_or(Err(HttpError::Connection))
    }
}

fn header<'a>(request: &'a HttpRequest, name: &str) -> &'a str {
    &request.headers.iter().find(|(k, _)| *k == name).unwrap().1
}

fn world() -> World<FakeBlueDart> {
    let mut w = World::new(FakeBlueDart::with(vec![demo::in_transit(AWB, "ORD-1")]));
    w.settings.webhooks.https_only = false;
    w.settings.webhooks.retry_base_ms = 1000;
    w.settings.webhooks.max_attempts = 4;
    w
}

fn endpoint(w: &World<FakeBlueDart>, types: &[&str]) -> (String, String) {
    let seed = w.store.webhooks.borrow().endpoints.len() as u64 + 11;
    let (endpoint, secret) = block_on(w.service().webhooks().create(
        EndpointInput {
            url: "http://127.0.0.1:9/hook".into(),
            event_types: types.iter().map(|t| (*t).to_owned()).collect(),
            description: None,
        },
        &FixedRandom(seed),
    ))
    .unwrap();
    (endpoint.id, secret)
}

/// The recorded messages: (type, the new status).
fn messages(w: &World<FakeBlueDart>) -> Vec<(String, String)> {
    w.store
        .webhooks
        .borrow()
        .events
        .iter()
        .map(|e| {
            let body: serde_json::Value = serde_json::from_str(&e.payload).unwrap();
            (
                e.kind.clone(),
                body["data"]["current"]["statusCode"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect()
}

/// The messages of a journey from booked to delivered, in order.
const JOURNEY: &[(&str, &str)] = &[
    (STATUS_CHANGED, "info_received"),
    (STATUS_CHANGED, "in_transit"),
    (STATUS_CHANGED, "out_for_delivery"),
    ("shipment.out_for_delivery", "out_for_delivery"),
    (STATUS_CHANGED, "delivered"),
    ("shipment.delivered", "delivered"),
];

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

fn sync(w: &World<FakeBlueDart>) {
    block_on(
        w.service()
            .sync_order("ORD-1", Trigger::Manual, Spent::default),
    )
    .unwrap();
}

fn append(w: &World<FakeBlueDart>, scan: bluedart_sim::Scan) {
    w.carrier.shipments.borrow_mut()[0].scans.push(scan);
}

#[test]
fn every_path_records_each_status_change_once() {
    let w = world();
    let (all, _) = endpoint(
        &w,
        &[
            STATUS_CHANGED,
            "shipment.out_for_delivery",
            "shipment.delivered",
        ],
    );
    let (delivered_only, _) = endpoint(&w, &["shipment.delivered"]);
    w.shipped("ORD-1", AWB);
    // A customer's refresh.
    block_on(
        w.service()
            .track("ORD-1", &Access::Customer("cust-1".into()), true),
    )
    .unwrap();
    // An admin's sync, twice: the second changes nothing.
    append(&w, out_for_delivery_in_kochi());
    sync(&w);
    sync(&w);
    // The queued sync, and the same message redelivered.
    append(&w, delivered_in_kochi());
    let settings = SyncSettings {
        batch_size: 10,
        delay_ms: 0,
        max_per_run: 100,
        retries: 2,
        retry_base_ms: 500,
        budget: tracking_core::rules::budget::Budget {
            subrequests: 1000,
            d1_queries: 1000,
            kv_operations: 1000,
            wall_time: Duration::minutes(14),
        },
    };
    let queues = MemoryQueues::default();
    let sleeper = FakeSleeper {
        clock: &w.clock,
        pauses: Default::default(),
    };
    for _ in 0..2 {
        w.clock.advance(Duration::minutes(1));
        let message = SyncMessage::new(None, vec!["ORD-1".into()], w.clock.0.get());
        block_on(w.service().consume(
            Lane::Sync,
            &[message],
            &settings,
            &sleeper,
            &FixedRandom(0),
            &queues,
            Spent::default,
        ));
    }
    // A push of everything again changes nothing either.
    let shipment = w.carrier.shipments.borrow()[0].clone();
    let scans: Vec<&bluedart_sim::Scan> = shipment.scans.iter().collect();
    let push = bluedart_sim::push::body(vec![bluedart_sim::push::entry(
        &shipment,
        &scans,
        bluedart_sim::push::Variant::Plus,
    )]);
    let batch = bluedart::push::read_push(push.as_bytes()).unwrap();
    block_on(
        w.service()
            .consume_push(&PushMessage::for_push(batch, w.clock.0.get())),
    );

    assert_eq!(messages(&w), pairs(JOURNEY));
    let store = w.store.webhooks.borrow();
    let to = |id: &str| {
        store
            .deliveries
            .iter()
            .filter(|d| d.endpoint_id == id)
            .count()
    };
    assert_eq!(to(&all), 6);
    assert_eq!(to(&delivered_only), 1);
    // No consignee data in any payload.
    assert!(
        store
            .events
            .iter()
            .all(|e| !e.payload.contains("consignee"))
    );
}

#[test]
fn a_change_whose_messages_cannot_be_written_is_not_saved_and_the_next_sync_emits_it_once() {
    let w = world();
    let (id, _) = endpoint(&w, &[STATUS_CHANGED]);
    w.shipped("ORD-1", AWB);
    sync(&w);
    append(&w, out_for_delivery_in_kochi());
    // The messages' write fails: the save of the change fails with it.
    w.store.refuse_webhooks.set(true);
    block_on(
        w.service()
            .sync_order("ORD-1", Trigger::Manual, Spent::default),
    )
    .unwrap_err();
    assert_eq!(
        w.store.order("ORD-1").unwrap().shipping_status,
        tracking_core::model::ShippingStatus::InTransit
    );
    let stored = block_on(w.service().admin_view("ORD-1")).unwrap();
    assert_eq!(
        stored.snapshot.latest.unwrap().status,
        tracking_core::model::Status::InTransit
    );
    // The next sync finds the change again and records its messages, once.
    w.store.refuse_webhooks.set(false);
    sync(&w);
    sync(&w);
    assert_eq!(messages(&w), pairs(&JOURNEY[..4]));
    let deliveries = w.store.webhooks.borrow().deliveries.len();
    assert_eq!(deliveries, 3, "one delivery per message to {id}");
}

#[test]
fn an_attach_whose_messages_cannot_be_written_attaches_nothing() {
    let w = world();
    endpoint(&w, &[STATUS_CHANGED]);
    block_on(w.service().put_order("ORD-1", &status_update("Processing"))).unwrap();
    w.store.refuse_webhooks.set(true);
    block_on(w.service().attach_awb("ORD-1", AWB)).unwrap_err();
    assert_eq!(w.store.order("ORD-1").unwrap().awb_no, None);
    w.store.refuse_webhooks.set(false);
    block_on(w.service().attach_awb("ORD-1", AWB)).unwrap();
    block_on(w.service().attach_awb("ORD-1", AWB)).unwrap();
    assert_eq!(messages(&w), pairs(&JOURNEY[..1]));
}

#[test]
fn one_reply_with_several_new_statuses_makes_a_message_per_change_in_order() {
    let w = world();
    endpoint(&w, &[STATUS_CHANGED]);
    w.shipped("ORD-1", AWB);
    sync(&w);
    // Out for delivery and then delivered, both new since the last sync.
    append(&w, out_for_delivery_in_kochi());
    append(&w, delivered_in_kochi());
    sync(&w);
    sync(&w);
    assert_eq!(messages(&w), pairs(JOURNEY));
    let store = w.store.webhooks.borrow();
    let previous: Vec<String> = store
        .events
        .iter()
        .filter(|e| e.kind == STATUS_CHANGED)
        .map(|e| {
            let body: serde_json::Value = serde_json::from_str(&e.payload).unwrap();
            body["data"]["previous"]["statusCode"]
                .as_str()
                .unwrap_or("-")
                .to_owned()
        })
        .collect();
    assert_eq!(
        previous,
        ["-", "info_received", "in_transit", "out_for_delivery"]
    );
    let sequences: Vec<&str> = store.events.iter().map(|e| e.sequence.as_str()).collect();
    assert!(sequences.is_sorted(), "{sequences:?}");
}

#[test]
fn a_disabled_endpoint_gets_no_deliveries() {
    let w = world();
    let (id, _) = endpoint(&w, &[STATUS_CHANGED]);
    let patch = EndpointPatch {
        enabled: Some(false),
        ..EndpointPatch::default()
    };
    block_on(w.service().webhooks().update(&id, patch, &FixedRandom(1))).unwrap();
    w.shipped("ORD-1", AWB);
    assert_eq!(messages(&w).len(), 1);
    assert!(w.store.webhooks.borrow().deliveries.is_empty());
}

/// A world with one endpoint for every status change and the booked message dispatched.
fn dispatched() -> (World<FakeBlueDart>, String, String, MemoryWebhookQueue) {
    let w = world();
    let (id, secret) = endpoint(&w, &[STATUS_CHANGED]);
    w.shipped("ORD-1", AWB);
    let queue = MemoryWebhookQueue::default();
    assert_eq!(block_on(w.service().webhooks().dispatch(&queue)), 1);
    // Dispatching again sends nothing: the delivery is on the queue.
    assert_eq!(block_on(w.service().webhooks().dispatch(&queue)), 0);
    (w, id, secret, queue)
}

fn deliver(
    w: &World<FakeBlueDart>,
    http: &Endpoint,
    queue: &MemoryWebhookQueue,
    message: DeliveryMessage,
) -> Verdict {
    block_on(
        w.service()
            .webhooks()
            .deliver(&[message], http, &FixedRandom(0), queue),
    )[0]
}

#[test]
fn deliveries_are_signed_retried_with_growing_delays_and_recorded() {
    let (w, id, secret, queue) = dispatched();
    let http = Endpoint::default();
    http.then(503, &[])
        .then(429, &[("Retry-After", "30")])
        .then(204, &[]);
    let mut message = queue.take().remove(0).0;
    let mut delays = Vec::new();
    for _ in 0..3 {
        assert_eq!(deliver(&w, &http, &queue, message.clone()), Verdict::Ack);
        if let Some((next, delay)) = queue.take().pop() {
            assert_eq!(next.attempt, message.attempt + 1);
            delays.push(delay);
            message = next;
            w.clock.advance(Duration::seconds(delay as i64));
        }
    }
    // Jitter 0: half of 1 s, then Retry-After's 30 s over half of 2 s.
    assert_eq!(delays, [1, 30]);
    let sent = http.received.borrow();
    assert_eq!(sent.len(), 3);
    // The same id every time, each attempt signed for its own timestamp.
    let ids: Vec<&str> = sent.iter().map(|r| header(r, "webhook-id")).collect();
    assert!(ids.iter().all(|i| *i == ids[0]));
    for request in sent.iter() {
        let ts: i64 = header(request, "webhook-timestamp").parse().unwrap();
        let expected =
            sign::signature(&secret, ids[0], ts, request.body.as_deref().unwrap()).unwrap();
        assert_eq!(header(request, "webhook-signature"), expected);
    }
    let listed = block_on(w.service().webhooks().deliveries(&id, 10)).unwrap();
    assert_eq!(listed[0].state, DeliveryState::Delivered);
    let statuses: Vec<Option<u16>> = listed[0].attempts.iter().map(|a| a.http_status).collect();
    assert_eq!(statuses, [Some(503), Some(429), Some(204)]);
    assert!(listed[0].attempts[0].next_retry_at.is_some());
    assert!(listed[0].attempts[2].next_retry_at.is_none());
    // Healthy again.
    assert_eq!(
        block_on(w.service().webhooks().get(&id))
            .unwrap()
            .failing_since,
        None
    );
    // The same message redelivered by the queue is dropped.
    assert_eq!(deliver(&w, &http, &queue, message), Verdict::Ack);
    assert_eq!(http.received.borrow().len(), 3);
}

#[test]
fn other_4xx_are_not_retried_and_attempts_run_out() {
    let (w, id, _, queue) = dispatched();
    let http = Endpoint::default();
    http.then(410, &[]);
    let message = queue.take().remove(0).0;
    deliver(&w, &http, &queue, message);
    assert!(queue.take().is_empty());
    let listed = block_on(w.service().webhooks().deliveries(&id, 10)).unwrap();
    assert_eq!(listed[0].state, DeliveryState::Failed);

    // Replayed: the same webhook-id again; a connection error each time until out of attempts.
    block_on(w.service().webhooks().replay(&id, listed[0].id)).unwrap();
    block_on(w.service().webhooks().dispatch(&queue));
    let mut message = queue.take().remove(0).0;
    loop {
        deliver(&w, &http, &queue, message.clone());
        match queue.take().pop() {
            Some((next, _)) => message = next,
            None => break,
        }
    }
    let listed = block_on(w.service().webhooks().deliveries(&id, 10)).unwrap();
    assert_eq!(listed[0].state, DeliveryState::Failed);
    assert_eq!(listed[0].attempts.len(), 5);
    let received = http.received.borrow();
    assert_eq!(received.len(), 5);
    assert!(
        received
            .iter()
            .all(|r| header(r, "webhook-id") == header(&received[0], "webhook-id"))
    );
}

#[test]
fn a_delivery_whose_message_is_lost_is_sent_again_once_its_lease_runs_out() {
    let (w, _, _, queue) = dispatched();
    // The first message never comes back.
    let lost = queue.take().remove(0).0;
    w.clock.advance(Duration::hours(2));
    assert_eq!(block_on(w.service().webhooks().dispatch(&queue)), 0);
    w.clock.advance(Duration::hours(2));
    assert_eq!(block_on(w.service().webhooks().dispatch(&queue)), 1);
    let again = queue.take().remove(0).0;
    assert_eq!(again, lost);
    // Its first attempt fails; the retry's message is lost too.
    let http = Endpoint::default();
    http.then(503, &[("Retry-After", "600")]).then(204, &[]);
    deliver(&w, &http, &queue, again);
    let (retry, delay) = queue.take().remove(0);
    assert!(delay >= 600, "{delay}");
    // Not sent again while the retry is due within the lease, then sent, with its attempt.
    w.clock.advance(Duration::hours(3));
    assert_eq!(block_on(w.service().webhooks().dispatch(&queue)), 0);
    w.clock.advance(Duration::minutes(15));
    assert_eq!(block_on(w.service().webhooks().dispatch(&queue)), 1);
    assert_eq!(queue.take().remove(0).0, retry);
    deliver(&w, &http, &queue, retry);
    let store = w.store.webhooks.borrow();
    assert_eq!(store.deliveries[0].state, DeliveryState::Delivered);
    assert_eq!(http.received.borrow().len(), 2);
}

#[test]
fn a_later_change_waits_for_the_earlier_one_of_its_order() {
    let (w, _, _, queue) = dispatched();
    let booked = queue.take().remove(0).0;
    block_on(
        w.service()
            .track("ORD-1", &Access::Customer("cust-1".into()), true),
    )
    .unwrap();
    block_on(w.service().webhooks().dispatch(&queue));
    let in_transit = queue.take().remove(0).0;
    let http = Endpoint::default();
    assert_eq!(deliver(&w, &http, &queue, in_transit.clone()), Verdict::Ack);
    assert!(http.received.borrow().is_empty());
    assert_eq!(queue.take(), [(in_transit.clone(), 2)]);
    http.then(200, &[]).then(200, &[]);
    deliver(&w, &http, &queue, booked);
    deliver(&w, &http, &queue, in_transit);
    let kinds: Vec<String> = http
        .received
        .borrow()
        .iter()
        .map(|r| {
            let body: serde_json::Value = serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
            body["data"]["current"]["statusCode"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(kinds, ["info_received", "in_transit"]);
}

#[test]
fn an_endpoint_failing_for_a_day_is_disabled_and_then_skipped() {
    let (w, id, _, queue) = dispatched();
    let http = Endpoint::default();
    let mut message = queue.take().remove(0).0;
    // First failure now; the next a day later (the retry waited that long).
    deliver(&w, &http, &queue, message.clone());
    message = queue.take().remove(0).0;
    w.clock.advance(Duration::hours(24));
    deliver(&w, &http, &queue, message);
    let endpoint = block_on(w.service().webhooks().get(&id)).unwrap();
    assert!(!endpoint.enabled);
    assert!(endpoint.disabled_reason.unwrap().contains("24 hours"));
    assert!(queue.take().is_empty(), "no retry after disabling");

    // A ping to the disabled endpoint is skipped, not sent.
    let sent = http.received.borrow().len();
    block_on(w.service().webhooks().test(&id, &FixedRandom(3))).unwrap();
    block_on(w.service().webhooks().dispatch(&queue));
    let ping = queue.take().remove(0).0;
    deliver(&w, &http, &queue, ping);
    assert_eq!(http.received.borrow().len(), sent);
    let listed = block_on(w.service().webhooks().deliveries(&id, 10)).unwrap();
    assert_eq!(listed[0].state, DeliveryState::Skipped);
    // Enabled again: healthy, reason gone.
    let patch = EndpointPatch {
        enabled: Some(true),
        ..EndpointPatch::default()
    };
    let (endpoint, _) =
        block_on(w.service().webhooks().update(&id, patch, &FixedRandom(1))).unwrap();
    assert!(
        endpoint.enabled && endpoint.disabled_reason.is_none() && endpoint.failing_since.is_none()
    );
}

#[test]
fn a_rotated_secret_signs_beside_the_old_one_for_a_day() {
    let (w, id, old, queue) = dispatched();
    let patch = EndpointPatch {
        rotate_secret: true,
        ..EndpointPatch::default()
    };
    let (_, new) = block_on(w.service().webhooks().update(&id, patch, &FixedRandom(99))).unwrap();
    let new = new.unwrap();
    assert_ne!(new, old);
    let http = Endpoint::default();
    http.then(204, &[]);
    deliver(&w, &http, &queue, queue.take().remove(0).0);
    let request = http.received.borrow()[0].clone();
    let ts: i64 = header(&request, "webhook-timestamp").parse().unwrap();
    let body = request.body.as_deref().unwrap();
    let id_header = header(&request, "webhook-id");
    assert_eq!(
        header(&request, "webhook-signature"),
        format!(
            "{} {}",
            sign::signature(&new, id_header, ts, body).unwrap(),
            sign::signature(&old, id_header, ts, body).unwrap()
        )
    );
}

#[test]
fn a_retry_that_cannot_be_queued_waits_for_the_next_dispatch() {
    let (w, id, _, queue) = dispatched();
    let http = Endpoint::default();
    http.then(503, &[]).then(204, &[]);
    let message = queue.take().remove(0).0;
    queue.failing.set(true);
    assert_eq!(deliver(&w, &http, &queue, message.clone()), Verdict::Ack);
    queue.failing.set(false);
    // The old message is stale; the next dispatch sends the delivery with its attempt count.
    assert_eq!(deliver(&w, &http, &queue, message), Verdict::Ack);
    assert_eq!(http.received.borrow().len(), 1);
    assert_eq!(block_on(w.service().webhooks().dispatch(&queue)), 1);
    let again = queue.take().remove(0).0;
    assert_eq!(again.attempt, 1);
    deliver(&w, &http, &queue, again);
    let listed = block_on(w.service().webhooks().deliveries(&id, 10)).unwrap();
    assert_eq!(listed[0].state, DeliveryState::Delivered);
}

/// Endpoints are listed as created; a deleted one is gone from the list and from `get`, and
/// deleting it again, or an id never made, is not found.
#[test]
fn endpoints_are_listed_as_created_and_a_deleted_one_is_gone_for_good() {
    let w = world();
    let (first, _) = endpoint(&w, &[STATUS_CHANGED]);
    let (second, _) = endpoint(&w, &["shipment.delivered"]);
    let service = w.service();
    let webhooks = service.webhooks();
    let listed = || {
        let mut ids: Vec<String> = block_on(webhooks.list())
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        ids.sort();
        ids
    };
    let mut both = vec![first.clone(), second.clone()];
    both.sort();
    assert_eq!(listed(), both);
    block_on(webhooks.delete(&first)).unwrap();
    assert_eq!(listed(), [second]);
    assert!(matches!(
        block_on(webhooks.get(&first)),
        Err(ServiceError::NotFound)
    ));
    for id in [first.as_str(), "ep_never_made"] {
        assert!(matches!(
            block_on(webhooks.delete(id)),
            Err(ServiceError::NotFound)
        ));
    }
}

/// Enabling an endpoint that is already enabled keeps its failure streak (only re-enabling a
/// disabled one starts afresh), so that it is still disabled after a day of failures.
#[test]
fn enabling_an_endpoint_that_is_enabled_keeps_its_failure_streak() {
    let (w, id, _, queue) = dispatched();
    deliver(&w, &Endpoint::default(), &queue, queue.take().remove(0).0);
    let since = block_on(w.service().webhooks().get(&id))
        .unwrap()
        .failing_since;
    assert!(since.is_some());
    w.clock.advance(Duration::hours(1));
    let patch = EndpointPatch {
        enabled: Some(true),
        ..EndpointPatch::default()
    };
    let (endpoint, _) =
        block_on(w.service().webhooks().update(&id, patch, &FixedRandom(1))).unwrap();
    assert_eq!(endpoint.failing_since, since);
    assert_eq!(
        block_on(w.service().webhooks().get(&id))
            .unwrap()
            .failing_since,
        since
    );
}

/// Records `n` pings to endpoint `id`, each a pending delivery.
fn pings(w: &World<FakeBlueDart>, id: &str, n: u64) {
    for seed in 0..n {
        block_on(w.service().webhooks().test(id, &FixedRandom(100 + seed))).unwrap();
    }
}

/// Dispatch sends page after full page (a hundred a send) until nothing waits, each delivery
/// once.
#[test]
fn dispatch_pages_through_more_deliveries_than_one_send_takes() {
    let w = world();
    let (id, _) = endpoint(&w, &[STATUS_CHANGED]);
    pings(&w, &id, 250);
    let queue = MemoryWebhookQueue::default();
    assert_eq!(block_on(w.service().webhooks().dispatch(&queue)), 250);
    let mut sent: Vec<i64> = queue.take().iter().map(|(m, _)| m.delivery).collect();
    sent.sort();
    sent.dedup();
    assert_eq!(sent, (1..=250).collect::<Vec<i64>>());
    assert_eq!(block_on(w.service().webhooks().dispatch(&queue)), 0);
}

/// A queue that takes every message and, during its first send, sees a ping to `endpoint`
/// recorded meanwhile.
struct PingedMeanwhile<'a> {
    w: &'a World<FakeBlueDart>,
    endpoint: String,
    queue: MemoryWebhookQueue,
    pinged: Cell<bool>,
}

impl WebhookQueue for PingedMeanwhile<'_> {
    async fn send(&self, messages: &[DeliveryMessage], delay_secs: u32) -> Result<(), StoreError> {
        if !self.pinged.replace(true) {
            pings(self.w, &self.endpoint, 1);
        }
        self.queue.send(messages, delay_secs).await
    }
}

/// A page shorter than a send's hundred ends the dispatch (no further query): a delivery
/// recorded meanwhile waits for the next dispatch.
#[test]
fn a_short_page_ends_the_dispatch_and_a_delivery_recorded_meanwhile_waits_for_the_next() {
    let w = world();
    let (id, _) = endpoint(&w, &[STATUS_CHANGED]);
    pings(&w, &id, 1);
    let queue = PingedMeanwhile {
        w: &w,
        endpoint: id,
        queue: MemoryWebhookQueue::default(),
        pinged: Cell::new(false),
    };
    assert_eq!(block_on(w.service().webhooks().dispatch(&queue)), 1);
    assert_eq!(w.store.webhooks.borrow().deliveries.len(), 2);
    assert_eq!(block_on(w.service().webhooks().dispatch(&queue)), 1);
    let sent: Vec<i64> = queue.queue.take().iter().map(|(m, _)| m.delivery).collect();
    assert_eq!(sent, [1, 2]);
}
