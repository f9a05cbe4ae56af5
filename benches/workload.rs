//! The benchmarks' Blue Dart answer: 50 waybills, which `runtime` works through natively and
//! sends to the worker's bench build, in wasm (and `examples/sync_batch.rs` for instruction
//! counts).

use bluedart_sim::demo::delivered_in_kochi;
use bluedart_sim::{Consignee, Shipment, demo};

pub const WAYBILLS: usize = 50;

/// 50 parcels like the demo's out-for-delivery one, with the consignee block real answers carry.
pub fn answer() -> (String, Vec<String>) {
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
