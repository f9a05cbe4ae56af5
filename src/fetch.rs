//! Outbound HTTP with a timeout, no redirects and a bounded body. Workers has no
//! `AbortSignal.timeout`, so the fetch races a `Delay` and the loser is aborted.
//!
//! Redirects are not followed (`redirect: manual`): Blue Dart's calls carry credentials in
//! their headers and query, and a 3xx is handed back as it is, which the client treats as a
//! carrier error. The body is read chunk by chunk and reading stops (and the fetch is aborted)
//! once it passes `max_response_bytes`, counted after any content decoding, so that neither a
//! missing length nor a compressed one lets a larger body through.
//!
//! The exchange runs in one JavaScript function, called once: the request goes in as strings,
//! the answer comes back as two (its head and its body). Through workers-rs' `Request`,
//! `Headers` and body stream it was a call or more per header and a promise handed back to the
//! wasm for every body chunk, about a sixth of a customer's refresh's CPU in a profile of the
//! running worker.

use std::time::Duration;

use futures_util::future::{Either, select};
use worker::js_sys::{Array, Promise};
use worker::wasm_bindgen::JsCast;
use worker::wasm_bindgen::prelude::wasm_bindgen;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{Delay, web_sys};

use tracking_core::ports::{HttpClient, HttpError, HttpRequest, HttpResponse};

pub struct WorkerFetch {
    /// The longest body read; a longer one is [`HttpError::TooLarge`].
    pub max_response_bytes: usize,
}

// Headers go in as one string ("name\nvalue\n…", which `exchange` refuses to build from a name
// or value holding a line break). The answer is `[head, body]`, its head "status\nname\nvalue…",
// or `null` when the body passed `maxBytes` (the caller then aborts what is still arriving).
#[wasm_bindgen(inline_js = r#"
export async function exchange(url, method, fields, body, signal, maxBytes) {
  const headers = new Headers();
  const parts = fields.split("\n");
  for (let i = 0; i + 1 < parts.length; i += 2) headers.append(parts[i], parts[i + 1]);
  const response = await fetch(url, { method, headers, body, redirect: "manual", signal });
  let head = String(response.status);
  for (const [name, value] of response.headers) head += "\n" + name + "\n" + value;
  const declared = response.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) return null;
  if (response.body === null) return [head, ""];
  const reader = response.body.getReader();
  const chunks = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > maxBytes) return null;
    chunks.push(value);
  }
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return [head, new TextDecoder().decode(bytes)];
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = exchange)]
    fn exchange_js(
        url: &str,
        method: &str,
        fields: &str,
        body: Option<String>,
        signal: &web_sys::AbortSignal,
        max_bytes: f64,
    ) -> Promise;
}

async fn exchange(
    request: HttpRequest,
    signal: &web_sys::AbortSignal,
    max_bytes: usize,
) -> Result<HttpResponse, HttpError> {
    let mut fields = String::new();
    for (name, value) in &request.headers {
        // The runtime refuses such a header too; joined, it would split into two.
        if name.contains(['\n', '\r']) || value.contains(['\n', '\r']) {
            return Err(HttpError::Connection);
        }
        fields.push_str(name);
        fields.push('\n');
        fields.push_str(value);
        fields.push('\n');
    }
    let answer = JsFuture::from(exchange_js(
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
    let body = answer.get(1).as_string().unwrap_or_default();
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
