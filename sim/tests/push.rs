//! The simulator as a Blue Dart push sender: a journey sent scan by scan to a callback URL, the
//! secret in the header or as the basic-auth password, three tries on failure.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bluedart_sim::{SimConfig, Simulator};
use serde_json::{Value, json};

/// A callback server that answers each request with the next status of `statuses` (then 200)
/// and keeps the requests it got.
fn receiver(statuses: Vec<u16>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/api/carrier/bluedart/push",
        listener.local_addr().unwrap()
    );
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    std::thread::spawn(move || {
        let mut statuses = statuses.into_iter();
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut buffer = vec![0u8; 64 * 1024];
            let mut request = Vec::new();
            // Read the head, then as much body as Content-Length says.
            loop {
                let n = stream.read(&mut buffer).unwrap();
                request.extend_from_slice(&buffer[..n]);
                let text = String::from_utf8_lossy(&request).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if body.len() >= length || n == 0 {
                        break;
                    }
                }
            }
            seen.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&request).to_string());
            let status = statuses.next().unwrap_or(200);
            let answer = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
            );
            stream.write_all(answer.as_bytes()).unwrap();
        }
    });
    (url, got)
}

fn control(sim: &Simulator, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{}{path}", sim.base_url());
    let response = match body {
        Some(body) => agent.post(&url).send_json(body),
        None if method == "GET" => agent.get(&url).call(),
        None => agent.post(&url).send_empty(),
    }
    .unwrap();
    let status = response.status().as_u16();
    let text = response.into_body().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn wait_for_attempts(sim: &Simulator, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = control(sim, "GET", "/__control/pushes", None);
        let attempts = body["pushes"].as_array().unwrap().clone();
        if attempts.len() >= count || Instant::now() > deadline {
            return attempts;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A simulator with the demo shipments.
fn demo_sim() -> Simulator {
    Simulator::start(
        SimConfig {
            demo: true,
            ..SimConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .unwrap()
}

#[test]
fn a_journey_is_pushed_scan_by_scan_with_retries_on_failure() {
    let sim = demo_sim();
    // The first push fails twice, then goes through; the second goes through at once.
    let (url, got) = receiver(vec![503, 500]);
    let (status, body) = control(
        &sim,
        "POST",
        "/__control/push",
        Some(
            json!({"url": url, "token": "s3cret", "waybill": "81234567890",
                    "variant": "lite", "scans": [0, 1], "retryPauseMs": 10}),
        ),
    );
    assert_eq!((status, body["pushes"].as_u64()), (202, Some(2)));
    let attempts = wait_for_attempts(&sim, 4);
    let statuses: Vec<u64> = attempts
        .iter()
        .map(|a| a["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [503, 500, 200, 200]);
    let requests = got.lock().unwrap().clone();
    assert!(requests[0].contains("token: s3cret"));
    assert!(requests[0].contains("\"statustracking\""));
    assert!(requests[0].contains("\"ScanDate\":\"22-01-2026\""));
    assert!(requests[0].contains("\"ScanTime\":\"0305\""));
    assert_eq!(
        requests[0].split("\r\n\r\n").nth(1),
        requests[1].split("\r\n\r\n").nth(1)
    );
}

#[test]
fn the_secret_can_go_as_the_basic_auth_password_and_gives_up_after_three_tries() {
    let sim = demo_sim();
    let (url, got) = receiver(vec![401, 401, 401, 401]);
    control(
        &sim,
        "POST",
        "/__control/push",
        Some(
            json!({"url": url, "token": "s3cret", "basic": true, "waybill": "81234567890",
                    "scans": [2], "retryPauseMs": 10}),
        ),
    );
    let attempts = wait_for_attempts(&sim, 3);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(wait_for_attempts(&sim, 3).len(), 3);
    assert_eq!(attempts.len(), 3);
    let requests = got.lock().unwrap().clone();
    // base64("bluedart:s3cret")
    assert!(requests[0].contains("Authorization: Basic Ymx1ZWRhcnQ6czNjcmV0"));
    assert!(requests[0].contains("\"ScanDetail\""));
    let (status, _) = control(
        &sim,
        "POST",
        "/__control/push",
        Some(json!({"url": url, "token": "x", "waybill": "00000000000"})),
    );
    assert_eq!(status, 404);
}
