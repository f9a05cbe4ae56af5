//! What the native suites share: a request through `Api::handle` over a world of in-memory
//! ports, the settings and secrets most of them run with, and the reading of an answer.

use chrono::Duration;
use http::{Method, Request};
use pollster::block_on;
use serde_json::Value;
use tracking_api::credentials::{TokenRules, customer_token};
use tracking_api::reply::Reply;
use tracking_api::track_body::CACHED_VIEW;
use tracking_api::{Api, ApiSettings, Secrets};
use tracking_core::rules::budget::Spent;
use tracking_core::service::CachedView;
use tracking_core::testing::{FixedRandom, ScriptedCarrier, World};

pub const ADMIN: &str = "admin-token-for-the-native-tests";
pub const CUSTOMER_SECRET: &str = "customer-secret-for-the-native-tests";
pub const LINK_SECRET: &str = "link-secret-for-the-native-tests";
pub const SHOP: &str = "https://shop.example";

/// `request` through the API over `world`'s ports.
pub fn send(
    world: &World<ScriptedCarrier>,
    settings: &ApiSettings,
    secrets: &Secrets,
    request: Request<Vec<u8>>,
) -> Reply {
    let spent = Spent::default;
    let api = Api {
        service: world.service(),
        settings,
        secrets,
        spent: &spent,
        random: &FixedRandom(7),
    };
    block_on(api.handle(request))
}

/// The API with ORD-1 shipped (waybill 111111111) for cust-1, CORS for [`SHOP`], the secrets
/// above, and customers' cached answers kept rendered in KV, as the worker keeps them.
pub struct Harness {
    pub world: World<ScriptedCarrier>,
    pub settings: ApiSettings,
    pub secrets: Secrets,
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with_view(Some(CACHED_VIEW))
    }

    /// As [`Harness::new`], with `view` as the kept view.
    pub fn with_view(view: Option<CachedView>) -> Harness {
        let mut world = World::new(ScriptedCarrier::default());
        world.settings.cached_view = view;
        world.shipped("ORD-1", "111111111");
        Harness {
            world,
            settings: ApiSettings {
                allowed_origins: vec![SHOP.into()],
                tokens: TokenRules::default(),
                can_generate_waybills: false,
                push: None,
            },
            secrets: Secrets {
                admin_token: ADMIN.into(),
                customer_token_secret: CUSTOMER_SECRET.into(),
                tracking_link_secret: LINK_SECRET.into(),
                push_token: String::new(),
            },
        }
    }

    pub fn send(&self, request: Request<Vec<u8>>) -> Reply {
        send(&self.world, &self.settings, &self.secrets, request)
    }

    /// A customer token valid for an hour of the world's clock.
    pub fn token(&self, customer: &str) -> String {
        let exp = self.world.clock.0.get() + Duration::hours(1);
        customer_token(CUSTOMER_SECRET, "shipment-tracker", customer, exp)
    }

    /// A GET as cust-1, with `extra` headers.
    pub fn customer_get(&self, path: &str, extra: &[(&str, &str)]) -> Reply {
        let mut b = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header("Authorization", format!("Bearer {}", self.token("cust-1")));
        for (name, value) in extra {
            b = b.header(*name, *value);
        }
        self.send(b.body(vec![]).unwrap())
    }
}

/// The answer's body as JSON.
pub fn json_of(reply: &Reply) -> Value {
    serde_json::from_str(reply.response.body()).expect("a JSON body")
}
