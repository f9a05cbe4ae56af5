//! Switchable misbehaviour, per endpoint: everything `bluedart-protocol.md` says Blue Dart does on
//! a bad day.

use serde::{Deserialize, Serialize};

/// The simulated endpoints that faults, latency and counters are kept for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Endpoint {
    Login,
    Tracking,
    Waybill,
}

impl Endpoint {
    pub const ALL: [Endpoint; 3] = [Endpoint::Login, Endpoint::Tracking, Endpoint::Waybill];

    pub fn parse(name: &str) -> Option<Endpoint> {
        match name {
            "login" => Some(Endpoint::Login),
            "tracking" => Some(Endpoint::Tracking),
            "waybill" => Some(Endpoint::Waybill),
            _ => None,
        }
    }
}

/// One kind of misbehaviour.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "camelCase")]
pub enum Fault {
    /// Close the connection without answering.
    Drop,
    /// Answer normally, but only after `ms` milliseconds.
    Hang { ms: u64 },
    /// An error status (500, 502, 503, …) with a gateway's HTML error page.
    Status { code: u16 },
    /// A maintenance HTML page with status 200, as the legacy servlet does.
    HtmlOk,
    /// Well-formed start, broken tags.
    MalformedXml,
    /// The real answer cut off half way.
    TruncatedXml,
    /// 401 for a token that is in fact valid: what an expired token looks like.
    ExpiredToken,
    /// HTTP 200 `<Error>License Mismatch</Error>`.
    LicenseMismatch,
    /// Apigee-style throttling: 429 with `Retry-After`.
    TooManyRequests {
        #[serde(rename = "retryAfterSecs")]
        retry_after_secs: u64,
    },
}

/// A fault with when it applies: after `skip` calls, for `times` calls (all of them if absent).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    #[serde(flatten)]
    pub fault: Fault,
    #[serde(default)]
    pub skip: u32,
    #[serde(default)]
    pub times: Option<u32>,
}

impl FaultRule {
    /// A fault on every call from now on.
    pub fn always(fault: Fault) -> FaultRule {
        FaultRule {
            fault,
            skip: 0,
            times: None,
        }
    }

    /// The fault on exactly one call, the `nth` from now (1-based).
    pub fn on_call(nth: u32, fault: Fault) -> FaultRule {
        FaultRule {
            fault,
            skip: nth.saturating_sub(1),
            times: Some(1),
        }
    }

    /// Consumes one call: the fault to apply to it, if any, and whether the rule is used up.
    pub fn next_call(&mut self) -> (Option<Fault>, bool) {
        if self.skip > 0 {
            self.skip -= 1;
            return (None, false);
        }
        match &mut self.times {
            None => (Some(self.fault.clone()), false),
            Some(0) => (None, true),
            Some(n) => {
                *n -= 1;
                (Some(self.fault.clone()), *n == 0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_call_fires_once_at_the_right_call() {
        let mut rule = FaultRule::on_call(2, Fault::Status { code: 500 });
        assert_eq!(rule.next_call(), (None, false));
        assert_eq!(rule.next_call(), (Some(Fault::Status { code: 500 }), true));
    }

    #[test]
    fn rules_read_from_json() {
        let rule: FaultRule =
            serde_json::from_str(r#"{"mode":"tooManyRequests","retryAfterSecs":7,"times":2}"#)
                .unwrap();
        assert_eq!(
            rule.fault,
            Fault::TooManyRequests {
                retry_after_secs: 7
            }
        );
        assert_eq!(rule.times, Some(2));
        let rule: FaultRule = serde_json::from_str(r#"{"mode":"hang","ms":300}"#).unwrap();
        assert_eq!(rule, FaultRule::always(Fault::Hang { ms: 300 }));
    }
}
