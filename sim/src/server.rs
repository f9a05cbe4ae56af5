//! The HTTP side: routes requests to the Blue Dart endpoints or the control API, and applies
//! latency and faults around the Blue Dart ones.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::api::{self, Reply};
use crate::control;
use crate::faults::{Endpoint, Fault};
use crate::state::{CallRecord, SimConfig, SimState};
use crate::xml;

const MAX_BODY: usize = 1 << 20;

/// A running simulator. Dropping it stops the server.
pub struct Simulator {
    addr: SocketAddr,
    state: Arc<Mutex<SimState>>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Returned by the service to make hyper close the connection without an answer.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

impl Simulator {
    /// Binds `bind` (port 0 picks a free port) and serves on a thread of its own.
    pub fn start(config: SimConfig, bind: SocketAddr) -> io::Result<Simulator> {
        let std_listener = std::net::TcpListener::bind(bind)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let state = Arc::new(Mutex::new(SimState::new(config)));
        let (shutdown, stop) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let served = state.clone();
        let thread = std::thread::Builder::new()
            .name("bluedart-sim".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener =
                        TcpListener::from_std(std_listener).expect("listener from std socket");
                    tokio::select! {
                        _ = accept_loop(listener, served) => {}
                        _ = stop => {}
                    }
                });
                runtime.shutdown_background();
            })?;
        Ok(Simulator {
            addr,
            state,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, the value for the worker's `BLUEDART_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Direct access to the state, for tests: load shipments, set faults, read calls.
    pub fn state(&self) -> MutexGuard<'_, SimState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The calls made to one endpoint so far.
    pub fn calls(&self, endpoint: Endpoint) -> Vec<CallRecord> {
        self.state().calls_to(endpoint)
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<Mutex<SimState>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(state.clone(), req));
            // Errors here are connections we dropped on purpose or clients that went away.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn lock(state: &Mutex<SimState>) -> MutexGuard<'_, SimState> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn to_response(reply: Reply) -> Response<Full<Bytes>> {
    let mut builder = Response::builder()
        .status(reply.status)
        .header("content-type", reply.content_type);
    for (name, value) in reply.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(Full::new(Bytes::from(reply.body)))
        .expect("static headers are valid")
}

fn endpoint_for(method: &str, path: &str) -> Option<Endpoint> {
    match (method, path) {
        ("GET", "/in/transportation/token/v1/login") => Some(Endpoint::Login),
        ("GET", "/in/transportation/tracking/v1" | "/in/transportation/tracking/v1/shipment") => {
            Some(Endpoint::Tracking)
        }
        ("POST", "/in/transportation/waybill/v1/GenerateWayBill") => Some(Endpoint::Waybill),
        _ => None,
    }
}

async fn handle(
    state: Arc<Mutex<SimState>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query: HashMap<String, String> =
        form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let headers: HashMap<String, String> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned())))
        .collect();
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
        Err(_) => {
            return Ok(to_response(api::gateway_fault(
                413,
                "Request body too large",
            )));
        }
    };

    if method == "POST" && path == "/__control/push" {
        return Ok(to_response(start_push(state, &body)));
    }
    if method == "POST" && path == "/__control/push/demo" {
        return Ok(to_response(start_demo_journey(state, &body)));
    }
    if path.starts_with("/__control") {
        return Ok(to_response(control::handle(
            &mut lock(&state),
            &method,
            &path,
            &body,
        )));
    }
    let Some(endpoint) = endpoint_for(&method, &path) else {
        return Ok(to_response(api::gateway_fault(404, "Unknown resource")));
    };

    let waybills = match endpoint {
        Endpoint::Tracking => api::requested_waybills(&query),
        _ => Vec::new(),
    };
    let (call, latency_ms, fault) = lock(&state).arrive(endpoint, &path, waybills, now_ms());
    if latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(latency_ms)).await;
    }
    let answer = |state: &Mutex<SimState>| {
        let now = now_ms() / 1000;
        let mut state = lock(state);
        match endpoint {
            Endpoint::Login => api::login(&state, &headers, now),
            Endpoint::Tracking => match api::authorise(&state, &headers, now) {
                Ok(()) => api::track(&state, &query),
                Err(refused) => refused,
            },
            Endpoint::Waybill => match api::authorise(&state, &headers, now) {
                Ok(()) => api::generate_waybill(&mut state, &body),
                Err(refused) => refused,
            },
        }
    };
    let reply = match fault {
        None => answer(&state),
        Some(Fault::Drop) => return Err(DropConnection),
        Some(Fault::Hang { ms }) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            answer(&state)
        }
        Some(Fault::Status { code }) => Reply::new(
            code,
            "text/html",
            format!("<html><head><title>{code}</title></head><body><h1>{code} Server Error</h1></body></html>\n"),
        ),
        Some(Fault::HtmlOk) => Reply::new(
            200,
            "text/html",
            "<!DOCTYPE html><html><head><title>Blue Dart</title></head><body><p>The site is under maintenance. Please try again later.</p></body></html>\n".into(),
        ),
        Some(Fault::MalformedXml) => Reply::xml(
            "<ShipmentData>\n  <Shipment WaybillNo=\"81234567890\">\n    <Status>SHIPMENT ARRIVED</Stat>\n  </Shipment>\n".into(),
        ),
        Some(Fault::TruncatedXml) => {
            let mut reply = answer(&state);
            let mut cut = reply.body.len() / 2;
            while !reply.body.is_char_boundary(cut) {
                cut -= 1;
            }
            reply.body.truncate(cut);
            reply
        }
        Some(Fault::ExpiredToken) => api::gateway_fault(401, "Access Token expired"),
        Some(Fault::LicenseMismatch) => Reply::xml(xml::error_data(xml::LICENSE_MISMATCH)),
        Some(Fault::TooManyRequests { retry_after_secs }) => {
            let mut reply = api::gateway_fault(429, "Rate limit quota violation");
            reply.headers.push(("retry-after", retry_after_secs.to_string()));
            reply
        }
    };
    // The calls may have been cleared meanwhile; then there is nothing to fill in.
    if let Some(record) = lock(&state).calls.get_mut(call) {
        record.status = reply.status;
    }
    Ok(to_response(reply))
}

/// Starts sending a shipment's journey as pushes (in the background); answers at once with how
/// many pushes are on their way. The attempts show in `GET /__control/pushes`.
fn start_push(state: Arc<Mutex<SimState>>, body: &str) -> Reply {
    let order: crate::push::PushOrder = match serde_json::from_str(body) {
        Ok(order) => order,
        Err(e) => {
            return Reply::json(
                400,
                &serde_json::json!({ "error": format!("invalid body: {e}") }),
            );
        }
    };
    let bodies = {
        let state = lock(&state);
        let Some(shipment) = state.shipments.get(&order.waybill) else {
            return Reply::json(404, &serde_json::json!({ "error": "shipment not found" }));
        };
        match order.bodies(shipment) {
            Ok(bodies) => bodies,
            Err(e) => return Reply::json(400, &serde_json::json!({ "error": e })),
        }
    };
    let count = bodies.len();
    tokio::spawn(send_journey(state, order, bodies));
    Reply::json(202, &serde_json::json!({ "pushes": count }))
}

/// Sends `bodies` one after the other, each with Blue Dart's retries.
pub(crate) async fn send_journey(
    state: Arc<Mutex<SimState>>,
    order: crate::push::PushOrder,
    bodies: Vec<String>,
) {
    for (i, body) in bodies.iter().enumerate() {
        if i > 0 && order.interval_ms > 0 {
            tokio::time::sleep(Duration::from_millis(order.interval_ms)).await;
        }
        let attempts = crate::push::deliver(
            &order.url,
            &order.auth,
            &order.waybill,
            body,
            order.retry_pause_ms,
        )
        .await;
        lock(&state).pushes.extend(attempts);
    }
}

/// `npm run dev`'s moving parcel: the demo parcel in transit (ORD-2292) goes out for delivery
/// and is delivered, a scan every `intervalMs`, each scan added to the shipment and pushed to
/// `url` as Blue Dart would.
fn start_demo_journey(state: Arc<Mutex<SimState>>, body: &str) -> Reply {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Demo {
        url: String,
        #[serde(flatten)]
        auth: crate::push::PushAuth,
        #[serde(default = "twenty_seconds")]
        interval_ms: u64,
    }
    fn twenty_seconds() -> u64 {
        20_000
    }
    let demo: Demo = match serde_json::from_str(body) {
        Ok(demo) => demo,
        Err(e) => {
            return Reply::json(
                400,
                &serde_json::json!({ "error": format!("invalid body: {e}") }),
            );
        }
    };
    let (waybill, scans) = crate::demo::onward_journey();
    if !lock(&state).shipments.contains_key(waybill) {
        return Reply::json(
            404,
            &serde_json::json!({ "error": "the demo shipments are not loaded (--demo)" }),
        );
    }
    let count = scans.len();
    tokio::spawn(async move {
        for scan in scans {
            tokio::time::sleep(Duration::from_millis(demo.interval_ms)).await;
            let body = {
                let mut state = lock(&state);
                let Some(shipment) = state.append_scan(waybill, scan.clone()) else {
                    return;
                };
                crate::push::scan_push(shipment, &scan, crate::push::Variant::Plus)
            };
            let attempts = crate::push::deliver(&demo.url, &demo.auth, waybill, &body, 5_000).await;
            lock(&state).pushes.extend(attempts);
        }
    });
    Reply::json(
        202,
        &serde_json::json!({ "waybill": waybill, "pushes": count }),
    )
}
