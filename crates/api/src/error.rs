//! Every error answer — the domain's, bad input, credentials — is an `ApiError`, and every
//! `ApiError` becomes `{"success": false, "message": …, "code": …}` with its status here.

use serde_json::{Value, json};
use tracking_core::carrier::CarrierError;
use tracking_core::error::ServiceError;

use crate::credentials::{CredentialError, Refusal};
use crate::reply::{NO_STORE, json_response};

#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    extra: Vec<(&'static str, Value)>,
    allow: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: Vec::new(),
            allow: None,
        }
    }

    pub fn with(mut self, key: &'static str, value: Value) -> ApiError {
        self.extra.push((key, value));
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(400, code, message)
    }

    pub fn unauthorized(message: &str) -> ApiError {
        ApiError::new(401, "UNAUTHORIZED", message)
    }

    pub fn not_found() -> ApiError {
        ApiError::new(404, "NOT_FOUND", "Route not found")
    }

    pub fn method_not_allowed(allow: &'static str) -> ApiError {
        let mut e = ApiError::new(405, "METHOD_NOT_ALLOWED", format!("Use {allow}"));
        e.allow = Some(allow);
        e
    }

    /// A field of a request body that fails validation.
    pub fn invalid(field: &str, message: &str) -> ApiError {
        ApiError::bad_request("VALIDATION_ERROR", format!("{field}: {message}"))
            .with("field", json!(field))
    }

    /// The field a `VALIDATION_ERROR` is about.
    pub fn field(&self) -> Option<&str> {
        self.extra
            .iter()
            .find(|(key, _)| *key == "field")
            .and_then(|(_, value)| value.as_str())
    }

    /// Which variable or binding is wrong is the operator's business (it is in the log), not
    /// the caller's.
    pub fn not_configured() -> ApiError {
        ApiError::new(
            500,
            "CONFIGURATION_ERROR",
            "The service is not configured correctly",
        )
    }

    pub fn into_response(self) -> http::Response<String> {
        let mut body = json!({"success": false, "message": self.message, "code": self.code});
        for (key, value) in self.extra {
            body[key] = value;
        }
        let mut response = json_response(self.status, &body, NO_STORE);
        if let Some(allow) = self.allow {
            response
                .headers_mut()
                .insert(http::header::ALLOW, http::HeaderValue::from_static(allow));
        }
        response
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        match e {
            // For customers this also means "not yours": the two answer alike.
            ServiceError::NotFound => ApiError::new(404, "ORDER_NOT_FOUND", "Order not found"),
            ServiceError::Conflict { code, message } => ApiError::new(409, code, message),
            ServiceError::Carrier(CarrierError::Refused { code, message }) => ApiError::new(
                422,
                "WAYBILL_REFUSED",
                "Blue Dart refused to generate a waybill",
            )
            .with("bluedartError", json!(format!("{message} ({code})"))),
            ServiceError::Carrier(carrier) => {
                ApiError::new(502, "CARRIER_UNAVAILABLE", "Blue Dart could not be reached")
                    .with("bluedartError", json!(carrier.to_string()))
            }
            // The store's own text may name tables; it goes to the log, not the caller.
            ServiceError::Store(_) => ApiError::new(
                503,
                "STORAGE_UNAVAILABLE",
                "Storage is unavailable; try again shortly",
            ),
        }
    }
}

impl From<CredentialError> for ApiError {
    fn from(e: CredentialError) -> ApiError {
        ApiError::unauthorized(e.message())
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> ApiError {
        match refusal {
            Refusal::Missing(message) => ApiError::unauthorized(message),
            Refusal::Bad(e) => e.into(),
        }
    }
}
