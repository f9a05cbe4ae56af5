//! The HTTP contract over plain `http` types, testable natively: the route table, credentials,
//! typed request and response bodies, the mapping of domain errors to status and code, CORS and
//! Cache-Control. The worker only turns its requests into `http::Request`s and back.

// The customer worker's build (without `full`) and the back office's (without `customer`)
// compile the other's handlers without calling them (the linker leaves them out); only the
// default build's dead code is a warning.
#![cfg_attr(
    not(all(feature = "full", feature = "customer")),
    allow(dead_code, unused_imports, unused_variables)
)]

pub mod bulk;
pub mod conditional;
pub mod credentials;
pub mod error;
mod ip;
pub mod page;
pub mod push;
pub mod reply;
pub mod requests;
pub mod responses;
pub mod routes;
pub mod track_body;
pub mod webhooks;

use serde_json::json;
use tracking_core::access::Access;
use tracking_core::carrier::Carrier;
use tracking_core::ports::{Clock, KeyValue, Log, Random, Store};
use tracking_core::rules::budget::Spent;
use tracking_core::runs::Trigger;
use tracking_core::service::{Background, TrackingService};

use crate::credentials::{Refusal, TokenRules};
use crate::error::ApiError;
use crate::page::{Lang, Page, PageState, Problem};
use crate::reply::{After, NO_STORE, Reply, json_response};
use crate::requests::{
    AwbBody, OrderBody, RequestBody, bearer, json_body, query_pairs, query_value, valid_id,
};
use crate::responses::{
    admin_body, cached_track_response, order_view, sync_body, tagged, track_response,
};
use crate::routes::{Route, is_customer_path, is_customer_route_path, route};

/// Secrets credentials are checked against (Worker secrets).
pub struct Secrets {
    pub admin_token: String,
    pub customer_token_secret: String,
    pub tracking_link_secret: String,
    /// `BLUEDART_PUSH_TOKEN`; empty: push is off (its route answers 404).
    pub push_token: String,
}

/// What the contract needs from configuration.
pub struct ApiSettings {
    /// Storefront origins allowed to call the customer endpoint from a browser.
    pub allowed_origins: Vec<String>,
    pub tokens: TokenRules,
    /// Whether the shipper's details for waybill generation are configured.
    pub can_generate_waybills: bool,
    /// Blue Dart's push endpoint; `None`: off.
    pub push: Option<push::PushSettings>,
}

/// The HTTP contract over the tracking service.
pub struct Api<'a, S, K, C, T, L> {
    pub service: TrackingService<'a, S, K, C, T, L>,
    pub settings: &'a ApiSettings,
    pub secrets: &'a Secrets,
    /// What the invocation has spent so far, for the sync runs an admin starts.
    pub spent: &'a dyn Fn() -> Spent,
    /// Webhook secrets and ids.
    pub random: &'a dyn Random,
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
/// says unavailable, everything else a generic configuration error (the platform serves the
/// contract before it needs the configuration).
pub fn unconfigured(method: &http::Method, path: &str) -> http::Response<String> {
    let mut response = match route(method, path) {
        Ok(Route::Health) => health(false),
        Ok(_) => ApiError::not_configured().into_response(),
        Err(e) => e.into_response(),
    };
    // Which origins are allowed is configuration too: none is echoed.
    finish(method, path, &mut response, None);
    response
}

/// What every answer gets last: a customer-path answer, errors included, says that it depends
/// on the credentials and the calling origin, and an allowed origin may read it (and the
/// headers a widget needs); an answer to HEAD loses its body.
fn finish(
    method: &http::Method,
    path: &str,
    response: &mut http::Response<String>,
    allowed_origin: Option<&str>,
) {
    if is_customer_path(path) {
        // Always both, even without an Origin: a cache must not hand an answer made without
        // CORS headers to a page that needs them, nor one person's answer to another.
        let headers = response.headers_mut();
        headers.insert(
            http::header::VARY,
            http::HeaderValue::from_static("Authorization, Origin"),
        );
        if let Some(origin) = allowed_origin.and_then(|o| http::HeaderValue::from_str(o).ok()) {
            headers.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            headers.insert(
                http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
                http::HeaderValue::from_static("ETag, Retry-After"),
            );
        }
    }
    if method == http::Method::HEAD {
        response.body_mut().clear();
    }
}

fn preflight() -> http::Response<String> {
    http::Response::builder()
        .status(204)
        .header("Access-Control-Allow-Methods", "GET, OPTIONS")
        // If-None-Match: a widget revalidating its copy of an answer itself.
        .header(
            "Access-Control-Allow-Headers",
            "Authorization, Content-Type, If-None-Match",
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
        let allowed_origin = origin
            .as_deref()
            .filter(|o| self.settings.allowed_origins.iter().any(|a| a == o));
        // What `finish` needs of the request once `dispatch` has taken it.
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let result = match self.push_route(&method, &path) {
            // The customer worker in front of the back office answers these.
            _ if !cfg!(feature = "customer") && is_customer_route_path(&path) => {
                Err(ApiError::not_found())
            }
            // Browsers from other sites are refused outright; calls without an Origin are not
            // cross-site and go through.
            Ok(_) if is_customer_path(&path) && origin.is_some() && allowed_origin.is_none() => {
                Err(ApiError::new(
                    403,
                    "CORS_ORIGIN_NOT_ALLOWED",
                    "This origin may not call the tracking API",
                ))
            }
            Ok(route) => self.dispatch(route, request).await,
            Err(e) => Err(e),
        };
        let mut reply = result.unwrap_or_else(|e| {
            if e.status >= 500 {
                self.service
                    .log
                    .warn(&format!("[HTTP] {} {}: {}", e.status, e.code, e.message));
            }
            e.into_response().into()
        });
        finish(&method, &path, &mut reply.response, allowed_origin);
        reply
    }

    /// The route, with the push endpoint at its configured path (and only there).
    fn push_route(&self, method: &http::Method, path: &str) -> Result<Route, ApiError> {
        let configured = self.settings.push.as_ref().map(|p| p.path.as_str());
        if configured.is_some_and(|p| p == path && p != push::DEFAULT_PATH) {
            return if method == http::Method::POST {
                Ok(Route::CarrierPush)
            } else {
                Err(ApiError::method_not_allowed("POST"))
            };
        }
        match route(method, path) {
            Ok(Route::CarrierPush) if configured.is_some_and(|p| p != path) => {
                Err(ApiError::not_found())
            }
            other => other,
        }
    }

    /// Blue Dart's push: off (404) without the secret, else authorised, read and answered.
    async fn carrier_push<B: RequestBody>(
        &self,
        request: http::Request<B>,
    ) -> Result<Reply, ApiError> {
        let settings = match &self.settings.push {
            Some(settings) if !self.secrets.push_token.is_empty() => settings,
            _ => return Err(ApiError::not_found()),
        };
        push::authorise(settings, &self.secrets.push_token, request.headers())?;
        push::receive(settings, request, self.service.clock.now()).await
    }

    async fn dispatch<B: RequestBody>(
        &self,
        route: Route,
        request: http::Request<B>,
    ) -> Result<Reply, ApiError> {
        Ok(match route {
            Route::Health => health(true).into(),
            #[cfg(feature = "customer")]
            Route::CustomerPreflight => preflight().into(),
            #[cfg(feature = "customer")]
            Route::CustomerTrack(id) => self.customer_track(&request, &id).await?.into(),
            #[cfg(feature = "customer")]
            Route::TrackPage(id) => self.track_page(&request, &id).await.into(),
            #[cfg(feature = "customer")]
            Route::Widget => page::widget_response(request.headers()).into(),
            // Without `customer`, the back office's own match refuses the customer routes.
            #[cfg(feature = "full")]
            route => self.back_office(route, request).await?,
            // The customer worker is handed only its own paths.
            #[cfg(not(feature = "full"))]
            _ => return Err(ApiError::not_found()),
        })
    }

    /// The contract, Blue Dart's push and the admin routes: not a customer's.
    #[cfg(feature = "full")]
    async fn back_office<B: RequestBody>(
        &self,
        route: Route,
        request: http::Request<B>,
    ) -> Result<Reply, ApiError> {
        if route.is_admin() {
            self.admin(request.headers())?;
        }
        Ok(match route {
            // The platform serves the contract from its static assets before routing here:
            // reached only without them.
            Route::OpenApi => return Err(ApiError::not_configured()),
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
            Route::CarrierPush => self.carrier_push(request).await?,
            Route::AdminWebhooks(route) => self.webhook(route, request).await?,
            Route::AdminPush => {
                let stats = self.service.push_stats().await?;
                let counts = stats.counts;
                let changes = counts.status_changes_push + counts.status_changes_poll;
                let share = |n: u64| {
                    if changes == 0 {
                        serde_json::Value::Null
                    } else {
                        json!((n as f64 / changes as f64 * 1000.0).round() / 1000.0)
                    }
                };
                json_response(
                    200,
                    &json!({
                        "success": true,
                        "enabled": self.settings.push.is_some() && !self.secrets.push_token.is_empty(),
                        "counts": counts,
                        "statusChanges": {
                            "push": counts.status_changes_push,
                            "poll": counts.status_changes_poll,
                            "pushShare": share(counts.status_changes_push),
                        },
                        "unmatched": stats.unmatched,
                    }),
                    NO_STORE,
                )
                .into()
            }
            Route::AdminSyncRuns => {
                let limit = requests::limit(request.uri(), 20)?;
                let runs = self.service.recent_runs(limit).await?;
                let queue = self.service.queue_backlog().await?;
                json_response(
                    200,
                    &json!({"success": true, "runs": runs, "queue": queue}),
                    NO_STORE,
                )
                .into()
            }
            // Answered by `dispatch`, or refused by `handle` in the back office's build.
            Route::Health
            | Route::CustomerPreflight
            | Route::CustomerTrack(_)
            | Route::TrackPage(_)
            | Route::Widget => return Err(ApiError::not_found()),
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

    /// A storefront token (`Authorization: Bearer`, or for the page also `?token=`) or a
    /// signed link (`?exp=…&sig=…`).
    fn customer_access(
        &self,
        headers: &http::HeaderMap,
        pairs: &[(String, String)],
        order_id: &str,
        query_token: bool,
    ) -> Result<Access, Refusal> {
        let now = self.service.clock.now();
        if let Some(sig) = query_value(pairs, "sig") {
            let exp = query_value(pairs, "exp")
                .ok_or(Refusal::Missing("A signed link needs both exp and sig"))?;
            credentials::verify_link(
                &self.secrets.tracking_link_secret,
                &self.settings.tokens,
                order_id,
                exp,
                sig,
                now,
            )
            .map_err(Refusal::Bad)?;
            return Ok(Access::Link(order_id.to_owned()));
        }
        let token = bearer(headers)
            .or_else(|| {
                query_token
                    .then(|| query_value(pairs, "token").map(str::to_owned))
                    .flatten()
            })
            .ok_or(Refusal::Missing("Missing credentials"))?;
        Ok(Access::Customer(
            credentials::verify_customer_token(
                &self.secrets.customer_token_secret,
                &self.settings.tokens,
                &token,
                now,
            )
            .map_err(Refusal::Bad)?,
        ))
    }

    /// `GET /track/:orderId`: the tracking page, or the page saying why there is none.
    async fn track_page<B>(&self, request: &http::Request<B>, id: &str) -> http::Response<String> {
        let pairs = query_pairs(request.uri());
        let lang = Lang::choose(
            query_value(&pairs, "lang"),
            request
                .headers()
                .get(http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        );
        let state = self.page_state(request.headers(), &pairs, id).await;
        let page = Page::new(lang, id, &pairs, self.service.clock.now());
        page.render(&state)
    }

    async fn page_state(
        &self,
        headers: &http::HeaderMap,
        pairs: &[(String, String)],
        id: &str,
    ) -> PageState {
        // An id that cannot exist is an order that is not found.
        if !valid_id(id) {
            return PageState::Problem(Problem::NotFound);
        }
        let access = match self.customer_access(headers, pairs, id, true) {
            Ok(access) => access,
            Err(refusal) => return PageState::Problem(refusal.into()),
        };
        let refresh = query_value(pairs, "forceRefresh") == Some("true");
        match self.service.track(id, &access, refresh).await {
            Ok(outcome) => outcome.into(),
            Err(e) => {
                if !matches!(e, tracking_core::error::ServiceError::NotFound) {
                    self.service
                        .log
                        .warn(&format!("[HTTP] tracking page for order {id}: {e}"));
                }
                PageState::Problem(e.into())
            }
        }
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
        let access = self.customer_access(request.headers(), &pairs, id, false)?;
        let (response, etag) = if refresh {
            tagged(track_response(self.service.track(id, &access, true).await?))
        } else {
            cached_track_response(self.service.track_cached(id, &access).await?)
        };
        Ok(conditional::conditional(request.headers(), response, &etag))
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
