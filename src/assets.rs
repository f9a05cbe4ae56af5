//! The full worker's static assets (wrangler.toml's `[assets]`): the contract, served at
//! `GET /openapi.json` through the `ASSETS` binding rather than compiled into the wasm. The
//! assets answer `HEAD`, tag the document (`ETag`) and take their caching from their
//! `_headers` file; `If-None-Match` is compared here, as for every other answer.

use tracking_api::conditional::none_match;
use tracking_api::error::ApiError;
use tracking_api::routes::{Route, route};
use worker::wasm_bindgen::JsValue;
use worker::{Env, web_sys};

use crate::bridge::{WorkerBody, forward, to_worker};

/// The contract's answer to `request`, or `request` back when it asks for something else
/// (other methods on the contract's path too: routing answers them with its 405).
pub async fn contract(
    request: http::Request<WorkerBody>,
    env: &Env,
) -> Result<web_sys::Response, http::Request<WorkerBody>> {
    if !matches!(
        route(request.method(), request.uri().path()),
        Ok(Route::OpenApi)
    ) {
        return Err(request);
    }
    let tags: Vec<http::HeaderValue> = request
        .headers()
        .get_all(http::header::IF_NONE_MATCH)
        .iter()
        .cloned()
        .collect();
    let answer = match env.assets("ASSETS") {
        Ok(assets) => forward(assets, request.into_body().into_request()).await,
        Err(e) => Err(e.into()),
    };
    // Without the document (no binding, a deployment without the folder) it is the
    // contract's configuration error, with the reason in the log.
    Ok(match answer {
        Ok(response) if unchanged(&response, &tags) => {
            not_modified(&response).unwrap_or_else(|e| {
                not_configured(&format!("unreadable answer from the assets: {e:?}"))
            })
        }
        Ok(response) if response.status() != 404 => response,
        Ok(_) => not_configured("the static assets have no openapi.json"),
        Err(e) => not_configured(&format!("the static assets (ASSETS) did not answer: {e:?}")),
    })
}

/// Whether the assets' answer is one the client holds: their own 304 (they compare tags only
/// exactly), or a 200 whose tag `If-None-Match` matches as RFC 9110 asks (`*`, a list, `W/`).
fn unchanged(response: &web_sys::Response, tags: &[http::HeaderValue]) -> bool {
    match response.status() {
        304 => true,
        200 => response
            .headers()
            .get("etag")
            .ok()
            .flatten()
            .is_some_and(|etag| none_match(tags, &etag)),
        _ => false,
    }
}

/// The contract's 304 for the assets' answer: its `ETag` and `Cache-Control`, nothing about
/// content. (A fetched response's headers cannot be changed, so it is built anew.)
fn not_modified(response: &web_sys::Response) -> Result<web_sys::Response, JsValue> {
    let headers = web_sys::Headers::new()?;
    for name in ["etag", "cache-control"] {
        if let Some(value) = response.headers().get(name)? {
            headers.set(name, &value)?;
        }
    }
    let init = web_sys::ResponseInit::new();
    init.set_status(304);
    init.set_headers(&headers);
    web_sys::Response::new_with_opt_str_and_init(None, &init)
}

fn not_configured(reason: &str) -> web_sys::Response {
    worker::console_error!("[HTTP] not configured: {reason}");
    to_worker(ApiError::not_configured().into_response())
}
