//! A customer's cached track through `Api::handle` over the in-memory ports, N times in one
//! process, for instruction counts (as `examples/sync_batch.rs` does for the sync batch):
//!
//! ```sh
//! cargo build --release -p tracking-api --example cached_track
//! valgrind --tool=cachegrind --cache-sim=no target/release/examples/cached_track 200
//! valgrind --tool=cachegrind --cache-sim=no target/release/examples/cached_track 0
//! ```
//!
//! The difference over N is one answer: routing, the customer token's check, the KV read and
//! the answer with its `ETag` — the worker's own share of a cached track, without the calls
//! between wasm and JavaScript. The order is the simulator's out-for-delivery parcel; KV keeps
//! its answer rendered, as the worker does (`CACHED_VIEW=0` renders it from the snapshot).

use chrono::Duration;
use http::{Method, Request};
use pollster::block_on;
use tracking_api::credentials::{TokenRules, customer_token};
use tracking_api::track_body::CACHED_VIEW;
use tracking_api::{Api, ApiSettings, Secrets};
use tracking_core::access::Access;
use tracking_core::rules::budget::Spent;
use tracking_core::testing::{FixedRandom, ScriptedCarrier, World};

const AWB: &str = "81234567890";

fn main() {
    let times: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(100);
    let mut world = World::new(ScriptedCarrier::default());
    // As the worker runs: the customer's cached answer kept rendered beside the snapshot
    // (`CACHED_VIEW=0` measures the answer rendered from the snapshot instead).
    if std::env::var("CACHED_VIEW").as_deref() != Ok("0") {
        world.settings.cached_view = Some(CACHED_VIEW);
    }
    world.shipped("ORD-1", AWB);
    // One live refresh puts the parcel's scans into the cached snapshot.
    let mut parcel = bluedart_sim::demo::shipments().remove(0);
    parcel.waybill = AWB.into();
    let xml = bluedart_sim::xml::shipment_data(&[&parcel], true);
    let shipments = bluedart::parse::parse_tracking(&xml).expect("the simulator's XML parses");
    world.carrier.then(Ok(bluedart::events::reply_for(
        200,
        &[AWB.to_owned()],
        &shipments,
    )));
    let customer = Access::Customer("cust-1".into());
    block_on(world.service().track("ORD-1", &customer, true)).expect("the refresh");

    let settings = ApiSettings {
        allowed_origins: vec!["https://shop.example".into()],
        tokens: TokenRules::default(),
        can_generate_waybills: false,
        push: None,
    };
    let secrets = Secrets {
        admin_token: "admin-token-for-the-example-only".into(),
        customer_token_secret: "customer-secret-for-the-example".into(),
        tracking_link_secret: "link-secret-for-the-example-only".into(),
        push_token: String::new(),
    };
    let expires = world.clock.0.get() + Duration::hours(1);
    let token = customer_token(
        &secrets.customer_token_secret,
        "shipment-tracker",
        "cust-1",
        expires,
    );
    let spent = Spent::default;
    let mut bytes = 0;
    for _ in 0..times {
        let request = Request::builder()
            .method(Method::GET)
            .uri("/api/shipment/ORD-1/track")
            .header("Authorization", format!("Bearer {token}"))
            .header("Origin", "https://shop.example")
            .body(Vec::new())
            .expect("a request");
        let api = Api {
            service: world.service(),
            settings: &settings,
            secrets: &secrets,
            spent: &spent,
            random: &FixedRandom(7),
        };
        let reply = block_on(api.handle(request));
        assert_eq!(reply.response.status(), 200, "{}", reply.response.body());
        bytes += reply.response.body().len();
    }
    println!("{times} cached tracks, {bytes} bytes of answers");
}
