//! The platform's request → `http::Request`, `http::Response` → the platform's response: all the
//! HTTP contract (crates/api) sees of Workers.
//!
//! The worker takes and gives the runtime's own `Request` and `Response` objects, not workers-rs'
//! wrappers: wrapping a request reads its method, URL, headers and `cf` properties (building
//! `cf` alone was 5 % of a cached answer's time in a profile of the running worker), all of
//! which `to_http` reads again its own way; and a wrapped response is turned back into the
//! runtime's by reading it apart and building a second `Response` around the first one's body
//! stream.

use tracking_api::requests::{BodyError, RequestBody};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::web_sys;
use worker::worker_sys::Fetcher;

use crate::runtime_js::{bytes_of, header_fields, read_body, request_head, respond};

/// A Workers request body, read only when a route needs it.
pub struct WorkerBody(web_sys::Request);

impl WorkerBody {
    /// The platform's request this body belongs to, as it came.
    pub fn into_request(self) -> web_sys::Request {
        self.0
    }
}

/// `request` sent on, unread, to the worker or assets behind `binding`, and its response as it
/// comes: workers-rs' wrappers would read both apart and build them again.
pub async fn forward(
    binding: worker::Fetcher,
    request: web_sys::Request,
) -> Result<web_sys::Response, JsValue> {
    let binding: Fetcher = binding.into_rpc();
    JsFuture::from(binding.fetch(&request)?)
        .await?
        .dyn_into::<web_sys::Response>()
}

impl RequestBody for WorkerBody {
    async fn read(self, limit: usize) -> Result<Vec<u8>, BodyError> {
        // A chunked body declares no length: the limit is checked while reading.
        let read = JsFuture::from(read_body(&self.0, limit as f64))
            .await
            .map_err(|_| BodyError::Unreadable)?;
        bytes_of(&read).ok_or(BodyError::TooLarge)
    }
}

/// A URL's path and query, read from the raw text: parsing the whole URL would pull the `url`
/// crate's international-domain tables into the wasm for nothing.
fn path_and_query(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path_and_query = after_scheme
        .find('/')
        .map_or("/", |start| &after_scheme[start..]);
    path_and_query
        .split_once('#')
        .map_or(path_and_query, |(pq, _)| pq)
}

/// The request's method, path and query, and headers, with its body left to be read.
pub fn to_http(request: web_sys::Request) -> Result<http::Request<WorkerBody>, http::Error> {
    let head = request_head(&request);
    let mut lines = head.split('\n');
    // The raw method, not `request.method()`: worker 0.8.7 maps every method it does not know
    // (QUERY, PROPFIND, …) to GET, which would serve them as GETs.
    let method = lines.next().unwrap_or_default();
    let url = lines.next().unwrap_or_default();
    let mut builder = http::Request::builder()
        .method(method)
        .uri(path_and_query(url));
    // A header http cannot represent (none that a client can send over HTTP) is left out rather
    // than failing the whole request.
    while let (Some(name), Some(value)) = (lines.next(), lines.next()) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            builder = builder.header(name, value);
        }
    }
    builder.body(WorkerBody(request))
}

pub fn to_worker(response: http::Response<String>) -> web_sys::Response {
    // A value that is not visible ASCII (none that this service writes) is left out; none holds
    // a line break (`http` refuses those).
    let fields = header_fields(
        response
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?))),
    )
    .unwrap_or_default();
    let status = response.status().as_u16();
    let body = response.into_body();
    // 204 and 304 are null-body statuses: the runtime refuses a Response with any body, even
    // an empty one.
    let null_body = body.is_empty() && matches!(status, 204 | 304);
    respond(status, &fields, body.as_bytes(), null_body)
}

#[cfg(test)]
mod tests {
    use super::path_and_query;

    #[test]
    fn the_path_and_query_are_read_from_the_raw_url() {
        for (url, expected) in [
            (
                "https://track.example.com/api/shipment/ORD-1/track?forceRefresh=true",
                "/api/shipment/ORD-1/track?forceRefresh=true",
            ),
            ("http://127.0.0.1:8787/health", "/health"),
            ("http://127.0.0.1:8787", "/"),
            (
                "http://127.0.0.1:8787/track/ORD-1?lang=hi#top",
                "/track/ORD-1?lang=hi",
            ),
            ("http://h/a%2Fb?x=1&y=%20", "/a%2Fb?x=1&y=%20"),
            // A query with a scheme-like text in it is not taken for the start.
            ("http://h/p?next=https://other/x", "/p?next=https://other/x"),
        ] {
            assert_eq!(path_and_query(url), expected, "{url}");
        }
    }
}
