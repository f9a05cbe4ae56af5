//! The customer worker (built without the `full` feature): it answers the customer routes
//! itself and hands every other request, unread, to the full worker through the service binding
//! `FULL`, which also runs the cron trigger and the queue consumers. A customer's isolate then
//! loads only the customer routes' code.

use tracking_api::error::ApiError;
use tracking_api::routes::is_front_path;
use worker::{Env, web_sys};

use crate::bridge::{WorkerBody, forward, to_worker};

/// The full worker's answer to `request`, or `request` back when this worker answers it.
pub async fn hand_off(
    request: http::Request<WorkerBody>,
    env: &Env,
) -> Result<web_sys::Response, http::Request<WorkerBody>> {
    if is_front_path(request.uri().path()) {
        return Err(request);
    }
    // Either failure is a deployment without its full worker: the contract's configuration
    // error, with the reason in the log.
    let Ok(full) = env.service("FULL") else {
        worker::console_error!("[HTTP] not configured: the service binding FULL is missing");
        return Ok(to_worker(ApiError::not_configured().into_response()));
    };
    Ok(
        match forward(full, request.into_body().into_request()).await {
            Ok(response) => response,
            Err(e) => {
                worker::console_error!(
                    "[HTTP] not configured: the full worker did not answer: {e:?}"
                );
                to_worker(ApiError::not_configured().into_response())
            }
        },
    )
}
