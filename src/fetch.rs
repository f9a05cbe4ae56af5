//! Outbound HTTP with a timeout, no redirects and a bounded body. Workers has no
//! `AbortSignal.timeout`, so the fetch races a `Delay` and the loser is aborted.
//!
//! Redirects are not followed (`redirect: manual`): Blue Dart's calls carry credentials in
//! their headers and query, and a 3xx is handed back as it is, which the client treats as a
//! carrier error. The body is read chunk by chunk and reading stops (and the fetch is aborted)
//! once it passes `max_response_bytes`.

use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::{Either, select};
use wasm_bindgen::JsValue;
use worker::{
    AbortController, AbortSignal, Delay, Fetch, Headers, Method, Request, RequestInit,
    RequestRedirect,
};

use tracking_core::ports::{HttpClient, HttpError, HttpRequest, HttpResponse};

pub struct WorkerFetch {
    /// The longest body read; a longer one is [`HttpError::TooLarge`].
    pub max_response_bytes: usize,
}

async fn exchange(
    request: HttpRequest,
    signal: &AbortSignal,
    max_bytes: usize,
) -> Result<HttpResponse, HttpError> {
    let connection = |_: worker::Error| HttpError::Connection;
    let headers = Headers::new();
    for (name, value) in &request.headers {
        headers.set(name, value).map_err(connection)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::from(request.method.to_owned()))
        .with_headers(headers)
        .with_redirect(RequestRedirect::Manual)
        .with_body(request.body.as_deref().map(JsValue::from_str));
    let outbound = Request::new_with_init(&request.url, &init).map_err(connection)?;
    let mut response = Fetch::Request(outbound)
        .send_with_signal(signal)
        .await
        .map_err(connection)?;
    let headers: Vec<(String, String)> = response.headers().entries().collect();
    let declared = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|len| len > max_bytes) {
        return Err(HttpError::TooLarge(max_bytes));
    }
    let mut body = Vec::new();
    // A response without a body (a 302, say) has no stream.
    if let Ok(mut stream) = response.stream() {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(connection)?;
            if body.len() + chunk.len() > max_bytes {
                return Err(HttpError::TooLarge(max_bytes));
            }
            body.extend_from_slice(&chunk);
        }
    }
    Ok(HttpResponse {
        status: response.status_code(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

impl HttpClient for WorkerFetch {
    async fn send(&self, request: HttpRequest, timeout_ms: u64) -> Result<HttpResponse, HttpError> {
        let controller = AbortController::default();
        let signal = controller.signal();
        let fetch = std::pin::pin!(exchange(request, &signal, self.max_response_bytes));
        let timeout = std::pin::pin!(Delay::from(Duration::from_millis(timeout_ms)));
        match select(fetch, timeout).await {
            Either::Left((Ok(response), _)) => Ok(response),
            Either::Left((Err(e), _)) => {
                // Stop whatever is still arriving.
                controller.abort();
                Err(e)
            }
            Either::Right(_) => {
                controller.abort();
                Err(HttpError::Timeout(timeout_ms))
            }
        }
    }
}
