//! What a request gets back: a JSON response with its caching rules, and what the platform
//! should do once it has been sent.

use serde_json::Value;

/// How long a browser may cache a cached-data answer. Such answers are authorised by a bearer
/// token or a signed link, so they also carry `Vary: Authorization`: a browser shared by two
/// people must not show the second one the first one's answer.
pub const CACHED_ANSWER: &str = "private, max-age=30";
pub const NO_STORE: &str = "no-store";

/// Work to run after the response has gone (on Workers, `ctx.wait_until`).
#[derive(Clone, Debug, PartialEq)]
pub enum After {
    /// Refresh this order from the carrier in the background (an admin looked at it stale).
    Refresh(String),
    /// Send these to the push queue *before* the answer leaves: the answer promises that the
    /// push is safely accepted. If they cannot be sent, the answer becomes a 503 (Blue Dart
    /// retries).
    Push(Vec<tracking_core::push::PushMessage>),
}

#[derive(Debug)]
pub struct Reply {
    pub response: http::Response<String>,
    pub after: Option<After>,
}

impl From<http::Response<String>> for Reply {
    fn from(response: http::Response<String>) -> Reply {
        Reply {
            response,
            after: None,
        }
    }
}

pub fn json_response(
    status: u16,
    body: &Value,
    cache_control: &'static str,
) -> http::Response<String> {
    json_text_response(status, body.to_string(), cache_control)
}

/// A JSON answer whose body is already text.
pub fn json_text_response(
    status: u16,
    body: String,
    cache_control: &'static str,
) -> http::Response<String> {
    http::Response::builder()
        .status(status)
        .header(
            http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )
        .header(http::header::CACHE_CONTROL, cache_control)
        .header("X-Content-Type-Options", "nosniff")
        .body(body)
        .expect("a status and static headers always build")
}
