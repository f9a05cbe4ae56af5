//! `/api/admin/webhooks…`: the endpoints stores register for signed status-change webhooks,
//! their deliveries, replays and test pings. The signing secret is in an answer twice only:
//! when the endpoint is made and when its secret is rotated.

use serde::Deserialize;
use serde_json::json;
use tracking_core::carrier::Carrier;
use tracking_core::error::ServiceError;
use tracking_core::ports::{Clock, KeyValue, Log, Store};
use tracking_core::webhooks::EVENT_TYPES;
use tracking_core::webhooks::delivery::url_problem;
use tracking_core::webhooks::service::{EndpointInput, EndpointPatch};

use crate::Api;
use crate::error::ApiError;
use crate::reply::{NO_STORE, Reply, json_response};
use crate::requests::{RequestBody, json_body, limit, path_id};

/// The webhook routes, under `/api/admin/webhooks`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookRoute {
    List,
    Create,
    Get(String),
    Update(String),
    Delete(String),
    Deliveries(String),
    Replay(String, i64),
    Test(String),
}

fn webhook_id(raw: &str) -> Result<String, ApiError> {
    path_id(raw, "INVALID_WEBHOOK_ID", "Webhook")
}

fn delivery_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| (1..=i64::from(i32::MAX)).contains(id) && !raw.starts_with(['+', '0']))
        .ok_or_else(|| {
            ApiError::bad_request(
                "INVALID_DELIVERY_ID",
                "Delivery id must be a positive whole number",
            )
        })
}

/// The route for `segments` after `api/admin/webhooks`, checking the method.
pub fn route(method: &http::Method, rest: &[&str]) -> Result<WebhookRoute, ApiError> {
    use http::Method as M;
    let allow = |allow: &'static str| ApiError::method_not_allowed(allow);
    match rest {
        [] => match *method {
            M::GET => Ok(WebhookRoute::List),
            M::POST => Ok(WebhookRoute::Create),
            _ => Err(allow("GET, POST")),
        },
        [id] => {
            let id = webhook_id(id)?;
            match *method {
                M::GET => Ok(WebhookRoute::Get(id)),
                M::PATCH => Ok(WebhookRoute::Update(id)),
                M::DELETE => Ok(WebhookRoute::Delete(id)),
                _ => Err(allow("GET, PATCH, DELETE")),
            }
        }
        [id, "deliveries"] if *method == M::GET => Ok(WebhookRoute::Deliveries(webhook_id(id)?)),
        [_, "deliveries"] => Err(allow("GET")),
        [id, "deliveries", delivery, "replay"] if *method == M::POST => Ok(WebhookRoute::Replay(
            webhook_id(id)?,
            delivery_id(delivery)?,
        )),
        [_, "deliveries", _, "replay"] | [_, "test"] if *method != M::POST => Err(allow("POST")),
        [id, "test"] => Ok(WebhookRoute::Test(webhook_id(id)?)),
        _ => Err(ApiError::not_found()),
    }
}

/// `POST /api/admin/webhooks`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateBody {
    url: String,
    event_types: Vec<String>,
    #[serde(default)]
    description: Option<String>,
}

/// `PATCH /api/admin/webhooks/:id`: any of the fields; an empty description removes it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PatchBody {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    event_types: Option<Vec<String>>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    rotate_secret: bool,
}

const MAX_DESCRIPTION: usize = 200;

fn checked_url(url: String, https_only: bool) -> Result<String, ApiError> {
    match url_problem(&url, https_only) {
        None => Ok(url),
        Some(problem) => Err(ApiError::invalid("url", problem)),
    }
}

fn checked_types(mut types: Vec<String>) -> Result<Vec<String>, ApiError> {
    if types.is_empty() || types.iter().any(|t| !EVENT_TYPES.contains(&t.as_str())) {
        return Err(ApiError::invalid(
            "eventTypes",
            &format!("one or more of {}", EVENT_TYPES.join(", ")),
        ));
    }
    tracking_core::sorting::sort_by(&mut types, Ord::cmp);
    types.dedup();
    Ok(types)
}

fn checked_description(description: String) -> Result<Option<String>, ApiError> {
    let description = description.trim().to_owned();
    if description.chars().count() > MAX_DESCRIPTION || description.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "description",
            "at most 200 characters, no control characters",
        ));
    }
    Ok((!description.is_empty()).then_some(description))
}

/// A missing webhook or delivery.
fn not_found(e: ServiceError, what: &'static str) -> ApiError {
    match e {
        ServiceError::NotFound if what == "delivery" => {
            ApiError::new(404, "DELIVERY_NOT_FOUND", "Delivery not found")
        }
        ServiceError::NotFound => ApiError::new(404, "WEBHOOK_NOT_FOUND", "Webhook not found"),
        other => other.into(),
    }
}

impl<S, K, C, T, L> Api<'_, S, K, C, T, L>
where
    S: Store,
    K: KeyValue,
    C: Carrier,
    T: Clock,
    L: Log,
{
    pub(crate) async fn webhook<B: RequestBody>(
        &self,
        route: WebhookRoute,
        request: http::Request<B>,
    ) -> Result<Reply, ApiError> {
        let webhooks = self.service.webhooks();
        let https_only = self.service.settings.webhooks.https_only;
        let missing = |e| not_found(e, "webhook");
        let (status, body) = match route {
            WebhookRoute::List => {
                let list = webhooks.list().await?;
                (200, json!({"success": true, "webhooks": list}))
            }
            WebhookRoute::Create => {
                let body = json_body::<CreateBody, B>(request).await?;
                let input = EndpointInput {
                    url: checked_url(body.url, https_only)?,
                    event_types: checked_types(body.event_types)?,
                    description: body
                        .description
                        .map(checked_description)
                        .transpose()?
                        .flatten(),
                };
                let (endpoint, secret) = webhooks.create(input, self.random).await?;
                (
                    201,
                    json!({"success": true, "webhook": endpoint, "secret": secret}),
                )
            }
            WebhookRoute::Get(id) => {
                let endpoint = webhooks.get(&id).await.map_err(missing)?;
                (200, json!({"success": true, "webhook": endpoint}))
            }
            WebhookRoute::Update(id) => {
                let body = json_body::<PatchBody, B>(request).await?;
                let patch = EndpointPatch {
                    url: body.url.map(|u| checked_url(u, https_only)).transpose()?,
                    event_types: body.event_types.map(checked_types).transpose()?,
                    description: body.description.map(checked_description).transpose()?,
                    enabled: body.enabled,
                    rotate_secret: body.rotate_secret,
                };
                let (endpoint, secret) = webhooks
                    .update(&id, patch, self.random)
                    .await
                    .map_err(missing)?;
                let mut body = json!({"success": true, "webhook": endpoint});
                if let Some(secret) = secret {
                    body["secret"] = json!(secret);
                }
                (200, body)
            }
            WebhookRoute::Delete(id) => {
                webhooks.delete(&id).await.map_err(missing)?;
                (200, json!({"success": true, "deleted": true}))
            }
            WebhookRoute::Deliveries(id) => {
                let limit = limit(request.uri(), 50)?;
                let deliveries = webhooks.deliveries(&id, limit).await.map_err(missing)?;
                (200, json!({"success": true, "deliveries": deliveries}))
            }
            WebhookRoute::Replay(id, delivery) => {
                webhooks
                    .replay(&id, delivery)
                    .await
                    .map_err(|e| not_found(e, "delivery"))?;
                (202, json!({"success": true, "deliveryId": delivery}))
            }
            WebhookRoute::Test(id) => {
                let delivery = webhooks.test(&id, self.random).await.map_err(missing)?;
                (202, json!({"success": true, "deliveryId": delivery}))
            }
        };
        Ok(json_response(status, &body, NO_STORE).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_is_at_most_200_characters() {
        let at_most = "d".repeat(MAX_DESCRIPTION);
        assert_eq!(
            checked_description(at_most.clone()).unwrap(),
            Some(at_most.clone())
        );
        assert!(checked_description(format!("{at_most}d")).is_err());
        assert_eq!(checked_description("  ".into()).unwrap(), None);
    }

    #[test]
    fn a_missing_delivery_and_a_missing_webhook_say_which() {
        assert_eq!(
            not_found(ServiceError::NotFound, "delivery").code,
            "DELIVERY_NOT_FOUND"
        );
        assert_eq!(
            not_found(ServiceError::NotFound, "webhook").code,
            "WEBHOOK_NOT_FOUND"
        );
    }

    #[test]
    fn routes_by_method_and_shape() {
        let get = http::Method::GET;
        let post = http::Method::POST;
        assert_eq!(route(&get, &[]).unwrap(), WebhookRoute::List);
        assert_eq!(route(&post, &[]).unwrap(), WebhookRoute::Create);
        assert_eq!(
            route(&http::Method::PATCH, &["ep_1"]).unwrap(),
            WebhookRoute::Update("ep_1".into())
        );
        assert_eq!(
            route(&post, &["ep_1", "deliveries", "7", "replay"]).unwrap(),
            WebhookRoute::Replay("ep_1".into(), 7)
        );
        assert_eq!(
            route(&post, &["ep_1", "test"]).unwrap(),
            WebhookRoute::Test("ep_1".into())
        );
        assert_eq!(route(&get, &["ep_1", "test"]).unwrap_err().status, 405);
        assert_eq!(
            route(&http::Method::PUT, &["ep_1"]).unwrap_err().status,
            405
        );
        for bad in ["0", "-1", "x", "01", "+1", "99999999999"] {
            let e = route(&post, &["ep_1", "deliveries", bad, "replay"]).unwrap_err();
            assert_eq!(e.code, "INVALID_DELIVERY_ID", "{bad}");
        }
        assert_eq!(
            route(&get, &["a b"]).unwrap_err().code,
            "INVALID_WEBHOOK_ID"
        );
        assert_eq!(route(&get, &["ep_1", "nope"]).unwrap_err().status, 404);
    }

    #[test]
    fn event_types_must_be_known_and_are_kept_once() {
        assert_eq!(
            checked_types(vec![
                "shipment.delivered".into(),
                "shipment.delivered".into()
            ])
            .unwrap(),
            ["shipment.delivered"]
        );
        assert_eq!(
            checked_types(vec![]).unwrap_err().field(),
            Some("eventTypes")
        );
        assert!(checked_types(vec!["ping".into()]).is_err());
        assert_eq!(checked_description("  ".into()).unwrap(), None);
        assert!(checked_description("x".repeat(201)).is_err());
        assert_eq!(
            checked_url("http://10.0.0.1/x".into(), false)
                .unwrap_err()
                .field(),
            Some("url")
        );
    }
}
