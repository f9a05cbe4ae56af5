//! The simulator over real HTTP: every behaviour `bluedart-protocol.md` describes, plus the
//! control API, faults and counters.

use std::time::{Duration, Instant};

use bluedart_sim::demo::{ist, scan};
use bluedart_sim::{
    AnswerShape, Consignee, Endpoint, Fault, FaultRule, Shipment, SimConfig, Simulator,
};
use serde_json::{Value, json};

const TRACK: &str = "/in/transportation/tracking/v1";

struct Client {
    sim: Simulator,
    agent: ureq::Agent,
}

struct Answer {
    status: u16,
    content_type: String,
    retry_after: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn start(config: SimConfig) -> Client {
    let sim = Simulator::start(config, "127.0.0.1:0".parse().unwrap()).unwrap();
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    Client { sim, agent }
}

fn demo() -> Client {
    start(SimConfig {
        demo: true,
        ..SimConfig::default()
    })
}

fn read(resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut resp = resp.expect("the simulator answers");
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let content_type = header("content-type").unwrap_or_default();
    let retry_after = header("retry-after");
    Answer {
        status: resp.status().as_u16(),
        content_type,
        retry_after,
        body: resp.body_mut().read_to_string().unwrap(),
    }
}

impl Client {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    fn login_with(&self, id: &str, secret: &str) -> Answer {
        read(
            self.agent
                .get(self.url("/in/transportation/token/v1/login"))
                .header("ClientID", id)
                .header("clientSecret", secret)
                .call(),
        )
    }

    fn token(&self) -> String {
        let answer = self.login_with("dev-client-id", "dev-client-secret");
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.json()["JWTToken"].as_str().unwrap().to_owned()
    }

    fn track_query(&self, path: &str, query: &str, token: Option<&str>) -> Answer {
        let mut req = self.agent.get(self.url(&format!("{path}?{query}")));
        if let Some(token) = token {
            req = req.header("JWTToken", token);
        }
        read(req.call())
    }

    /// A tracking call as a well-behaved client makes it.
    fn track(&self, numbers: &str) -> Answer {
        let token = self.token();
        self.track_query(TRACK, &query(numbers, "1"), Some(&token))
    }

    fn generate(&self, body: &Value) -> Answer {
        let token = self.token();
        read(
            self.agent
                .post(self.url("/in/transportation/waybill/v1/GenerateWayBill"))
                .header("JWTToken", &token)
                .header("Content-Type", "application/json")
                .send(body.to_string()),
        )
    }

    fn control(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let url = self.url(&format!("/__control{path}"));
        read(match (method, body) {
            ("GET", _) => self.agent.get(url).call(),
            ("DELETE", _) => self.agent.delete(url).call(),
            ("POST", body) => self
                .agent
                .post(url)
                .send(body.unwrap_or(json!({})).to_string()),
            ("PUT", body) => self
                .agent
                .put(url)
                .send(body.unwrap_or(json!({})).to_string()),
            _ => unreachable!(),
        })
    }
}

fn query(numbers: &str, scan: &str) -> String {
    format!(
        "handler=tnt&action=custawbquery&loginid=DEVLOGIN&awb=awb&numbers={numbers}&format=xml&lickey=dev-licence-key&scan={scan}"
    )
}

/// The response sample from `bluedart-protocol.md` §2.1, exactly.
const PROTOCOL_SAMPLE: &str = r#"<ShipmentData>
  <Shipment WaybillNo="81234567890" RefNo="ORD-2291">
    <Service>Dart Apex - Door To Door</Service>
    <PickUpDate>21 January 2026</PickUpDate>
    <PickUpTime>1715</PickUpTime>
    <Origin>PUNE</Origin>
    <OriginAreaCode>PNQ</OriginAreaCode>
    <Destination>KOCHI</Destination>
    <DestinationAreaCode>COK</DestinationAreaCode>
    <ProductType>Non Documents</ProductType>
    <Weight>0.8</Weight>
    <Status>SHIPMENT OUT FOR DELIVERY</Status>
    <StatusType>UD</StatusType>
    <ExpectedDeliveryDate>24 January 2026</ExpectedDeliveryDate>
    <StatusDate>24 January 2026</StatusDate>
    <StatusTime>09:12</StatusTime>
    <NewWaybillNo></NewWaybillNo>
    <ReceivedBy></ReceivedBy>
    <Scans>
      <ScanDetail>
        <Scan>SHIPMENT OUT FOR DELIVERY</Scan><ScanCode>002</ScanCode><ScanType>UD</ScanType>
        <ScanGroupType>S</ScanGroupType><ScanDate>24-Jan-2026</ScanDate><ScanTime>09:12</ScanTime>
        <ScannedLocation>KOCHI SERVICE CENTRE</ScannedLocation><ScannedLocationCode>COK</ScannedLocationCode>
      </ScanDetail>
      <ScanDetail>
        <Scan>SHIPMENT ARRIVED</Scan><ScanCode>001</ScanCode><ScanType>UD</ScanType>
        <ScanGroupType>S</ScanGroupType><ScanDate>23-Jan-2026</ScanDate><ScanTime>22:40</ScanTime>
        <ScannedLocation>KOCHI SERVICE CENTRE</ScannedLocation><ScannedLocationCode>COK</ScannedLocationCode>
      </ScanDetail>
      <ScanDetail>
        <Scan>SHIPMENT OUTSCANNED TO NETWORK</Scan><ScanCode>003</ScanCode><ScanType>UD</ScanType>
        <ScanGroupType>S</ScanGroupType><ScanDate>22-Jan-2026</ScanDate><ScanTime>03:05</ScanTime>
        <ScannedLocation>PUNE HUB</ScannedLocation><ScannedLocationCode>PNH</ScannedLocationCode>
      </ScanDetail>
    </Scans>
  </Shipment>
</ShipmentData>
"#;

const NOT_FOUND: &str =
    "<ShipmentData><Error>Incorrect waybill number or No information</Error></ShipmentData>\n";
const LICENSE_MISMATCH: &str = "<ShipmentData><Error>License Mismatch</Error></ShipmentData>\n";

// --- login and tokens ---------------------------------------------------------------------

#[test]
fn login_returns_a_jwt_valid_for_24_hours() {
    let c = start(SimConfig::default());
    let token = c.token();
    let payload = token.split('.').nth(1).unwrap();
    use base64::Engine;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        86_400
    );
    let header = token.split('.').next().unwrap();
    assert_eq!(header, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9");
}

#[test]
fn wrong_credentials_get_401_with_a_gateway_fault() {
    let c = start(SimConfig::default());
    let answer = c.login_with("dev-client-id", "wrong");
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.json(),
        json!({"fault": {"faultstring": "Invalid ApiKey"}})
    );
    assert_eq!(c.login_with("", "").status, 401);
}

#[test]
fn business_calls_need_a_valid_jwt() {
    let c = demo();
    let q = query("81234567890", "1");
    assert_eq!(c.track_query(TRACK, &q, None).status, 403);
    assert_eq!(c.track_query(TRACK, &q, Some("a.b.c")).status, 403);
    let foreign = bluedart_sim::jwt::issue(b"someone else", "x", 0, i64::MAX / 2);
    assert_eq!(c.track_query(TRACK, &q, Some(&foreign)).status, 403);

    let expired = start(SimConfig {
        demo: true,
        token_ttl_secs: 0,
        ..SimConfig::default()
    });
    let token = expired.token();
    let answer = expired.track_query(TRACK, &q, Some(&token));
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.json()["fault"]["faultstring"],
        "Access Token expired"
    );
}

// --- tracking -----------------------------------------------------------------------------

#[test]
fn tracking_answer_matches_the_protocol_sample_byte_for_byte() {
    let c = demo();
    let answer = c.track("81234567890");
    assert_eq!(answer.status, 200);
    assert!(answer.content_type.starts_with("text/xml"));
    assert_eq!(answer.body, PROTOCOL_SAMPLE);
}

#[test]
fn both_tracking_paths_answer_the_same() {
    let c = demo();
    let token = c.token();
    let q = query("81234567890", "1");
    let a = c.track_query(TRACK, &q, Some(&token));
    let b = c.track_query("/in/transportation/tracking/v1/shipment", &q, Some(&token));
    assert_eq!(a.body, PROTOCOL_SAMPLE);
    assert_eq!(b.body, PROTOCOL_SAMPLE);
}

#[test]
fn scan_0_gives_the_current_status_without_scans() {
    let c = demo();
    let token = c.token();
    let answer = c.track_query(TRACK, &query("81234567890", "0"), Some(&token));
    let expected = PROTOCOL_SAMPLE
        .split("    <Scans>")
        .next()
        .unwrap()
        .to_owned()
        + "  </Shipment>\n</ShipmentData>\n";
    assert_eq!(answer.body, expected);
}

#[test]
fn many_waybills_per_call_with_unknown_ones_left_out() {
    let c = demo();
    let answer = c.track("81234567892,99999999999,81234567890");
    let waybills: Vec<&str> = answer
        .body
        .match_indices("<Shipment WaybillNo=\"")
        .map(|(i, m)| &answer.body[i + m.len()..i + m.len() + 11])
        .collect();
    assert_eq!(waybills, ["81234567892", "81234567890"]);
    assert!(!answer.body.contains("99999999999"));
    assert!(!answer.body.contains("<Error>"));
}

#[test]
fn url_encoded_commas_in_numbers_are_understood() {
    let c = demo();
    let answer = c.track("81234567892%2C81234567890");
    assert_eq!(answer.body.matches("<Shipment ").count(), 2);
}

#[test]
fn tracking_cap_is_configurable_and_defaults_to_50() {
    let c = demo();
    let mut fifty: Vec<String> = (0..49).map(|i| format!("7000000{i:04}")).collect();
    fifty.push("81234567890".into());
    let answer = c.track(&fifty.join(","));
    assert!(answer.body.contains("<Shipment WaybillNo=\"81234567890\""));
    let fifty_one = format!("{},81234567891", fifty.join(","));
    assert_eq!(
        c.track(&fifty_one).body,
        "<ShipmentData><Error>Maximum 50 waybills allowed per request</Error></ShipmentData>\n"
    );
    let set = c.control("PUT", "/settings", Some(json!({"trackingCap": 2})));
    assert_eq!(set.json()["trackingCap"], 2);
    assert_eq!(set.json()["rejectVerno"], true, "other settings are kept");
    assert!(
        c.track("81234567890,81234567891,81234567892")
            .body
            .contains("Maximum 2")
    );
}

#[test]
fn a_lone_unknown_waybill_gets_the_error_form_or_the_older_nf_form() {
    let c = demo();
    assert_eq!(c.track("99999999999").body, NOT_FOUND);
    c.sim.state().settings.legacy_not_found = true;
    assert_eq!(
        c.track("99999999999").body,
        "<ShipmentData>\n  <Shipment WaybillNo=\"99999999999\">\n    <Status>Incorrect Waybill number or No Information</Status>\n    <StatusType>NF</StatusType>\n  </Shipment>\n</ShipmentData>\n"
    );
}

#[test]
fn a_returning_shipment_answers_forward_then_return() {
    let c = demo();
    let body = c.track("81234567893").body;
    let forward = body
        .find("<Shipment WaybillNo=\"81234567893\" RefNo=\"ORD-2294\">")
        .unwrap();
    let ret = body
        .find("<Shipment WaybillNo=\"81234567899\" RefNo=\"RTO - 81234567893\">")
        .unwrap();
    assert!(forward < ret);
    let forward_part = &body[forward..ret];
    assert!(forward_part.contains("<StatusType>RT</StatusType>"));
    assert!(forward_part.contains("<NewWaybillNo>81234567899</NewWaybillNo>"));
    let return_part = &body[ret..];
    assert!(return_part.contains("<StatusType>DL</StatusType>"));
    assert!(return_part.contains("<ScanCode>118</ScanCode><ScanType>DL</ScanType>"));
    // Asking for both does not list the return twice.
    assert_eq!(c.track("81234567893,81234567899").body, body);
}

fn custom_shipment() -> Shipment {
    Shipment {
        waybill: "50000000001".into(),
        ref_no: "R&D <1>".into(),
        service: "Dart Apex".into(),
        pickup: Some(ist("2026-03-04 01:30")),
        consignee: Some(Consignee {
            name: "RAVI KUMAR".into(),
            phone: "9800000000".into(),
            pincode: "011001".into(),
            ..Consignee::default()
        }),
        scans: vec![
            scan(
                "PICKED UP",
                "S",
                "015",
                "PU",
                "2026-03-04 01:30",
                "PUNE/PNQ",
            ),
            scan(
                "OUT FOR DELIVERY,  DETAILS & MORE",
                "S",
                "009",
                "UD",
                "2026-03-05 02:07",
                "DELHI/DEL",
            ),
        ],
        ..Shipment::default()
    }
}

#[test]
fn dates_are_ist_in_blue_darts_formats_and_codes_stay_zero_padded() {
    let c = start(SimConfig::default());
    c.sim.state().load(vec![custom_shipment()]);
    let body = c.track("50000000001").body;
    assert!(
        body.contains("<PickUpDate>04 March 2026</PickUpDate>"),
        "{body}"
    );
    assert!(body.contains("<PickUpTime>0130</PickUpTime>"));
    assert!(body.contains("<StatusDate>05 March 2026</StatusDate>"));
    assert!(body.contains("<StatusTime>02:07</StatusTime>"));
    assert!(body.contains("<ScanCode>009</ScanCode>"));
    assert!(body.contains("<ScanDate>05-Mar-2026</ScanDate><ScanTime>02:07</ScanTime>"));
    assert!(body.contains("<ExpectedDeliveryDate></ExpectedDeliveryDate>"));
}

#[test]
fn free_text_is_escaped_with_its_odd_whitespace_kept() {
    let c = start(SimConfig::default());
    c.sim.state().load(vec![custom_shipment()]);
    let body = c.track("50000000001").body;
    assert!(body.contains("RefNo=\"R&amp;D &lt;1&gt;\""), "{body}");
    assert!(body.contains("<Scan>OUT FOR DELIVERY,  DETAILS &amp; MORE</Scan>"));
}

#[test]
fn consignee_personal_data_is_in_the_payload_as_blue_dart_sends_it() {
    let c = start(SimConfig::default());
    c.sim.state().load(vec![custom_shipment()]);
    let body = c.track("50000000001").body;
    assert!(body.contains("<Consignee>RAVI KUMAR</Consignee>"));
    assert!(body.contains("<ConsigneeTelNo>9800000000</ConsigneeTelNo>"));
    assert!(body.contains("<ConsigneePincode>011001</ConsigneePincode>"));
}

#[test]
fn legacy_scans_lack_code_time_and_location() {
    let c = start(SimConfig::default());
    c.sim.state().load(vec![Shipment {
        shape: AnswerShape::Legacy,
        ..custom_shipment()
    }]);
    let body = c.track("50000000001").body;
    assert!(body.contains(
        "      <ScanDetail>\n        <Scan>PICKED UP</Scan><ScanType>PU</ScanType>\n        <ScanGroupType>S</ScanGroupType><ScanDate>04-Mar-2026</ScanDate>\n      </ScanDetail>\n"
    ), "{body}");
    assert!(!body.contains("<ScanCode>"));
}

#[test]
fn code_without_group_and_no_codes_shapes_are_answered_as_real_accounts_send_them() {
    let c = start(SimConfig::default());
    c.sim.state().load(vec![Shipment {
        shape: AnswerShape::CodeWithoutGroup,
        ..custom_shipment()
    }]);
    let body = c.track("50000000001").body;
    assert!(body.contains("<ScanCode>"), "{body}");
    assert!(!body.contains("<ScanGroupType>"), "{body}");
    assert!(body.contains("<ScanTime>"), "{body}");

    c.sim.state().load(vec![Shipment {
        shape: AnswerShape::NoCodes,
        ..custom_shipment()
    }]);
    let body = c.track("50000000001").body;
    assert!(!body.contains("<ScanCode>"), "{body}");
    assert!(!body.contains("<ScanGroupType>"), "{body}");
    assert!(!body.contains("<ScannedLocationCode>"), "{body}");
    assert!(body.contains("<ScanTime>"), "{body}");
    assert!(body.contains("<ScannedLocation>"), "{body}");
    // The shipment-level status is there in every shape: the best evidence without codes.
    assert!(body.contains("<StatusType>"), "{body}");
}

#[test]
fn the_demo_has_a_shipment_in_every_answer_shape() {
    let shapes: Vec<AnswerShape> = bluedart_sim::demo::shipments()
        .iter()
        .map(|s| s.shape)
        .collect();
    for shape in [
        AnswerShape::Full,
        AnswerShape::CodeWithoutGroup,
        AnswerShape::NoCodes,
    ] {
        assert!(shapes.contains(&shape), "{shape:?}");
    }
}

#[test]
fn licence_trouble_answers_200_license_mismatch() {
    let c = demo();
    let token = c.token();
    let wrong_key = query("81234567890", "1").replace("dev-licence-key", "nope");
    let answer = c.track_query(TRACK, &wrong_key, Some(&token));
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, LICENSE_MISMATCH)
    );
    let wrong_login = query("81234567890", "1").replace("DEVLOGIN", "OTHER");
    assert_eq!(
        c.track_query(TRACK, &wrong_login, Some(&token)).body,
        LICENSE_MISMATCH
    );
    let with_verno = format!("{}&verno=1.3", query("81234567890", "1"));
    assert_eq!(
        c.track_query(TRACK, &with_verno, Some(&token)).body,
        LICENSE_MISMATCH
    );
    c.control("PUT", "/settings", Some(json!({"rejectVerno": false})));
    assert_eq!(
        c.track_query(TRACK, &with_verno, Some(&token)).body,
        PROTOCOL_SAMPLE
    );
}

// --- waybill generation ------------------------------------------------------------------

fn waybill_request(credit_ref: &str, origin_area: &str, consignee_pin: &str) -> Value {
    json!({
        "Request": {
            "Shipper": {"OriginArea": origin_area, "CustomerCode": "099960", "CustomerName": "DEMO STORE",
                        "CustomerAddress1": "1 MG ROAD", "CustomerPincode": "411001", "CustomerMobile": "9000000000"},
            "Consignee": {"ConsigneeName": "ASHA MENON", "ConsigneeAddress1": "14/221 MARINE DRIVE",
                          "ConsigneePincode": consignee_pin, "ConsigneeMobile": "9847012345"},
            "Returnadds": {},
            "Services": {"ProductCode": "A", "ProductType": 1, "SubProductCode": "P", "PieceCount": 1,
                         "ActualWeight": 0.8, "DeclaredValue": 1499, "CollectableAmount": 0,
                         "CreditReferenceNo": credit_ref, "PickupDate": "/Date(1769000000000)/", "PickupTime": "1600"}
        },
        "Profile": {"LoginID": "DEVLOGIN", "LicenceKey": "dev-licence-key", "Api_type": "S"}
    })
}

#[test]
fn generate_waybill_succeeds_with_the_documented_body() {
    let c = start(SimConfig::default());
    let answer = c.generate(&waybill_request("ORD-9001", "PNQ", "682031"));
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.json(),
        json!({"GenerateWayBillResult": {
            "AWBNo": "69000000001", "IsError": false, "CCRCRDREF": "ORD-9001",
            "DestinationArea": "COK", "DestinationLocation": "COK", "TokenNumber": "TKN69000000001",
            "ShipmentPickupDate": "/Date(1769000000000)/",
            "Status": [{"StatusCode": "Valid", "StatusInformation": "Waybill Generation Successful"}]}})
    );
    let second = c.generate(&waybill_request("ORD-9002", "PNQ", "682031"));
    assert_eq!(
        second.json()["GenerateWayBillResult"]["AWBNo"],
        "69000000002"
    );
}

#[test]
fn a_generated_waybill_is_unknown_to_tracking_until_scanned() {
    let c = start(SimConfig::default());
    c.generate(&waybill_request("ORD-9001", "PNQ", "682031"));
    assert_eq!(c.track("69000000001").body, NOT_FOUND);
    let scanned = c.control(
        "POST",
        "/shipments/69000000001/scans",
        Some(
            json!({"scan": "SHIPMENT PICKED UP", "code": "015", "type": "PU", "group": "S",
                    "at": "2026-03-04T18:00:00", "location": "PUNE", "locationCode": "PNQ"}),
        ),
    );
    assert_eq!(scanned.status, 200, "{}", scanned.body);
    let body = c.track("69000000001").body;
    assert!(body.contains("RefNo=\"ORD-9001\""));
    assert!(body.contains("<StatusType>PU</StatusType>"));
}

#[test]
fn generate_waybill_business_errors_come_back_as_200_is_error() {
    let c = start(SimConfig::default());
    c.generate(&waybill_request("ORD-9001", "PNQ", "682031"));
    let duplicate = c
        .generate(&waybill_request("ORD-9001", "PNQ", "682031"))
        .json();
    assert_eq!(duplicate["GenerateWayBillResult"]["IsError"], true);
    assert_eq!(
        duplicate["GenerateWayBillResult"]["Status"][0]["StatusInformation"],
        "Waybill already generated"
    );
    let wrong_area = c
        .generate(&waybill_request("ORD-9003", "BOM", "682031"))
        .json();
    assert_eq!(
        wrong_area["GenerateWayBillResult"]["Status"][0]["StatusCode"],
        "InvalidAreaScNotInRegion"
    );
    let mut foreign = waybill_request("ORD-9004", "PNQ", "682031");
    foreign["Profile"]["LoginID"] = json!("SOMEONE");
    let foreign = c.generate(&foreign).json();
    assert_eq!(
        foreign["GenerateWayBillResult"]["Status"][0]["StatusCode"],
        "UserDoesNotExists"
    );
}

#[test]
fn generate_waybill_validation_errors_are_http_400() {
    let c = start(SimConfig::default());
    let answer = c.generate(&waybill_request("ORD-9001", "PNQ", ""));
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body,
        r#"{"status":400,"title":"Bad Request","error-response":[{"StatusCode":"InvalidPinCode","StatusInformation":"Pincode cannot be blank "}]}"#
    );
    let mut heavy = waybill_request("ORD-9002", "PNQ", "682031");
    heavy["Request"]["Services"]["ActualWeight"] = json!(0);
    assert_eq!(c.generate(&heavy).status, 400);
    let mut long_name = waybill_request("ORD-9003", "PNQ", "682031");
    long_name["Request"]["Consignee"]["ConsigneeName"] = json!("A".repeat(31));
    assert_eq!(c.generate(&long_name).status, 400);
}

// --- control API ----------------------------------------------------------------------------

#[test]
fn control_api_loads_shipments_and_moves_them_to_delivered() {
    let c = start(SimConfig::default());
    let loaded = c.control("POST", "/shipments", Some(json!([custom_shipment()])));
    assert_eq!(loaded.json(), json!({"loaded": 1}));
    assert!(
        c.track("50000000001")
            .body
            .contains("<StatusType>UD</StatusType>")
    );
    c.control(
        "POST",
        "/shipments/50000000001/scans",
        Some(
            json!({"scan": "SHIPMENT DELIVERED", "code": "000", "type": "DL", "group": "T",
                    "at": "2026-03-05T15:00:00", "location": "DELHI", "locationCode": "DEL"}),
        ),
    );
    let body = c.track("50000000001").body;
    assert!(body.contains("<Status>SHIPMENT DELIVERED</Status>\n    <StatusType>DL</StatusType>"));
    let first_scan = body.find("<ScanDetail>").unwrap();
    assert!(body[first_scan..].starts_with(
        "<ScanDetail>\n        <Scan>SHIPMENT DELIVERED</Scan><ScanCode>000</ScanCode>"
    ));
    assert_eq!(
        c.control("POST", "/shipments/1/scans", Some(json!({})))
            .status,
        400
    );
    let missing = json!({"scan": "X", "code": "001", "type": "UD", "group": "S", "at": "2026-03-05T15:00:00"});
    assert_eq!(
        c.control("POST", "/shipments/1/scans", Some(missing))
            .status,
        404
    );
    assert_eq!(c.control("GET", "/nope", None).status, 404);
}

#[test]
fn reset_restores_the_starting_state() {
    let c = demo();
    c.control(
        "PUT",
        "/faults/tracking",
        Some(json!({"mode": "status", "code": 500})),
    );
    c.control("POST", "/shipments", Some(json!(custom_shipment())));
    c.control("POST", "/reset", None);
    assert_eq!(c.track("81234567890").body, PROTOCOL_SAMPLE);
    assert_eq!(c.track("50000000001").body, NOT_FOUND);
    let waybills = c.control("GET", "/shipments", None).json();
    assert_eq!(waybills["waybills"].as_array().unwrap().len(), 9);
}

// --- faults ---------------------------------------------------------------------------------

fn with_tracking_fault(fault: Value) -> Client {
    let c = demo();
    let set = c.control("PUT", "/faults/tracking", Some(fault));
    assert_eq!(set.status, 200, "{}", set.body);
    c
}

#[test]
fn fault_drop_closes_the_connection_without_an_answer() {
    let c = with_tracking_fault(json!({"mode": "drop"}));
    let token = c.token();
    let result = c
        .agent
        .get(c.url(&format!("{TRACK}?{}", query("81234567890", "1"))))
        .header("JWTToken", &token)
        .call();
    assert!(result.is_err(), "expected a connection error");
    assert_eq!(c.sim.calls(Endpoint::Tracking)[0].status, 0);
}

#[test]
fn fault_hang_delays_the_answer() {
    let c = with_tracking_fault(json!({"mode": "hang", "ms": 400}));
    let started = Instant::now();
    let answer = c.track("81234567890");
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(answer.body, PROTOCOL_SAMPLE);
}

#[test]
fn fault_status_codes_answer_with_an_html_error_page() {
    for code in [500, 502, 503] {
        let c = with_tracking_fault(json!({"mode": "status", "code": code}));
        let answer = c.track("81234567890");
        assert_eq!(answer.status, code);
        assert!(answer.content_type.starts_with("text/html"));
        assert!(answer.body.starts_with("<html>"));
    }
}

#[test]
fn fault_html_ok_is_a_maintenance_page_with_status_200() {
    let c = with_tracking_fault(json!({"mode": "htmlOk"}));
    let answer = c.track("81234567890");
    assert_eq!(answer.status, 200);
    assert!(answer.content_type.starts_with("text/html"));
    assert!(answer.body.starts_with("<!DOCTYPE html>"));
}

#[test]
fn fault_malformed_and_truncated_xml() {
    let c = with_tracking_fault(json!({"mode": "malformedXml"}));
    let answer = c.track("81234567890");
    assert_eq!(answer.status, 200);
    assert!(answer.body.contains("<Status>SHIPMENT ARRIVED</Stat>"));

    let c = with_tracking_fault(json!({"mode": "truncatedXml"}));
    let answer = c.track("81234567890");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body.len(), PROTOCOL_SAMPLE.len() / 2);
    assert!(PROTOCOL_SAMPLE.starts_with(&answer.body));
}

#[test]
fn fault_expired_token_refuses_a_valid_token_once() {
    let c = with_tracking_fault(json!({"mode": "expiredToken", "times": 1}));
    let token = c.token();
    let q = query("81234567890", "1");
    let first = c.track_query(TRACK, &q, Some(&token));
    assert_eq!(first.status, 401);
    assert_eq!(
        first.json(),
        json!({"fault": {"faultstring": "Access Token expired"}})
    );
    assert_eq!(c.track_query(TRACK, &q, Some(&token)).body, PROTOCOL_SAMPLE);
}

#[test]
fn fault_license_mismatch() {
    let c = with_tracking_fault(json!({"mode": "licenseMismatch"}));
    let answer = c.track("81234567890");
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, LICENSE_MISMATCH)
    );
}

#[test]
fn fault_too_many_requests_sends_retry_after() {
    let c = with_tracking_fault(json!({"mode": "tooManyRequests", "retryAfterSecs": 7}));
    let answer = c.track("81234567890");
    assert_eq!(answer.status, 429);
    assert_eq!(answer.retry_after.as_deref(), Some("7"));
    assert_eq!(
        answer.json(),
        json!({"fault": {"faultstring": "Rate limit quota violation"}})
    );
}

#[test]
fn added_latency_applies_to_every_call_of_its_endpoint_only() {
    let c = demo();
    c.control("PUT", "/latency/tracking", Some(json!({"ms": 250})));
    let started = Instant::now();
    c.token();
    let login_took = started.elapsed();
    let started = Instant::now();
    c.track("81234567890");
    c.track("81234567890");
    assert!(started.elapsed() >= Duration::from_millis(500));
    assert!(
        login_took < Duration::from_millis(250),
        "login is not slowed: {login_took:?}"
    );
}

#[test]
fn faults_are_per_endpoint_and_can_target_one_call() {
    let c = demo();
    c.sim.state().set_fault(
        Endpoint::Tracking,
        Some(FaultRule::on_call(2, Fault::Status { code: 500 })),
    );
    assert_eq!(c.track("81234567890").status, 200);
    assert_eq!(c.track("81234567890").status, 500);
    assert_eq!(c.track("81234567890").status, 200);

    c.control(
        "PUT",
        "/faults/login",
        Some(json!({"mode": "status", "code": 503})),
    );
    assert_eq!(
        c.login_with("dev-client-id", "dev-client-secret").status,
        503
    );
    c.control("DELETE", "/faults", None);
    assert_eq!(
        c.login_with("dev-client-id", "dev-client-secret").status,
        200
    );
    assert_eq!(
        c.control("PUT", "/faults/nowhere", Some(json!({"mode": "drop"})))
            .status,
        400
    );
}

#[test]
fn waybill_endpoint_can_fail_on_its_own() {
    let c = start(SimConfig::default());
    c.control(
        "PUT",
        "/faults/waybill",
        Some(json!({"mode": "status", "code": 502})),
    );
    assert_eq!(
        c.generate(&waybill_request("ORD-1", "PNQ", "682031"))
            .status,
        502
    );
}

// --- counters -------------------------------------------------------------------------------

#[test]
fn counters_record_each_call_its_waybills_and_arrival_time() {
    let c = demo();
    let token = c.token();
    c.track_query(TRACK, &query("81234567890,81234567891", "1"), Some(&token));
    std::thread::sleep(Duration::from_millis(50));
    c.track_query(TRACK, &query("81234567892", "1"), Some(&token));

    let tracking = c.sim.calls(Endpoint::Tracking);
    assert_eq!(tracking.len(), 2);
    assert_eq!(tracking[0].waybills, ["81234567890", "81234567891"]);
    assert_eq!(tracking[1].waybills, ["81234567892"]);
    assert!(tracking[1].at_ms - tracking[0].at_ms >= 50);
    assert_eq!(tracking[0].status, 200);
    assert_eq!(c.sim.calls(Endpoint::Login).len(), 1);

    let over_http = c.control("GET", "/calls", None).json();
    let calls = over_http["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[1]["endpoint"], "tracking");
    assert_eq!(calls[1]["waybills"], json!(["81234567890", "81234567891"]));
    assert!(calls[1]["atMs"].as_i64().unwrap() > 1_700_000_000_000);

    c.control("DELETE", "/calls", None);
    assert!(c.sim.calls(Endpoint::Tracking).is_empty());
}

#[test]
fn a_poisoned_waybill_fails_every_tracking_call_that_carries_it_until_cured() {
    let c = demo();
    let set = c.control("PUT", "/poison/81234567890", None);
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(c.track("81234567890").status, 500);
    assert_eq!(
        c.track("81234567891,81234567890").status,
        500,
        "in company too"
    );
    assert_eq!(
        c.track("81234567891").status,
        200,
        "calls without it are answered"
    );
    c.control(
        "PUT",
        "/poison/81234567891",
        Some(json!({"mode": "malformedXml"})),
    );
    assert!(!c.track("81234567891").body.ends_with("</ShipmentData>"));
    c.control("DELETE", "/poison/81234567890", None);
    assert_eq!(c.track("81234567890").body, PROTOCOL_SAMPLE);
    c.control("POST", "/reset", None);
    assert_eq!(c.track("81234567891").status, 200, "reset cures all");
}
