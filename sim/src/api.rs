//! Blue Dart's endpoints as pure functions of the simulator's state: login, tracking and
//! waybill generation. The HTTP server feeds them and applies faults around them.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::jwt::{self, TokenError};
use crate::model::{Consignee, Shipment};
use crate::state::SimState;
use crate::xml;

/// An answer before it goes on the wire.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn new(status: u16, content_type: &'static str, body: String) -> Reply {
        Reply {
            status,
            content_type,
            body,
            headers: Vec::new(),
        }
    }

    pub fn json(status: u16, body: &Value) -> Reply {
        Reply::new(status, "application/json", body.to_string())
    }

    pub fn xml(body: String) -> Reply {
        Reply::new(200, "text/xml; charset=utf-8", body)
    }
}

/// The gateway's (Apigee's) error body.
pub fn gateway_fault(status: u16, text: &str) -> Reply {
    Reply::json(status, &json!({"fault": {"faultstring": text}}))
}

/// `GET /in/transportation/token/v1/login` with `ClientID` and `clientSecret` headers.
pub fn login(state: &SimState, headers: &HashMap<String, String>, now_secs: i64) -> Reply {
    let id = headers.get("clientid").map(String::as_str);
    let secret = headers.get("clientsecret").map(String::as_str);
    if id != Some(&state.config.client_id) || secret != Some(&state.config.client_secret) {
        return gateway_fault(401, "Invalid ApiKey");
    }
    let token = jwt::issue(
        &state.config.jwt_key,
        &state.config.client_id,
        now_secs,
        state.config.token_ttl_secs,
    );
    Reply::json(200, &json!({ "JWTToken": token }))
}

/// Checks the `JWTToken` header of a business call: 403 when missing or not ours, 401 when
/// expired.
pub fn authorise(
    state: &SimState,
    headers: &HashMap<String, String>,
    now_secs: i64,
) -> Result<(), Reply> {
    let Some(token) = headers.get("jwttoken") else {
        return Err(gateway_fault(403, "JWTToken header is missing"));
    };
    match jwt::verify(&state.config.jwt_key, token, now_secs) {
        Ok(()) => Ok(()),
        Err(TokenError::Expired) => Err(gateway_fault(401, "Access Token expired")),
        Err(_) => Err(gateway_fault(403, "Invalid Access Token")),
    }
}

/// The waybills a tracking query asks for, in order.
pub fn requested_waybills(query: &HashMap<String, String>) -> Vec<String> {
    query
        .get("numbers")
        .map(|n| {
            n.split(',')
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// `GET /in/transportation/tracking/v1[/shipment]?handler=tnt&action=custawbquery&…`
pub fn track(state: &SimState, query: &HashMap<String, String>) -> Reply {
    let q = |k: &str| query.get(k).map(String::as_str);
    if q("handler") != Some("tnt") || q("action") != Some("custawbquery") || q("awb") != Some("awb")
    {
        return Reply::new(
            400,
            "text/plain",
            "expected handler=tnt&action=custawbquery&awb=awb".into(),
        );
    }
    if q("format") != Some("xml") {
        return Reply::new(
            400,
            "text/plain",
            "the simulator answers format=xml only".into(),
        );
    }
    if q("loginid") != Some(&state.config.login_id)
        || q("lickey") != Some(&state.config.licence_key)
        || (state.settings.reject_verno && query.contains_key("verno"))
    {
        return Reply::xml(xml::error_data(xml::LICENSE_MISMATCH));
    }
    let waybills = requested_waybills(query);
    if waybills.len() > state.settings.tracking_cap {
        return Reply::xml(xml::error_data(&format!(
            "Maximum {} waybills allowed per request",
            state.settings.tracking_cap
        )));
    }
    let with_scans = q("scan") == Some("1");
    let mut found: Vec<&Shipment> = Vec::new();
    for waybill in &waybills {
        let Some(shipment) = tracked(state, waybill) else {
            continue;
        };
        // A returning shipment's answer carries its return waybill second.
        for s in std::iter::once(shipment).chain(tracked(state, &shipment.new_waybill)) {
            if !found.iter().any(|f| f.waybill == s.waybill) {
                found.push(s);
            }
        }
    }
    if found.is_empty() {
        return match waybills.as_slice() {
            [lone] if state.settings.legacy_not_found => Reply::xml(xml::legacy_not_found(lone)),
            _ => Reply::xml(xml::error_data(xml::NO_INFORMATION)),
        };
    }
    Reply::xml(xml::shipment_data(&found, with_scans))
}

/// A waybill nobody has scanned yet is as unknown to tracking as a wrong one.
fn tracked<'a>(state: &'a SimState, waybill: &str) -> Option<&'a Shipment> {
    state.shipments.get(waybill).filter(|s| !s.scans.is_empty())
}

/// Pincode prefixes the simulator knows, with the Blue Dart area serving them.
const AREAS: &[(&str, &str, &str)] = &[
    ("110", "DEL", "NEW DELHI"),
    ("400", "BOM", "MUMBAI"),
    ("411", "PNQ", "PUNE"),
    ("560", "BLR", "BENGALURU"),
    ("600", "MAA", "CHENNAI"),
    ("682", "COK", "KOCHI"),
];

fn area_of(pincode: &str) -> Option<(&'static str, &'static str)> {
    AREAS
        .iter()
        .find(|(prefix, _, _)| pincode.starts_with(prefix))
        .map(|(_, area, city)| (*area, *city))
}

fn text<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn validation_error(code: &str, information: &str) -> Reply {
    Reply::json(
        400,
        &json!({"status": 400, "title": "Bad Request",
                "error-response": [{"StatusCode": code, "StatusInformation": information}]}),
    )
}

fn business_error(code: &str, information: &str) -> Reply {
    Reply::json(
        200,
        &json!({"GenerateWayBillResult": {
            "AWBNo": null, "IsError": true, "CCRCRDREF": null, "DestinationArea": null,
            "DestinationLocation": null, "TokenNumber": null, "ShipmentPickupDate": null,
            "Status": [{"StatusCode": code, "StatusInformation": information}]}}),
    )
}

/// `POST /in/transportation/waybill/v1/GenerateWayBill`
pub fn generate_waybill(state: &mut SimState, body: &str) -> Reply {
    let Ok(req) = serde_json::from_str::<Value>(body) else {
        return validation_error("InvalidRequest", "Request body is not valid JSON");
    };
    let shipper_pin = text(&req, &["Request", "Shipper", "CustomerPincode"]);
    let consignee_pin = text(&req, &["Request", "Consignee", "ConsigneePincode"]);
    if shipper_pin.trim().is_empty() || consignee_pin.trim().is_empty() {
        return validation_error("InvalidPinCode", "Pincode cannot be blank ");
    }
    let consignee_name = text(&req, &["Request", "Consignee", "ConsigneeName"]);
    if consignee_name.trim().is_empty() || consignee_name.chars().count() > 30 {
        return validation_error(
            "InvalidConsigneeName",
            "Consignee name is required and at most 30 characters",
        );
    }
    let services = &req["Request"]["Services"];
    let weight = services["ActualWeight"]
        .as_f64()
        .or_else(|| services["ActualWeight"].as_str()?.parse().ok())
        .unwrap_or(0.0);
    if weight <= 0.0 {
        return validation_error("InvalidActualWeight", "ActualWeight must be greater than 0");
    }
    let credit_ref = text(&req, &["Request", "Services", "CreditReferenceNo"]);
    if credit_ref.is_empty() || credit_ref.chars().count() > 20 {
        return validation_error(
            "InvalidCreditReferenceNo",
            "CreditReferenceNo is required and at most 20 characters",
        );
    }
    if text(&req, &["Profile", "LoginID"]) != state.config.login_id
        || text(&req, &["Profile", "LicenceKey"]) != state.config.licence_key
    {
        return business_error("UserDoesNotExists", "User does not exists");
    }
    let origin_area = text(&req, &["Request", "Shipper", "OriginArea"]);
    let Some((shipper_area, origin_city)) = area_of(shipper_pin).filter(|(a, _)| *a == origin_area)
    else {
        return business_error(
            "InvalidAreaScNotInRegion",
            "Origin area does not serve the shipper pincode",
        );
    };
    if state.credit_refs.contains_key(credit_ref) {
        return business_error("WaybillAlreadyGenerated", "Waybill already generated");
    }
    let (dest_area, dest_city) = area_of(consignee_pin).unwrap_or(("XXX", "UNKNOWN"));
    let awb = state.next_awb.to_string();
    state.next_awb += 1;
    state.credit_refs.insert(credit_ref.to_owned(), awb.clone());
    let consignee = &req["Request"]["Consignee"];
    state.load(vec![Shipment {
        waybill: awb.clone(),
        ref_no: credit_ref.to_owned(),
        service: "Dart Apex - Door To Door".into(),
        origin: origin_city.into(),
        origin_area_code: shipper_area.into(),
        destination: dest_city.into(),
        destination_area_code: dest_area.into(),
        product_type: "Non Documents".into(),
        weight: weight.to_string(),
        consignee: Some(Consignee {
            name: consignee_name.into(),
            address1: text(consignee, &["ConsigneeAddress1"]).into(),
            address2: text(consignee, &["ConsigneeAddress2"]).into(),
            address3: text(consignee, &["ConsigneeAddress3"]).into(),
            pincode: consignee_pin.into(),
            phone: text(consignee, &["ConsigneeMobile"]).into(),
        }),
        ..Shipment::default()
    }]);
    Reply::json(
        200,
        &json!({"GenerateWayBillResult": {
            "AWBNo": awb, "IsError": false, "CCRCRDREF": credit_ref,
            "DestinationArea": dest_area, "DestinationLocation": dest_area,
            "TokenNumber": format!("TKN{awb}"),
            "ShipmentPickupDate": text(&req, &["Request", "Services", "PickupDate"]),
            "Status": [{"StatusCode": "Valid", "StatusInformation": "Waybill Generation Successful"}]}}),
    )
}
