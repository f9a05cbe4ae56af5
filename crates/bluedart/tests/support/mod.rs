//! Shared by the client tests: blocking HTTP for talking to the simulator over real HTTP on
//! 127.0.0.1, the demo store's gateway settings, and a waybill request. Each test binary uses
//! part of it.
#![allow(dead_code)]

use std::cell::RefCell;
use std::time::Duration as StdDuration;

use bluedart::client::{Account, Gateway, Shipper};
use bluedart_sim::SimConfig;
use tracking_core::carrier::{Consignee, WaybillRequest};
use tracking_core::ports::{HttpClient, HttpError, HttpRequest, HttpResponse};

/// Blocking HTTP on ureq behind the async port: fine for native tests driven by `pollster`.
pub struct NativeHttp {
    pub sent: RefCell<Vec<HttpRequest>>,
}

impl NativeHttp {
    pub fn new() -> NativeHttp {
        NativeHttp {
            sent: RefCell::new(Vec::new()),
        }
    }
}

impl HttpClient for NativeHttp {
    async fn send(&self, request: HttpRequest, timeout_ms: u64) -> Result<HttpResponse, HttpError> {
        self.sent.borrow_mut().push(request.clone());
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(StdDuration::from_millis(timeout_ms)))
            .build()
            .into();
        let mut builder = ureq::http::Request::builder()
            .method(request.method)
            .uri(&request.url);
        for (k, v) in &request.headers {
            builder = builder.header(*k, v);
        }
        let req = builder.body(request.body.unwrap_or_default()).unwrap();
        match agent.run(req) {
            Ok(mut resp) => Ok(HttpResponse {
                status: resp.status().as_u16(),
                headers: resp
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                    .collect(),
                body: resp.body_mut().read_to_string().map_err(|e| match e {
                    ureq::Error::Timeout(_) => HttpError::Timeout(timeout_ms),
                    _ => HttpError::Connection,
                })?,
            }),
            Err(ureq::Error::Timeout(_)) => Err(HttpError::Timeout(timeout_ms)),
            Err(_) => Err(HttpError::Connection),
        }
    }
}

/// A waybill request for a parcel to Kochi, picked up now.
pub fn waybill_request(order_id: &str, pincode: &str) -> WaybillRequest {
    WaybillRequest {
        order_id: order_id.into(),
        consignee: Consignee {
            name: "ASHA MENON".into(),
            address: [
                "14/221 MARINE DRIVE".into(),
                "ERNAKULAM".into(),
                String::new(),
            ],
            pincode: pincode.into(),
            mobile: "9847012345".into(),
        },
        weight_kg: 0.8,
        pieces: 1,
        declared_value: 1499.0,
        cod_amount: 0.0,
        product_code: "A".into(),
        pickup_at: chrono::Utc::now(),
    }
}

/// The demo store, as the shipper of generated waybills.
pub fn demo_shipper() -> Shipper {
    Shipper {
        origin_area: "PNQ".into(),
        customer_code: "099960".into(),
        name: "DEMO STORE".into(),
        address: ["1 MG ROAD".into(), "CAMP".into(), "PUNE".into()],
        pincode: "411001".into(),
        mobile: "9000000000".into(),
    }
}

/// The simulator at `base_url` with its default account, for the demo store.
pub fn sim_gateway(base_url: String) -> Gateway {
    let sim = SimConfig::default();
    Gateway {
        base_url,
        account: Account {
            client_id: sim.client_id,
            client_secret: sim.client_secret,
            login_id: sim.login_id,
            licence_key: sim.licence_key,
        },
        shipper: demo_shipper(),
        timeout_ms: 1500,
    }
}
