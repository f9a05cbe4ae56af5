//! Routes, request parsing and the JSON answers. Every error — the domain's, bad input,
//! credentials — becomes an HTTP answer in one place: `ApiError`.

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use worker::{Context, Env, Headers, Method, Request, Response};

use super::{Bindings, SetupError};
use crate::auth::{self, CredentialError};
use crate::response::track_body;
use tracking_core::access::Access;
use tracking_core::carrier::{CarrierError, Consignee, WaybillRequest};
use tracking_core::model::{ORDER_STATUSES, Snapshot, valid_awb};
use tracking_core::model::{Source, iso};
use tracking_core::ports::{Clock, Log, OrderInput, StoredResponse};
use tracking_core::runs::Trigger;
use tracking_core::service::{AdminView, Background, ServiceError, SyncSummary, TrackOutcome};

/// Largest request body accepted, enforced while reading (a chunked body declares no length).
const MAX_BODY_BYTES: usize = 16 * 1024;
/// How long a browser may cache a cached-data answer. Such answers are authorised by a bearer
/// token or a signed link, so they also carry `Vary: Authorization`: a browser shared by two
/// people must not show the second one the first one's answer.
const CACHED_ANSWER: &str = "private, max-age=30";
const NO_STORE: &str = "no-store";

/// An error answer: `{"success": false, "message": …, "code": …}` plus extras.
#[derive(Debug)]
pub struct ApiError {
    status: u16,
    code: &'static str,
    message: String,
    extra: Vec<(&'static str, Value)>,
    allow: Option<&'static str>,
}

impl ApiError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: Vec::new(),
            allow: None,
        }
    }

    fn with(mut self, key: &'static str, value: Value) -> ApiError {
        self.extra.push((key, value));
        self
    }

    fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(400, code, message)
    }

    fn unauthorized(message: &str) -> ApiError {
        ApiError::new(401, "UNAUTHORIZED", message)
    }

    fn into_response(self) -> Response {
        let mut body = json!({"success": false, "message": self.message, "code": self.code});
        for (key, value) in self.extra {
            body[key] = value;
        }
        let mut response = json_response(self.status, &body, NO_STORE);
        if let Some(allow) = self.allow {
            let _ = response.headers_mut().set("Allow", allow);
        }
        response
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        match e {
            // For customers this also means "not yours": the two answer alike.
            ServiceError::NotFound => ApiError::new(404, "ORDER_NOT_FOUND", "Order not found"),
            ServiceError::Conflict { code, message } => ApiError::new(409, code, message),
            ServiceError::Carrier(CarrierError::Refused { code, message }) => ApiError::new(
                422,
                "WAYBILL_REFUSED",
                "Blue Dart refused to generate a waybill",
            )
            .with("bluedartError", json!(format!("{message} ({code})"))),
            ServiceError::Carrier(carrier) => {
                ApiError::new(502, "CARRIER_UNAVAILABLE", "Blue Dart could not be reached")
                    .with("bluedartError", json!(carrier.to_string()))
            }
            // The store's own text may name tables; it goes to the log, not the caller.
            ServiceError::Store(_) => ApiError::new(
                503,
                "STORAGE_UNAVAILABLE",
                "Storage is unavailable; try again shortly",
            ),
        }
    }
}

impl From<SetupError> for ApiError {
    /// Which variable or binding is wrong is the operator's business (it is in the log), not
    /// the caller's.
    fn from(_: SetupError) -> ApiError {
        ApiError::new(
            500,
            "CONFIGURATION_ERROR",
            "The service is not configured correctly",
        )
    }
}

fn json_response(status: u16, body: &Value, cache_control: &str) -> Response {
    let headers = Headers::new();
    let _ = headers.set("Content-Type", "application/json; charset=utf-8");
    let _ = headers.set("Cache-Control", cache_control);
    let _ = headers.set("X-Content-Type-Options", "nosniff");
    Response::from_bytes(body.to_string().into_bytes())
        .expect("a byte body is always accepted")
        .with_status(status)
        .with_headers(headers)
}

/// The routes, by method and path shape.
enum Route {
    Health,
    CustomerTrack(String),
    CustomerPreflight,
    AdminTrack(String),
    AdminSync(String),
    AdminAwb(String),
    AdminPutOrder(String),
    AdminSyncRuns,
}

/// Order and customer ids: what a storefront uses, and nothing that needs escaping anywhere.
fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn order_id(raw: &str) -> Result<String, ApiError> {
    if valid_id(raw) {
        Ok(raw.to_owned())
    } else {
        Err(ApiError::bad_request(
            "INVALID_ORDER_ID",
            "Order id must be 1-64 characters: letters, digits, '.', '_' or '-'",
        ))
    }
}

fn method_not_allowed(allow: &'static str) -> ApiError {
    let mut e = ApiError::new(405, "METHOD_NOT_ALLOWED", format!("Use {allow}"));
    e.allow = Some(allow);
    e
}

fn route(method: &Method, path: &str) -> Result<Route, ApiError> {
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    let expect = |allowed: Method, allow: &'static str| {
        if *method == allowed {
            Ok(())
        } else {
            Err(method_not_allowed(allow))
        }
    };
    match segments.as_slice() {
        ["health"] => expect(Method::Get, "GET").map(|_| Route::Health),
        ["api", "shipment", id, "track"] => {
            let id = order_id(id)?;
            match method {
                Method::Get => Ok(Route::CustomerTrack(id)),
                Method::Options => Ok(Route::CustomerPreflight),
                _ => Err(method_not_allowed("GET, OPTIONS")),
            }
        }
        ["api", "admin", "shipment", id, "track"] => {
            expect(Method::Get, "GET")?;
            Ok(Route::AdminTrack(order_id(id)?))
        }
        ["api", "admin", "shipment", id, "sync"] => {
            expect(Method::Post, "POST")?;
            Ok(Route::AdminSync(order_id(id)?))
        }
        ["api", "admin", "shipment", id, "awb"] => {
            expect(Method::Post, "POST")?;
            Ok(Route::AdminAwb(order_id(id)?))
        }
        ["api", "admin", "sync", "runs"] => {
            expect(Method::Get, "GET").map(|_| Route::AdminSyncRuns)
        }
        ["api", "admin", "orders", id] => {
            expect(Method::Put, "PUT")?;
            Ok(Route::AdminPutOrder(order_id(id)?))
        }
        _ => Err(ApiError::new(404, "NOT_FOUND", "Route not found")),
    }
}

pub async fn handle(req: Request, env: Env, ctx: Context) -> Response {
    let origin = req.headers().get("Origin").ok().flatten();
    let route = match route(&req.method(), &req.path()) {
        Ok(route) => route,
        Err(e) => return e.into_response(),
    };
    let bindings = match Bindings::from_env(&env) {
        Ok(b) => b,
        Err(e) => {
            worker::console_error!("[HTTP] not configured: {e}");
            if let Route::Health = route {
                return health(false);
            }
            return ApiError::from(e).into_response();
        }
    };
    if let Route::Health = route {
        return health(true);
    }
    let customer = matches!(route, Route::CustomerTrack(_) | Route::CustomerPreflight);
    let allowed_origin = origin
        .as_deref()
        .filter(|o| bindings.config.allowed_origins.iter().any(|a| a == o));
    let result = match route {
        // Browsers from other sites are refused outright; calls without an Origin are not
        // cross-site and go through.
        _ if customer && origin.is_some() && allowed_origin.is_none() => Err(ApiError::new(
            403,
            "CORS_ORIGIN_NOT_ALLOWED",
            "This origin may not call the tracking API",
        )),
        Route::CustomerPreflight => Ok(preflight()),
        Route::CustomerTrack(id) => customer_track(&req, &bindings, &id).await,
        Route::AdminTrack(id) => match admin(&req, &bindings) {
            Ok(()) => admin_track(&bindings, &id, env, &ctx).await,
            Err(e) => Err(e),
        },
        Route::AdminSync(id) => match admin(&req, &bindings) {
            Ok(()) => admin_sync(&bindings, &id).await,
            Err(e) => Err(e),
        },
        Route::AdminAwb(id) => match admin(&req, &bindings) {
            Ok(()) => admin_awb(req, &bindings, &id).await,
            Err(e) => Err(e),
        },
        Route::AdminPutOrder(id) => match admin(&req, &bindings) {
            Ok(()) => admin_put_order(req, &bindings, &id).await,
            Err(e) => Err(e),
        },
        Route::AdminSyncRuns => match admin(&req, &bindings) {
            Ok(()) => admin_sync_runs(&req, &bindings).await,
            Err(e) => Err(e),
        },
        Route::Health => unreachable!("answered above"),
    };
    let mut response = result.unwrap_or_else(|e| {
        if e.status >= 500 {
            bindings
                .log()
                .warn(&format!("[HTTP] {} {}: {}", e.status, e.code, e.message));
        }
        e.into_response()
    });
    if customer {
        let headers = response.headers_mut();
        // The answer depends on the credentials, and (for CORS) on the calling origin.
        let _ = headers.set("Vary", "Authorization");
        if let Some(origin) = allowed_origin {
            let _ = headers.set("Access-Control-Allow-Origin", origin);
            let _ = headers.set("Vary", "Authorization, Origin");
        }
    }
    response
}

fn preflight() -> Response {
    let headers = Headers::new();
    let _ = headers.set("Access-Control-Allow-Methods", "GET, OPTIONS");
    let _ = headers.set(
        "Access-Control-Allow-Headers",
        "Authorization, Content-Type",
    );
    let _ = headers.set("Access-Control-Max-Age", "600");
    Response::empty()
        .expect("an empty body is always accepted")
        .with_status(204)
        .with_headers(headers)
}

/// Liveness, for anyone: whether this worker is configured to serve (its `[vars]`, secrets
/// and bindings, read once per isolate), and nothing else — no environment, no version, no
/// storage round trip per call. Why it is not configured is in the log.
fn health(configured: bool) -> Response {
    if configured {
        json_response(200, &json!({"status": "ok"}), NO_STORE)
    } else {
        json_response(503, &json!({"status": "unavailable"}), NO_STORE)
    }
}

fn bearer(req: &Request) -> Option<String> {
    let value = req.headers().get("Authorization").ok().flatten()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

fn admin(req: &Request, b: &Bindings) -> Result<(), ApiError> {
    let token = bearer(req).ok_or_else(|| ApiError::unauthorized("Missing bearer token"))?;
    if auth::is_admin_token(&token, &b.secrets.admin_token) {
        Ok(())
    } else {
        Err(ApiError::unauthorized("Invalid admin token"))
    }
}

/// The query's pairs, read from the raw URL: parsing the whole URL would pull the `url` crate's
/// international-domain tables into the wasm for nothing.
fn query(req: &Request) -> Vec<(String, String)> {
    let url = req.inner().url();
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn query_value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn credential_error(e: CredentialError) -> ApiError {
    ApiError::unauthorized(e.message())
}

/// A storefront token (`Authorization: Bearer`) or a signed link (`?exp=…&sig=…`).
fn customer_access(
    req: &Request,
    pairs: &[(String, String)],
    b: &Bindings,
    order_id: &str,
) -> Result<Access, ApiError> {
    let now = b.clock().now();
    if let Some(sig) = query_value(pairs, "sig") {
        let exp = query_value(pairs, "exp")
            .ok_or_else(|| ApiError::unauthorized("A signed link needs both exp and sig"))?;
        auth::verify_link(
            &b.secrets.tracking_link_secret,
            &b.config.tokens,
            order_id,
            exp,
            sig,
            now,
        )
        .map_err(credential_error)?;
        return Ok(Access::Link(order_id.to_owned()));
    }
    let token = bearer(req).ok_or_else(|| ApiError::unauthorized("Missing credentials"))?;
    auth::verify_customer_token(
        &b.secrets.customer_token_secret,
        &b.config.tokens,
        &token,
        now,
    )
    .map(Access::Customer)
    .map_err(credential_error)
}

async fn customer_track(req: &Request, b: &Bindings, id: &str) -> Result<Response, ApiError> {
    let pairs = query(req);
    let refresh = match query_value(&pairs, "forceRefresh") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "INVALID_QUERY",
                "forceRefresh must be true or false",
            ));
        }
    };
    let access = customer_access(req, &pairs, b, id)?;
    let carrier = b.carrier();
    let outcome = b.service(&carrier).track(id, &access, refresh).await?;
    Ok(track_response(outcome))
}

fn track_response(outcome: TrackOutcome) -> Response {
    match outcome {
        TrackOutcome::NoAwb(shipping_status) => json_response(
            200,
            &json!({
                "success": false,
                "message": "Shipment not initiated for this order yet",
                "code": "NO_AWB",
                "shippingStatus": shipping_status,
            }),
            NO_STORE,
        ),
        TrackOutcome::Tracking { snapshot, source } => {
            let cache = if source == Source::Cached {
                CACHED_ANSWER
            } else {
                NO_STORE
            };
            let body = serde_json::to_value(track_body(&snapshot, &source)).expect("serialises");
            let mut response = json_response(200, &body, cache);
            if let Source::RefreshLimited { retry_after_secs } = source {
                let _ = response
                    .headers_mut()
                    .set("Retry-After", &retry_after_secs.to_string());
            }
            response
        }
    }
}

fn carrier_response_view(response: &StoredResponse) -> Value {
    // Whole answers are JSON; a cut one is shown as the text it is.
    let body = if response.truncated {
        json!(response.body)
    } else {
        serde_json::from_str(&response.body).unwrap_or_else(|_| json!(response.body))
    };
    json!({
        "fetchedAt": iso(response.fetched_at),
        "httpStatus": response.http_status,
        "truncated": response.truncated,
        "body": body,
    })
}

fn admin_body(view: &AdminView, background: &str) -> Value {
    let snapshot: &Snapshot = &view.snapshot;
    let order = &snapshot.order;
    let mut body = serde_json::to_value(track_body(snapshot, &Source::Cached)).expect("serialises");
    body["admin"] = json!({
        "customerId": order.customer_id,
        "updatedAt": iso(order.updated_at),
        "lastSyncedAt": order.last_synced_at.map(iso),
        "lastSyncError": order.last_sync_error,
        "stale": view.stale,
        "backgroundRefresh": background,
        "polling": {
            "nextCheckAt": order.next_check_at.map(iso),
            "lastProgressAt": order.last_progress_at.map(iso),
            "stoppedAt": order.polling_stopped_at.map(iso),
        },
        "carrierResponse": view.carrier_response.as_ref().map(carrier_response_view),
    });
    body
}

async fn admin_track(
    b: &Bindings,
    id: &str,
    env: Env,
    ctx: &Context,
) -> Result<Response, ApiError> {
    let carrier = b.carrier();
    let view = b.service(&carrier).admin_view(id).await?;
    let background = if view.background == Background::Scheduled {
        let order_id = id.to_owned();
        // Answer now; refresh after the response, on this invocation's time.
        ctx.wait_until(async move {
            let Ok(b) = Bindings::from_env(&env) else {
                return;
            };
            let carrier = b.carrier();
            let _ = b
                .service(&carrier)
                .sync_order(&order_id, Trigger::Background, || b.spent())
                .await;
        });
        "scheduled".to_owned()
    } else {
        match view.background {
            Background::NoWaybill => "not possible: no waybill".to_owned(),
            Background::Skipped { retry_after_secs } => {
                format!("skipped: refreshed moments ago (next in {retry_after_secs} s)")
            }
            _ => "not needed".to_owned(),
        }
    };
    Ok(json_response(
        200,
        &admin_body(&view, &background),
        NO_STORE,
    ))
}

fn sync_body(summary: &SyncSummary) -> Value {
    let order = &summary.snapshot.order;
    json!({
        "success": true,
        "orderId": order.id,
        "awbNo": order.awb_no,
        "changed": summary.changed,
        "newEvents": summary.new_events,
        "previousStatus": summary.previous_latest.as_ref().map(|l| l.status),
        "status": summary.snapshot.latest.as_ref().map(|l| l.status),
        "shippingStatus": order.shipping_status,
        "orderStatus": order.order_status,
        "lastSyncedAt": order.last_synced_at.map(iso),
    })
}

async fn admin_sync(b: &Bindings, id: &str) -> Result<Response, ApiError> {
    let carrier = b.carrier();
    let summary = b
        .service(&carrier)
        .sync_order(id, Trigger::Manual, || b.spent())
        .await?;
    Ok(json_response(200, &sync_body(&summary), NO_STORE))
}

/// The request body as `T`: JSON only, bounded in size, unknown fields refused.
async fn json_body<T: DeserializeOwned>(mut req: Request) -> Result<T, ApiError> {
    let content_type = req
        .headers()
        .get("Content-Type")
        .ok()
        .flatten()
        .unwrap_or_default();
    if !content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    {
        return Err(ApiError::new(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "Send the body as application/json",
        ));
    }
    let declared = req
        .headers()
        .get("Content-Length")
        .ok()
        .flatten()
        .and_then(|l| l.parse::<usize>().ok());
    let too_large = || {
        ApiError::new(
            413,
            "PAYLOAD_TOO_LARGE",
            format!("The body may be at most {MAX_BODY_BYTES} bytes"),
        )
    };
    if declared.is_some_and(|l| l > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    // Read chunk by chunk and stop at the limit: a chunked body declares no length.
    let mut bytes = Vec::new();
    if let Ok(mut stream) = req.stream() {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk
                .map_err(|_| ApiError::bad_request("INVALID_BODY", "The body could not be read"))?;
            if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request("INVALID_JSON", format!("Invalid JSON body: {e}")))
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::bad_request("VALIDATION_ERROR", format!("{field}: {message}"))
        .with("field", json!(field))
}

fn parse_time(field: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            invalid(
                field,
                "expected an ISO-8601 time such as 2026-01-23T08:01:12Z",
            )
        })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OrderBody {
    customer_id: String,
    #[serde(default)]
    order_status: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    awb_no: Option<String>,
}

impl OrderBody {
    fn validate(self) -> Result<OrderInput, ApiError> {
        if !valid_id(&self.customer_id) {
            return Err(invalid(
                "customerId",
                "1-64 characters: letters, digits, '.', '_' or '-'",
            ));
        }
        let order_status = self.order_status.unwrap_or_else(|| "Pending".into());
        if !ORDER_STATUSES.contains(&order_status.as_str()) {
            return Err(invalid(
                "orderStatus",
                &format!("one of {}", ORDER_STATUSES.join(", ")),
            ));
        }
        if self.awb_no.as_deref().is_some_and(|a| !valid_awb(a)) {
            return Err(invalid("awbNo", "9-12 digits"));
        }
        Ok(OrderInput {
            customer_id: self.customer_id,
            order_status,
            created_at: self
                .created_at
                .as_deref()
                .map(|t| parse_time("createdAt", t))
                .transpose()?,
            awb_no: self.awb_no,
        })
    }
}

fn order_view(snapshot: &Snapshot) -> Value {
    let o = &snapshot.order;
    json!({
        "orderId": o.id, "customerId": o.customer_id, "orderStatus": o.order_status,
        "shippingStatus": o.shipping_status, "awbNo": o.awb_no, "courier": o.courier,
        "createdAt": iso(o.created_at), "updatedAt": iso(o.updated_at),
        "lastSyncedAt": o.last_synced_at.map(iso),
        "tracking": snapshot.latest.as_ref().map(|l| json!({"status": l.status, "eventDate": iso(l.event_at)})),
    })
}

async fn admin_put_order(req: Request, b: &Bindings, id: &str) -> Result<Response, ApiError> {
    let input = json_body::<OrderBody>(req).await?.validate()?;
    let carrier = b.carrier();
    let (snapshot, created) = b.service(&carrier).put_order(id, &input).await?;
    Ok(json_response(
        if created { 201 } else { 200 },
        &json!({"success": true, "created": created, "order": order_view(&snapshot)}),
        NO_STORE,
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConsigneeBody {
    name: String,
    address1: String,
    #[serde(default)]
    address2: String,
    #[serde(default)]
    address3: String,
    pincode: String,
    mobile: String,
}

fn default_pieces() -> u32 {
    1
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GenerateBody {
    consignee: ConsigneeBody,
    weight_kg: f64,
    #[serde(default = "default_pieces")]
    pieces: u32,
    #[serde(default)]
    declared_value: f64,
    #[serde(default)]
    cod_amount: f64,
    #[serde(default)]
    product_code: Option<String>,
    #[serde(default)]
    pickup_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AwbBody {
    #[serde(default)]
    awb_no: Option<String>,
    #[serde(default)]
    generate: Option<GenerateBody>,
}

fn digits(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_digit())
}

impl GenerateBody {
    fn validate(self, order_id: &str, now: DateTime<Utc>) -> Result<WaybillRequest, ApiError> {
        let c = self.consignee;
        let name = c.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 30 {
            return Err(invalid("generate.consignee.name", "1-30 characters"));
        }
        if c.address1.trim().is_empty() {
            return Err(invalid("generate.consignee.address1", "required"));
        }
        if !digits(&c.pincode, 6) {
            return Err(invalid("generate.consignee.pincode", "6 digits"));
        }
        if !digits(&c.mobile, 10) {
            return Err(invalid("generate.consignee.mobile", "10 digits"));
        }
        if !(self.weight_kg > 0.0 && self.weight_kg <= 1000.0) {
            return Err(invalid("generate.weightKg", "greater than 0, at most 1000"));
        }
        if !(1..=99).contains(&self.pieces) {
            return Err(invalid("generate.pieces", "1-99"));
        }
        if !(self.declared_value >= 0.0 && self.cod_amount >= 0.0) {
            return Err(invalid("generate.codAmount", "amounts cannot be negative"));
        }
        let product_code = self.product_code.unwrap_or_else(|| "A".into());
        if !["A", "D", "E"].contains(&product_code.as_str()) {
            return Err(invalid(
                "generate.productCode",
                "A (air), D (domestic priority) or E (surface)",
            ));
        }
        // The order id doubles as Blue Dart's CreditReferenceNo, which is at most 20 characters.
        if order_id.len() > 20 {
            return Err(invalid(
                "orderId",
                "at most 20 characters to generate a waybill",
            ));
        }
        Ok(WaybillRequest {
            order_id: order_id.to_owned(),
            consignee: Consignee {
                name,
                address: [c.address1, c.address2, c.address3],
                pincode: c.pincode,
                mobile: c.mobile,
            },
            weight_kg: self.weight_kg,
            pieces: self.pieces,
            declared_value: self.declared_value,
            cod_amount: self.cod_amount,
            product_code,
            pickup_at: match self.pickup_at {
                Some(t) => parse_time("generate.pickupAt", &t)?,
                None => now,
            },
        })
    }
}

async fn admin_awb(req: Request, b: &Bindings, id: &str) -> Result<Response, ApiError> {
    let body = json_body::<AwbBody>(req).await?;
    let carrier = b.carrier();
    let service = b.service(&carrier);
    let (snapshot, generated) = match (body.awb_no, body.generate) {
        (Some(awb), None) => {
            if !valid_awb(&awb) {
                return Err(invalid("awbNo", "9-12 digits"));
            }
            (service.attach_awb(id, &awb).await?, false)
        }
        (None, Some(generate)) => {
            if !b.config.can_generate_waybills() {
                return Err(ApiError::new(
                    503,
                    "WAYBILL_GENERATION_NOT_CONFIGURED",
                    "Set SHIPPER_ORIGIN_AREA, SHIPPER_CUSTOMER_CODE and SHIPPER_PINCODE to generate waybills",
                ));
            }
            let request = generate.validate(id, b.clock().now())?;
            (service.generate_awb(&request).await?, true)
        }
        _ => {
            return Err(ApiError::bad_request(
                "VALIDATION_ERROR",
                "Send either awbNo (attach a waybill) or generate (have Blue Dart make one)",
            ));
        }
    };
    Ok(json_response(
        201,
        &json!({"success": true, "generated": generated, "order": order_view(&snapshot)}),
        NO_STORE,
    ))
}

async fn admin_sync_runs(req: &Request, b: &Bindings) -> Result<Response, ApiError> {
    let pairs = query(req);
    let limit = match query_value(&pairs, "limit") {
        None => 20,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "INVALID_QUERY",
                    "limit must be a whole number from 1 to 100",
                )
            })?,
    };
    let carrier = b.carrier();
    let runs = b.service(&carrier).recent_runs(limit).await?;
    Ok(json_response(
        200,
        &json!({"success": true, "runs": runs}),
        NO_STORE,
    ))
}
