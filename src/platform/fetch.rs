//! Outbound HTTP with a timeout. Workers has no `AbortSignal.timeout`, so the fetch races a
//! `Delay` and the loser is aborted.

use std::time::Duration;

use futures_util::future::{Either, select};
use wasm_bindgen::JsValue;
use worker::{AbortController, AbortSignal, Delay, Fetch, Headers, Method, Request, RequestInit};

use crate::ports::{HttpClient, HttpError, HttpRequest, HttpResponse};

pub struct WorkerFetch;

async fn exchange(request: HttpRequest, signal: &AbortSignal) -> worker::Result<HttpResponse> {
    let headers = Headers::new();
    for (name, value) in &request.headers {
        headers.set(name, value)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::from(request.method.to_owned()))
        .with_headers(headers)
        .with_body(request.body.as_deref().map(JsValue::from_str));
    let outbound = Request::new_with_init(&request.url, &init)?;
    let mut response = Fetch::Request(outbound).send_with_signal(signal).await?;
    Ok(HttpResponse {
        status: response.status_code(),
        headers: response.headers().entries().collect(),
        body: response.text().await?,
    })
}

impl HttpClient for WorkerFetch {
    async fn send(&self, request: HttpRequest, timeout_ms: u64) -> Result<HttpResponse, HttpError> {
        let controller = AbortController::default();
        let signal = controller.signal();
        let fetch = std::pin::pin!(exchange(request, &signal));
        let timeout = std::pin::pin!(Delay::from(Duration::from_millis(timeout_ms)));
        match select(fetch, timeout).await {
            Either::Left((Ok(response), _)) => Ok(response),
            Either::Left((Err(_), _)) => Err(HttpError::Connection),
            Either::Right(_) => {
                controller.abort();
                Err(HttpError::Timeout(timeout_ms))
            }
        }
    }
}
