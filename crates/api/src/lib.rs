//! The HTTP contract over plain `http` types, testable natively: the route table, credentials,
//! typed request and response bodies, the mapping of domain errors to status and code, CORS and
//! Cache-Control. The worker only turns its requests into `http::Request`s and back.

pub mod bulk;
pub mod credentials;
pub mod error;
pub mod reply;
pub mod requests;
pub mod responses;
pub mod routes;
pub mod track_body;

use serde_json::json;
use tracking_core::access::Access;
use tracking_core::carrier::Carrier;
use tracking_core::ports::{Clock, KeyValue, Log, Store};
use tracking_core::rules::budget::Spent;
use tracking_core::runs::Trigger;
use tracking_core::service::{Background, TrackingService};

use crate::credentials::TokenRules;
use crate::error::ApiError;
use crate::reply::{After, NO_STORE, Reply, json_response};
use crate::requests::{
    AwbBody, OrderBody, RequestBody, bearer, json_body, query_pairs, query_value,
};
use crate::responses::{admin_body, order_view, sync_body, track_response};
use crate::routes::{Route, route};

/// Secrets credentials are checked against (Worker secrets).
pub struct Secrets {
    pub admin_token: String,
    pub customer_token_secret: String,
    pub tracking_link_secret: String,
}

/// What the contract needs from configuration.
pub struct ApiSettings {
    /// Storefront origins allowed to call the customer endpoint from a browser.
    pub allowed_origins: Vec<String>,
    pub tokens: TokenRules,
    /// Whether the shipper's details for waybill generation are configured.
    pub can_generate_waybills: bool,
}

/// The HTTP contract over the tracking service.
pub struct Api<'a, S, K, C, T, L> {
    pub service: TrackingService<'a, S, K, C, T, L>,
    pub settings: &'a ApiSettings,
    pub secrets: &'a Secrets,
    /// What the invocation has spent so far, for the sync runs an admin starts.
    pub spent: &'a dyn Fn() -> Spent,
}

/// Liveness: whether the worker is configured to serve, and nothing else (no environment, no
/// version, no storage round trip). Why it is not configured is in the log.
pub fn health(configured: bool) -> http::Response<String> {
    if configured {
        json_response(200, &json!({"status": "ok"}), NO_STORE)
    } else {
        json_response(503, &json!({"status": "unavailable"}), NO_STORE)
    }
}

/// The answer when the worker's configuration cannot be loaded: routing still answers, health
/// says unavailable, everything else a generic configuration error.
pub fn unconfigured(method: &http::Method, path: &str) -> http::Response<String> {
    match route(method, path) {
        Ok(Route::Health) => health(false),
        Ok(_) => ApiError::not_configured().into_response(),
        Err(e) => e.into_response(),
    }
}

fn preflight() -> http::Response<String> {
    http::Response::builder()
        .status(204)
        .header("Access-Control-Allow-Methods", "GET, OPTIONS")
        .header(
            "Access-Control-Allow-Headers",
            "Authorization, Content-Type",
        )
        .header("Access-Control-Max-Age", "600")
        .body(String::new())
        .expect("static headers always build")
}

impl<S, K, C, T, L> Api<'_, S, K, C, T, L>
where
    S: Store,
    K: KeyValue,
    C: Carrier,
    T: Clock,
    L: Log,
{
    pub async fn handle<B: RequestBody>(&self, request: http::Request<B>) -> Reply {
        let origin = request
            .headers()
            .get(http::header::ORIGIN)
            .and_then(|o| o.to_str().ok())
            .map(str::to_owned);
        let route = match route(request.method(), request.uri().path()) {
            Ok(route) => route,
            Err(e) => return e.into_response().into(),
        };
        let customer = route.is_customer();
        let allowed_origin = origin
            .as_deref()
            .filter(|o| self.settings.allowed_origins.iter().any(|a| a == o));
        let result = if customer && origin.is_some() && allowed_origin.is_none() {
            // Browsers from other sites are refused outright; calls without an Origin are not
            // cross-site and go through.
            Err(ApiError::new(
                403,
                "CORS_ORIGIN_NOT_ALLOWED",
                "This origin may not call the tracking API",
            ))
        } else {
            self.dispatch(route, request).await
        };
        let mut reply = result.unwrap_or_else(|e| {
            if e.status >= 500 {
                self.service
                    .log
                    .warn(&format!("[HTTP] {} {}: {}", e.status, e.code, e.message));
            }
            e.into_response().into()
        });
        if customer {
            // The answer depends on the credentials, and (for CORS) on the calling origin.
            let headers = reply.response.headers_mut();
            let vary = if allowed_origin.is_some() {
                "Authorization, Origin"
            } else {
                "Authorization"
            };
            headers.insert(http::header::VARY, http::HeaderValue::from_static(vary));
            if let Some(origin) = allowed_origin.and_then(|o| http::HeaderValue::from_str(o).ok()) {
                headers.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            }
        }
        reply
    }

    async fn dispatch<B: RequestBody>(
        &self,
        route: Route,
        request: http::Request<B>,
    ) -> Result<Reply, ApiError> {
        if !matches!(
            route,
            Route::Health | Route::CustomerTrack(_) | Route::CustomerPreflight
        ) {
            self.admin(request.headers())?;
        }
        Ok(match route {
            Route::Health => health(true).into(),
            Route::CustomerPreflight => preflight().into(),
            Route::CustomerTrack(id) => self.customer_track(&request, &id).await?.into(),
            Route::AdminTrack(id) => self.admin_track(&id).await?,
            Route::AdminSync(id) => {
                let summary = self
                    .service
                    .sync_order(&id, Trigger::Manual, self.spent)
                    .await?;
                json_response(200, &sync_body(&summary), NO_STORE).into()
            }
            Route::AdminAwb(id) => self.admin_awb(request, &id).await?.into(),
            Route::AdminPutOrder(id) => {
                let input = json_body::<OrderBody, B>(request).await?.validate()?;
                let (snapshot, created) = self.service.put_order(&id, &input).await?;
                json_response(
                    if created { 201 } else { 200 },
                    &json!({"success": true, "created": created, "order": order_view(&snapshot)}),
                    NO_STORE,
                )
                .into()
            }
            Route::AdminBulkOrders => {
                let body = bulk::read(request).await?;
                let results = self.service.put_orders(&body.lines).await;
                json_response(200, &bulk::answer(&body.errors, &results), NO_STORE).into()
            }
            Route::AdminSyncRuns => {
                let pairs = query_pairs(request.uri());
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
                let runs = self.service.recent_runs(limit).await?;
                json_response(200, &json!({"success": true, "runs": runs}), NO_STORE).into()
            }
        })
    }

    fn admin(&self, headers: &http::HeaderMap) -> Result<(), ApiError> {
        let token =
            bearer(headers).ok_or_else(|| ApiError::unauthorized("Missing bearer token"))?;
        if credentials::is_admin_token(&token, &self.secrets.admin_token) {
            Ok(())
        } else {
            Err(ApiError::unauthorized("Invalid admin token"))
        }
    }

    /// A storefront token (`Authorization: Bearer`) or a signed link (`?exp=…&sig=…`).
    fn customer_access<B>(
        &self,
        request: &http::Request<B>,
        pairs: &[(String, String)],
        order_id: &str,
    ) -> Result<Access, ApiError> {
        let now = self.service.clock.now();
        if let Some(sig) = query_value(pairs, "sig") {
            let exp = query_value(pairs, "exp")
                .ok_or_else(|| ApiError::unauthorized("A signed link needs both exp and sig"))?;
            credentials::verify_link(
                &self.secrets.tracking_link_secret,
                &self.settings.tokens,
                order_id,
                exp,
                sig,
                now,
            )?;
            return Ok(Access::Link(order_id.to_owned()));
        }
        let token = bearer(request.headers())
            .ok_or_else(|| ApiError::unauthorized("Missing credentials"))?;
        Ok(Access::Customer(credentials::verify_customer_token(
            &self.secrets.customer_token_secret,
            &self.settings.tokens,
            &token,
            now,
        )?))
    }

    async fn customer_track<B>(
        &self,
        request: &http::Request<B>,
        id: &str,
    ) -> Result<http::Response<String>, ApiError> {
        let pairs = query_pairs(request.uri());
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
        let access = self.customer_access(request, &pairs, id)?;
        let outcome = self.service.track(id, &access, refresh).await?;
        Ok(track_response(outcome))
    }

    async fn admin_track(&self, id: &str) -> Result<Reply, ApiError> {
        let view = self.service.admin_view(id).await?;
        // Answer now; the platform refreshes after the response.
        let after =
            (view.background == Background::Scheduled).then(|| After::Refresh(id.to_owned()));
        Ok(Reply {
            response: json_response(200, &admin_body(&view), NO_STORE),
            after,
        })
    }

    async fn admin_awb<B: RequestBody>(
        &self,
        request: http::Request<B>,
        id: &str,
    ) -> Result<http::Response<String>, ApiError> {
        let body = json_body::<AwbBody, B>(request).await?;
        let (snapshot, generated) = match (body.awb_no, body.generate) {
            (Some(awb), None) => {
                if !tracking_core::model::valid_awb(&awb) {
                    return Err(ApiError::invalid("awbNo", "9-12 digits"));
                }
                (self.service.attach_awb(id, &awb).await?, false)
            }
            (None, Some(generate)) => {
                if !self.settings.can_generate_waybills {
                    return Err(ApiError::new(
                        503,
                        "WAYBILL_GENERATION_NOT_CONFIGURED",
                        "Set SHIPPER_ORIGIN_AREA, SHIPPER_CUSTOMER_CODE and SHIPPER_PINCODE to generate waybills",
                    ));
                }
                let request = generate.validate(id, self.service.clock.now())?;
                (self.service.generate_awb(&request).await?, true)
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
}
