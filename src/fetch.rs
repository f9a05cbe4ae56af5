//! Outbound HTTP with a timeout, no redirects and a bounded body. Workers has no
//! `AbortSignal.timeout`, so the fetch races a `Delay` and the loser is aborted.
//!
//! Redirects are not followed (`redirect: manual`): Blue Dart's calls carry credentials in
//! their headers and query, and a 3xx is handed back as it is, which the client treats as a
//! carrier error. The body is read chunk by chunk and reading stops (and the fetch is aborted)
//! once it passes `max_response_bytes`, counted after any content decoding, so that neither a
//! missing length nor a compressed one lets a larger body through.
//!
//! The exchange itself is one JavaScript call (`runtime_js::exchange`).

use std::time::Duration;

use futures_util::future::{Either, select};
use worker::js_sys::{Array, Uint8Array};
use worker::wasm_bindgen::JsCast;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{Delay, web_sys};

use tracking_core::ports::{HttpClient, HttpError, HttpRequest, HttpResponse};

use crate::runtime_js::{self, header_fields};

pub struct WorkerFetch {
    /// The longest body read; a longer one is [`HttpError::TooLarge`].
    pub max_response_bytes: usize,
}

async fn exchange(
    request: HttpRequest,
    signal: &web_sys::AbortSignal,
    max_bytes: usize,
) -> Result<HttpResponse, HttpError> {
    // A header with a line break is refused, as the runtime would refuse it.
    let fields = header_fields(request.headers.iter().map(|(n, v)| (*n, v.as_str())))
        .ok_or(HttpError::Connection)?;
    let answer = JsFuture::from(runtime_js::exchange(
        &request.url,
        request.method,
        &fields,
        request.body,
        signal,
        max_bytes as f64,
    ))
    .await
    .map_err(|_| HttpError::Connection)?;
    let Some(answer) = answer.dyn_ref::<Array>() else {
        return Err(HttpError::TooLarge(max_bytes));
    };
    let head = answer.get(0).as_string().unwrap_or_default();
    let body = String::from_utf8(Uint8Array::new(&answer.get(1)).to_vec())
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    let mut lines = head.split('\n');
    let status = lines
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or(HttpError::Connection)?;
    let mut headers = Vec::new();
    while let (Some(name), Some(value)) = (lines.next(), lines.next()) {
        headers.push((name.to_owned(), value.to_owned()));
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

impl HttpClient for WorkerFetch {
    async fn send(&self, request: HttpRequest, timeout_ms: u64) -> Result<HttpResponse, HttpError> {
        let controller = web_sys::AbortController::new().map_err(|_| HttpError::Connection)?;
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
