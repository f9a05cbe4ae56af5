//! Everything the simulator remembers: shipments, issued references, switches and counters.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::faults::{Endpoint, Fault, FaultRule};
use crate::model::{Scan, Shipment};

/// Fixed at start: the account the worker must present.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub client_id: String,
    pub client_secret: String,
    pub login_id: String,
    pub licence_key: String,
    /// Key the simulator signs its login tokens with.
    pub jwt_key: Vec<u8>,
    pub token_ttl_secs: i64,
    /// First waybill number `GenerateWayBill` hands out.
    pub first_generated_awb: u64,
    /// Load the demo shipments at start (and on reset).
    pub demo: bool,
}

impl Default for SimConfig {
    /// The development account; `.dev.vars.example` carries the same values.
    fn default() -> Self {
        SimConfig {
            client_id: "dev-client-id".into(),
            client_secret: "dev-client-secret".into(),
            login_id: "DEVLOGIN".into(),
            licence_key: "dev-licence-key".into(),
            jwt_key: b"bluedart-simulator-signing-key".to_vec(),
            token_ttl_secs: 24 * 60 * 60,
            first_generated_awb: 69_000_000_001,
            demo: false,
        }
    }
}

/// Switches that change how the account behaves; changeable at run time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    /// Most waybills one tracking call may carry.
    pub tracking_cap: usize,
    /// Answer a lone unknown waybill in the older `NF` form instead of `<Error>`.
    pub legacy_not_found: bool,
    /// Answer `License Mismatch` to any tracking call that carries `verno`, as some accounts do.
    pub reject_verno: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            tracking_cap: 50,
            legacy_not_found: false,
            reject_verno: true,
        }
    }
}

/// One call as it arrived.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    pub endpoint: Endpoint,
    /// Milliseconds since the Unix epoch when the request arrived.
    pub at_ms: i64,
    pub path: String,
    /// Tracking calls: the waybills in `numbers`, in order.
    pub waybills: Vec<String>,
    /// The HTTP status answered; 0 for a dropped connection (or not answered yet).
    pub status: u16,
}

/// The per-endpoint switches.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointBehaviour {
    pub latency_ms: u64,
    pub fault: Option<FaultRule>,
}

#[derive(Debug)]
pub struct SimState {
    pub config: SimConfig,
    pub settings: Settings,
    pub shipments: HashMap<String, Shipment>,
    /// `CreditReferenceNo` → the waybill generated for it.
    pub credit_refs: HashMap<String, String>,
    pub next_awb: u64,
    pub behaviour: HashMap<Endpoint, EndpointBehaviour>,
    /// Waybills that make any tracking call carrying them fail, and how.
    pub poison: HashMap<String, Fault>,
    pub calls: Vec<CallRecord>,
    /// Every push attempt made (`/__control/push`, the demo's journey), oldest first.
    pub pushes: Vec<crate::push::PushAttempt>,
}

impl SimState {
    pub fn new(config: SimConfig) -> SimState {
        let mut state = SimState {
            next_awb: config.first_generated_awb,
            config,
            settings: Settings::default(),
            shipments: HashMap::new(),
            credit_refs: HashMap::new(),
            behaviour: HashMap::new(),
            poison: HashMap::new(),
            calls: Vec::new(),
            pushes: Vec::new(),
        };
        if state.config.demo {
            state.load(crate::demo::shipments());
        }
        state
    }

    /// Back to the state at start.
    pub fn reset(&mut self) {
        *self = SimState::new(self.config.clone());
    }

    /// Adds or replaces shipments by waybill.
    pub fn load(&mut self, shipments: Vec<Shipment>) {
        for s in shipments {
            self.shipments.insert(s.waybill.clone(), s);
        }
    }

    /// Appends a scan; the shipment's status fields follow its newest scan.
    pub fn append_scan(&mut self, waybill: &str, scan: Scan) -> Option<&Shipment> {
        let shipment = self.shipments.get_mut(waybill)?;
        shipment.scans.push(scan);
        Some(shipment)
    }

    pub fn set_fault(&mut self, endpoint: Endpoint, rule: Option<FaultRule>) {
        self.behaviour.entry(endpoint).or_default().fault = rule;
    }

    pub fn set_latency(&mut self, endpoint: Endpoint, ms: u64) {
        self.behaviour.entry(endpoint).or_default().latency_ms = ms;
    }

    pub fn clear_faults(&mut self) {
        self.behaviour.clear();
    }

    /// Registers an arriving call and decides its latency and fault. Returns the call's index
    /// in `calls`, so the answered status can be filled in later.
    pub fn arrive(
        &mut self,
        endpoint: Endpoint,
        path: &str,
        waybills: Vec<String>,
        at_ms: i64,
    ) -> (usize, u64, Option<Fault>) {
        let poisoned = waybills.iter().find_map(|w| self.poison.get(w)).cloned();
        let behaviour = self.behaviour.entry(endpoint).or_default();
        let latency = behaviour.latency_ms;
        let fault = match behaviour.fault.as_mut() {
            _ if poisoned.is_some() => poisoned,
            Some(rule) => {
                let (fault, used_up) = rule.next_call();
                if used_up {
                    behaviour.fault = None;
                }
                fault
            }
            None => None,
        };
        self.calls.push(CallRecord {
            endpoint,
            at_ms,
            path: path.to_owned(),
            waybills,
            status: 0,
        });
        (self.calls.len() - 1, latency, fault)
    }

    pub fn calls_to(&self, endpoint: Endpoint) -> Vec<CallRecord> {
        self.calls
            .iter()
            .filter(|c| c.endpoint == endpoint)
            .cloned()
            .collect()
    }
}
