//! The domain's one error type.

use std::fmt;

use crate::carrier::CarrierError;
use crate::ports::StoreError;

/// Why a request could not be served. Carries no HTTP status: the HTTP contract (`tracking-api`) maps it, in one place.
#[derive(Clone, Debug, PartialEq)]
pub enum ServiceError {
    /// No such order — or, for a customer, not one their credentials cover: the two are
    /// deliberately indistinguishable.
    NotFound,
    Conflict {
        code: &'static str,
        message: String,
    },
    Carrier(CarrierError),
    Store(StoreError),
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceError::NotFound => f.write_str("order not found"),
            ServiceError::Conflict { message, .. } => f.write_str(message),
            ServiceError::Carrier(e) => write!(f, "{e}"),
            ServiceError::Store(e) => write!(f, "storage: {e}"),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        ServiceError::Store(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_text_for_logs() {
        let store = StoreError("d1 is down".into());
        assert_eq!(store.to_string(), "d1 is down");
        assert_eq!(
            ServiceError::Store(store).to_string(),
            "storage: d1 is down"
        );
        assert_eq!(ServiceError::NotFound.to_string(), "order not found");
    }
}
