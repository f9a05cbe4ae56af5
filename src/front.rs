//! The customer worker (built without the `full` feature): it answers the customer routes
//! itself and hands every other request, unread, to the full worker through the service binding
//! `FULL`, which also runs the cron trigger and the queue consumers. A customer's isolate then
//! loads only the customer routes' code.

use tracking_api::error::ApiError;
use tracking_api::routes::is_front_path;
use tracking_core::ports::Log;
use worker::{Env, Request, Response};

use crate::bridge::{path_and_query, to_worker};
use crate::runtime::ConsoleLog;

/// The full worker's answer to `req`, or `req` back when this worker answers it.
pub async fn hand_off(req: Request, env: &Env) -> Result<Response, Request> {
    let url = req.inner().url();
    let path = path_and_query(&url);
    let path = path.split_once('?').map_or(path, |(path, _)| path);
    if is_front_path(path) {
        return Err(req);
    }
    let Ok(full) = env.service("FULL") else {
        worker::console_error!("[HTTP] not configured: the service binding FULL is missing");
        return Ok(to_worker(ApiError::not_configured().into_response()));
    };
    Ok(match full.fetch_request(req).await {
        Ok(response) => response,
        Err(e) => {
            ConsoleLog.warn(&format!("[HTTP] the full worker did not answer: {e}"));
            to_worker(
                ApiError::new(
                    502,
                    "BACK_OFFICE_UNAVAILABLE",
                    "The service could not answer; try again",
                )
                .into_response(),
            )
        }
    })
}
