//! Carriers for the service tests: one that answers with real Blue Dart XML (rendered by the
//! simulator, read by the Blue Dart adapter's parser), and one that lets a change land while a
//! call waits; and the admin's update such a change usually is.

use std::cell::RefCell;
use std::collections::HashMap;

use tracking_core::carrier::{Carrier, CarrierError, TrackingReply, WaybillRequest};
use tracking_core::ports::OrderInput;

/// Blue Dart answering from a set of simulator shipments: real XML, read by the worker's parser,
/// for whatever waybills a call carries. A chosen call can fail instead.
#[derive(Default)]
pub struct FakeBlueDart {
    pub shipments: RefCell<Vec<bluedart_sim::Shipment>>,
    /// Call number (1-based) → the error it fails with.
    pub failures: RefCell<HashMap<usize, CarrierError>>,
    /// The waybills each call carried.
    pub calls: RefCell<Vec<Vec<String>>>,
    /// Any call carrying one of these waybills fails with HTTP 500.
    pub poison: RefCell<Vec<String>>,
}

impl FakeBlueDart {
    pub fn with(shipments: Vec<bluedart_sim::Shipment>) -> FakeBlueDart {
        FakeBlueDart {
            shipments: RefCell::new(shipments),
            ..FakeBlueDart::default()
        }
    }
}

impl Carrier for FakeBlueDart {
    async fn track(&self, awbs: &[String]) -> Result<TrackingReply, CarrierError> {
        self.calls.borrow_mut().push(awbs.to_vec());
        if let Some(error) = self.failures.borrow().get(&self.calls.borrow().len()) {
            return Err(error.clone());
        }
        if awbs.iter().any(|a| self.poison.borrow().contains(a)) {
            return Err(CarrierError::Unavailable { status: 500 });
        }
        let shipments = self.shipments.borrow();
        let found: Vec<&bluedart_sim::Shipment> = shipments
            .iter()
            .filter(|s| awbs.contains(&s.waybill) && !s.scans.is_empty())
            .collect();
        let xml = bluedart_sim::xml::shipment_data(&found, true);
        let parsed = bluedart::parse::parse_tracking(&xml).expect("simulator XML parses");
        Ok(bluedart::events::reply_for(200, awbs, &parsed))
    }

    async fn generate_waybill(&self, _: &WaybillRequest) -> Result<String, CarrierError> {
        unimplemented!("not used by the sync tests")
    }
}

/// `inner`, with `meanwhile` run once while the first call waits for its answer: a change to
/// the store that lands between a sync's read and its save.
pub struct Meanwhile<'a, C> {
    inner: &'a C,
    meanwhile: RefCell<Option<Box<dyn FnOnce() + 'a>>>,
}

impl<'a, C> Meanwhile<'a, C> {
    pub fn new(inner: &'a C, meanwhile: impl FnOnce() + 'a) -> Meanwhile<'a, C> {
        Meanwhile {
            inner,
            meanwhile: RefCell::new(Some(Box::new(meanwhile))),
        }
    }
}

impl<C: Carrier> Carrier for Meanwhile<'_, C> {
    async fn track(&self, awbs: &[String]) -> Result<TrackingReply, CarrierError> {
        let meanwhile = self.meanwhile.borrow_mut().take();
        if let Some(change) = meanwhile {
            change();
        }
        self.inner.track(awbs).await
    }

    async fn generate_waybill(&self, request: &WaybillRequest) -> Result<String, CarrierError> {
        self.inner.generate_waybill(request).await
    }
}

/// An admin's update of cust-1's order that sets its status and nothing else (no waybill, the
/// creation time kept): the change the race tests land while a call waits.
pub fn status_update(order_status: &str) -> OrderInput {
    OrderInput {
        customer_id: "cust-1".into(),
        order_status: order_status.into(),
        created_at: None,
        awb_no: None,
    }
}
