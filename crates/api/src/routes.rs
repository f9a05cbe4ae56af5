//! The route table: every path and method the worker answers, in one place.

use http::Method;

use crate::error::ApiError;
use crate::requests::order_id;
use crate::webhooks::{self, WebhookRoute};

/// The routes, by method and path shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Health,
    /// The contract itself, `openapi/openapi.json`.
    OpenApi,
    CustomerTrack(String),
    CustomerPreflight,
    AdminTrack(String),
    AdminSync(String),
    AdminAwb(String),
    AdminPutOrder(String),
    AdminBulkOrders,
    AdminSyncRuns,
    /// Blue Dart's pushed status updates (at the configured path; this is the default one).
    CarrierPush,
    /// Counts of pushes and unmatched pushed waybills.
    AdminPush,
    /// The customer tracking page, for the order id as given (the page checks it).
    TrackPage(String),
    /// The embeddable widget's script.
    Widget,
    /// Webhook endpoints, their deliveries, replays and pings.
    AdminWebhooks(WebhookRoute),
}

impl Route {
    /// Whether only an admin's bearer token may call it. Every route is named, so that a new
    /// one cannot be public by omission.
    pub fn is_admin(&self) -> bool {
        match self {
            Route::AdminTrack(_)
            | Route::AdminSync(_)
            | Route::AdminAwb(_)
            | Route::AdminPutOrder(_)
            | Route::AdminBulkOrders
            | Route::AdminSyncRuns
            | Route::AdminPush
            | Route::AdminWebhooks(_) => true,
            Route::Health
            | Route::OpenApi
            | Route::CustomerTrack(_)
            | Route::CustomerPreflight
            | Route::CarrierPush
            | Route::TrackPage(_)
            | Route::Widget => false,
        }
    }
}

/// The path's segments, after its leading `/`.
fn segments(path: &str) -> Vec<&str> {
    path.strip_prefix('/').unwrap_or(path).split('/').collect()
}

/// Whether storefront browsers call this path (and CORS applies): the customer track route's,
/// whatever the method or order id, so that its errors too are readable by the page.
pub fn is_customer_path(path: &str) -> bool {
    matches!(segments(path).as_slice(), ["api", "shipment", _, "track"])
}

/// Whether the customer worker (the build without the `full` feature) answers this path itself:
/// health and the customer routes' paths. Every other path (the admin routes, Blue Dart's push,
/// the contract) it hands to the full worker unread.
pub fn is_front_path(path: &str) -> bool {
    segments(path) == ["health"] || is_customer_route_path(path)
}

/// The customer routes' paths, whatever the method or order id: the customer track, the
/// tracking page and the widget. The back office's build (without the `customer` feature)
/// answers them 404, before anything else is checked.
pub fn is_customer_route_path(path: &str) -> bool {
    matches!(
        segments(path).as_slice(),
        ["widget.js"] | ["track", _] | ["api", "shipment", _, "track"]
    )
}

/// Every route as (method, path template), for documentation and the contract's checks.
pub const TABLE: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("HEAD", "/health"),
    ("GET", "/openapi.json"),
    ("HEAD", "/openapi.json"),
    ("GET", "/api/shipment/{orderId}/track"),
    ("OPTIONS", "/api/shipment/{orderId}/track"),
    ("GET", "/api/admin/shipment/{orderId}/track"),
    ("POST", "/api/admin/shipment/{orderId}/sync"),
    ("POST", "/api/admin/shipment/{orderId}/awb"),
    ("PUT", "/api/admin/orders/{orderId}"),
    ("POST", "/api/admin/orders"),
    ("GET", "/api/admin/sync/runs"),
    ("GET", "/api/admin/push"),
    ("POST", "/api/carrier/bluedart/push"),
    ("GET", "/track/{orderId}"),
    ("GET", "/widget.js"),
    ("HEAD", "/widget.js"),
    ("GET", "/api/admin/webhooks"),
    ("POST", "/api/admin/webhooks"),
    ("GET", "/api/admin/webhooks/{webhookId}"),
    ("PATCH", "/api/admin/webhooks/{webhookId}"),
    ("DELETE", "/api/admin/webhooks/{webhookId}"),
    ("GET", "/api/admin/webhooks/{webhookId}/deliveries"),
    (
        "POST",
        "/api/admin/webhooks/{webhookId}/deliveries/{deliveryId}/replay",
    ),
    ("POST", "/api/admin/webhooks/{webhookId}/test"),
];

pub fn route(method: &Method, path: &str) -> Result<Route, ApiError> {
    let segments = segments(path);
    // `method` is the request's own, unknown ones (`QUERY`, `PROPFIND`) included: only the
    // methods named here are served, everything else on a known path is a 405.
    let expect = |allowed: Method, allow: &'static str| {
        if *method == allowed {
            Ok(())
        } else {
            Err(ApiError::method_not_allowed(allow))
        }
    };
    // HEAD is answered as GET without the body where that costs nothing: no credentials, no
    // storage.
    let get_or_head = |route: Route| {
        if matches!(*method, Method::GET | Method::HEAD) {
            Ok(route)
        } else {
            Err(ApiError::method_not_allowed("GET, HEAD"))
        }
    };
    match segments.as_slice() {
        ["health"] => get_or_head(Route::Health),
        ["openapi.json"] => get_or_head(Route::OpenApi),
        ["widget.js"] => get_or_head(Route::Widget),
        ["track", id] => expect(Method::GET, "GET").map(|_| Route::TrackPage((*id).to_owned())),
        ["api", "shipment", id, "track"] => {
            let id = order_id(id)?;
            match *method {
                Method::GET => Ok(Route::CustomerTrack(id)),
                Method::OPTIONS => Ok(Route::CustomerPreflight),
                _ => Err(ApiError::method_not_allowed("GET, OPTIONS")),
            }
        }
        ["api", "admin", "shipment", id, "track"] => {
            expect(Method::GET, "GET")?;
            Ok(Route::AdminTrack(order_id(id)?))
        }
        ["api", "admin", "shipment", id, "sync"] => {
            expect(Method::POST, "POST")?;
            Ok(Route::AdminSync(order_id(id)?))
        }
        ["api", "admin", "shipment", id, "awb"] => {
            expect(Method::POST, "POST")?;
            Ok(Route::AdminAwb(order_id(id)?))
        }
        ["api", "admin", "sync", "runs"] => {
            expect(Method::GET, "GET").map(|_| Route::AdminSyncRuns)
        }
        ["api", "admin", "push"] => expect(Method::GET, "GET").map(|_| Route::AdminPush),
        ["api", "carrier", "bluedart", "push"] => {
            expect(Method::POST, "POST").map(|_| Route::CarrierPush)
        }
        ["api", "admin", "webhooks", rest @ ..] => {
            webhooks::route(method, rest).map(Route::AdminWebhooks)
        }
        ["api", "admin", "orders"] => expect(Method::POST, "POST").map(|_| Route::AdminBulkOrders),
        ["api", "admin", "orders", id] => {
            expect(Method::PUT, "PUT")?;
            Ok(Route::AdminPutOrder(order_id(id)?))
        }
        _ => Err(ApiError::not_found()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The customer worker's paths are the customer routes of the table and nothing else.
    #[test]
    fn the_customer_worker_answers_the_customer_routes_only() {
        let front: Vec<&str> = TABLE
            .iter()
            .map(|(_, template)| *template)
            .filter(|template| is_front_path(&template.replace("{orderId}", "ORD-1")))
            .collect();
        assert_eq!(
            front,
            [
                "/health",
                "/health",
                "/api/shipment/{orderId}/track",
                "/api/shipment/{orderId}/track",
                "/track/{orderId}",
                "/widget.js",
                "/widget.js",
            ]
        );
        for elsewhere in [
            "/",
            "/openapi.json",
            "/api/carrier/bluedart/push",
            "/api/shipment/ORD-1",
            "/api/shipment/ORD-1/track/more",
            "/track",
            "/track/ORD-1/x",
            "/healthz",
        ] {
            assert!(!is_front_path(elsewhere), "{elsewhere}");
            assert!(!is_customer_route_path(elsewhere), "{elsewhere}");
        }
        // The back office refuses what the front answers, but health.
        for template in front {
            let path = template.replace("{orderId}", "ORD-1");
            assert_eq!(is_customer_route_path(&path), path != "/health", "{path}");
        }
    }

    #[test]
    fn every_route_in_the_table_is_routed_and_others_are_not() {
        for (method, template) in TABLE {
            let path = template
                .replace("{orderId}", "ORD-1")
                .replace("{webhookId}", "ep_1")
                .replace("{deliveryId}", "7");
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let routed = route(&method, &path).unwrap_or_else(|e| panic!("{method} {path}: {e:?}"));
            // An admin's token is asked for exactly where the paths say admin.
            assert_eq!(
                routed.is_admin(),
                path.starts_with("/api/admin/"),
                "{method} {path}"
            );
        }
        assert_eq!(route(&Method::GET, "/nope").unwrap_err().status, 404);
        assert_eq!(
            route(&Method::GET, "/api/shipment/ORD-1")
                .unwrap_err()
                .status,
            404
        );
        assert_eq!(route(&Method::GET, "/health/").unwrap_err().status, 404);
    }

    #[test]
    fn a_wrong_method_names_the_right_ones() {
        let e = route(&Method::DELETE, "/api/shipment/ORD-1/track").unwrap_err();
        assert_eq!((e.status, e.code), (405, "METHOD_NOT_ALLOWED"));
        let response = e.into_response();
        assert_eq!(response.headers()["allow"], "GET, OPTIONS");
        assert_eq!(
            route(&Method::GET, "/api/admin/orders/X")
                .unwrap_err()
                .status,
            405
        );
        assert_eq!(route(&Method::POST, "/health").unwrap_err().status, 405);
    }

    #[test]
    fn unknown_methods_are_not_taken_for_get() {
        for name in ["QUERY", "PROPFIND", "PURGE", "get"] {
            let method = Method::from_bytes(name.as_bytes()).unwrap();
            for (path, allow) in [
                ("/health", "GET, HEAD"),
                ("/openapi.json", "GET, HEAD"),
                ("/api/shipment/ORD-1/track", "GET, OPTIONS"),
                ("/api/admin/sync/runs", "GET"),
                ("/api/admin/webhooks", "GET, POST"),
                ("/api/admin/webhooks/ep_1", "GET, PATCH, DELETE"),
                ("/api/admin/webhooks/ep_1/deliveries", "GET"),
                ("/api/admin/webhooks/ep_1/deliveries/7/replay", "POST"),
                ("/api/admin/webhooks/ep_1/test", "POST"),
            ] {
                let e = route(&method, path).unwrap_err();
                assert_eq!(e.status, 405, "{name} {path}");
                assert_eq!(e.into_response().headers()["allow"], allow, "{name} {path}");
            }
        }
    }

    #[test]
    fn head_is_served_where_get_costs_nothing() {
        assert_eq!(route(&Method::HEAD, "/health").unwrap(), Route::Health);
        assert_eq!(
            route(&Method::HEAD, "/openapi.json").unwrap(),
            Route::OpenApi
        );
        assert_eq!(
            route(&Method::GET, "/openapi.json").unwrap(),
            Route::OpenApi
        );
        assert_eq!(
            route(&Method::HEAD, "/api/admin/sync/runs")
                .unwrap_err()
                .status,
            405
        );
    }

    #[test]
    fn the_customer_path_is_known_whatever_the_id_or_method() {
        assert!(is_customer_path("/api/shipment/ORD-1/track"));
        assert!(is_customer_path("/api/shipment/bad%20id/track"));
        assert!(is_customer_path("/api/shipment//track"));
        assert!(!is_customer_path("/api/admin/shipment/ORD-1/track"));
        assert!(!is_customer_path("/api/shipment/ORD-1"));
        assert!(!is_customer_path("/api/shipment/ORD-1/track/"));
    }

    #[test]
    fn order_ids_are_checked_before_anything_else() {
        for bad in ["a b", "%00", "x".repeat(65).as_str(), "", "<script>"] {
            let path = format!("/api/shipment/{bad}/track");
            let e = route(&Method::GET, &path).unwrap_err();
            assert_eq!((e.status, e.code), (400, "INVALID_ORDER_ID"), "{bad}");
        }
        assert_eq!(
            route(&Method::GET, "/api/shipment/A.b_c-9/track").unwrap(),
            Route::CustomerTrack("A.b_c-9".into())
        );
    }
}
