//! What a sync may spend in one invocation, and what it has: the platform's per-invocation
//! limits (subrequests, D1 queries, KV operations, wall time) and the rules that keep a run
//! inside them.

use chrono::Duration;
use serde::{Deserialize, Serialize};

/// What an invocation has spent so far, as the platform measures it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spent {
    /// Outbound HTTP calls (Blue Dart): the subrequest limit.
    pub subrequests: usize,
    pub d1_queries: usize,
    pub kv_operations: usize,
    /// Calls sending messages to a queue (each up to a hundred). Counted against the
    /// subrequest limit too, to be safe.
    #[serde(default)]
    pub queue_sends: usize,
}

impl Spent {
    pub fn since(self, earlier: Spent) -> Spent {
        Spent {
            subrequests: self.subrequests.saturating_sub(earlier.subrequests),
            d1_queries: self.d1_queries.saturating_sub(earlier.d1_queries),
            kv_operations: self.kv_operations.saturating_sub(earlier.kv_operations),
            queue_sends: self.queue_sends.saturating_sub(earlier.queue_sends),
        }
    }

    pub fn max(self, other: Spent) -> Spent {
        Spent {
            subrequests: self.subrequests.max(other.subrequests),
            d1_queries: self.d1_queries.max(other.d1_queries),
            kv_operations: self.kv_operations.max(other.kv_operations),
            queue_sends: self.queue_sends.max(other.queue_sends),
        }
    }
}

/// Per-invocation limits of the plan the worker runs on (configuration: free and paid differ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub subrequests: usize,
    pub d1_queries: usize,
    pub kv_operations: usize,
    pub wall_time: Duration,
}

/// The wait before retry `attempt` (0-based): exponential from `base_ms` with equal jitter
/// (half fixed, half random), and never shorter than what the carrier asked for.
pub fn backoff_ms(attempt: u32, base_ms: u64, random: u64, retry_after_secs: Option<u64>) -> u64 {
    let ceiling = base_ms.saturating_mul(1u64 << attempt.min(16));
    let jittered = ceiling / 2 + random % (ceiling / 2 + 1);
    jittered.max(retry_after_secs.unwrap_or(0).saturating_mul(1000))
}

/// What one batch may cost before anything has been measured: a login, the call, and one
/// re-login and retry; reading the batch (1 query), the breaker's state (1), saving the batch
/// (at most 6 with the check of its orders' versions, and 2 more recording the webhook
/// messages of its status changes in the same transaction) and one more should an order have
/// changed meanwhile (its versions read again, or its mark released); a KV write per order plus
/// the token's read and write.
pub fn first_batch_estimate(batch_size: usize) -> Spent {
    Spent {
        subrequests: 4,
        d1_queries: 11,
        kv_operations: batch_size + 2,
        queue_sends: 0,
    }
}

/// Recording how the run ended: one D1 batch of two statements.
pub const RUN_RECORD_QUERIES: usize = 2;

/// Handing the webhook deliveries the invocation recorded to their queue once its work is
/// done: claiming a page of them, and releasing it if the send fails (D1), and the send.
pub const WEBHOOK_DISPATCH: Spent = Spent {
    subrequests: 0,
    d1_queries: 2,
    kv_operations: 0,
    queue_sends: 1,
};

/// The first limit that one more batch costing `next` could break, if any. The run's own final
/// record and the webhook dispatch after it are reserved for.
pub fn limit_in_the_way(
    budget: &Budget,
    spent: Spent,
    next: Spent,
    elapsed: Duration,
    next_time: Duration,
) -> Option<String> {
    let checks = [
        (
            "subrequest",
            spent.subrequests
                + spent.queue_sends
                + next.subrequests
                + next.queue_sends
                + WEBHOOK_DISPATCH.queue_sends,
            budget.subrequests,
        ),
        (
            "D1 query",
            spent.d1_queries + next.d1_queries + RUN_RECORD_QUERIES + WEBHOOK_DISPATCH.d1_queries,
            budget.d1_queries,
        ),
        (
            "KV operation",
            spent.kv_operations + next.kv_operations,
            budget.kv_operations,
        ),
    ];
    for (name, would_be, limit) in checks {
        if would_be > limit {
            return Some(format!("{name} budget ({limit}) would be exceeded"));
        }
    }
    if elapsed + next_time > budget.wall_time {
        return Some(format!(
            "wall-time budget ({} s) would be exceeded",
            budget.wall_time.num_seconds()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget() -> Budget {
        Budget {
            subrequests: 50,
            d1_queries: 50,
            kv_operations: 1000,
            wall_time: Duration::minutes(14),
        }
    }

    /// Before anything is measured a batch is assumed to write KV once per order, besides
    /// the token's read and write.
    #[test]
    fn a_first_batch_is_assumed_to_write_kv_for_every_order() {
        assert_eq!(first_batch_estimate(50).kv_operations, 52);
        assert_eq!(first_batch_estimate(1).kv_operations, 3);
    }

    #[test]
    fn the_first_limit_in_the_way_is_named() {
        // 35 + a batch (11, its webhook messages included) + the run's record (2) + the
        // webhook dispatch (2) = 50 fits; one query more does not.
        let fits = Spent {
            subrequests: 10,
            d1_queries: 35,
            kv_operations: 10,
            ..Spent::default()
        };
        let next = first_batch_estimate(10);
        assert_eq!(
            limit_in_the_way(&budget(), fits, next, Duration::zero(), Duration::zero()),
            None
        );
        let spent = Spent {
            d1_queries: 36,
            ..fits
        };
        assert_eq!(
            limit_in_the_way(&budget(), spent, next, Duration::zero(), Duration::zero()),
            Some("D1 query budget (50) would be exceeded".into())
        );
        assert_eq!(
            limit_in_the_way(
                &budget(),
                Spent::default(),
                next,
                Duration::minutes(14),
                Duration::seconds(1)
            ),
            Some("wall-time budget (840 s) would be exceeded".into())
        );
        assert_eq!(
            limit_in_the_way(
                &budget(),
                Spent::default(),
                next,
                Duration::zero(),
                Duration::zero()
            ),
            None
        );
    }

    #[test]
    fn spending_is_measured_per_batch() {
        let a = Spent {
            subrequests: 3,
            d1_queries: 10,
            kv_operations: 4,
            ..Spent::default()
        };
        let b = Spent {
            subrequests: 4,
            d1_queries: 17,
            kv_operations: 9,
            ..Spent::default()
        };
        assert_eq!(
            b.since(a),
            Spent {
                subrequests: 1,
                d1_queries: 7,
                kv_operations: 5,
                ..Spent::default()
            }
        );
        assert_eq!(
            a.max(b.since(a)),
            Spent {
                subrequests: 3,
                d1_queries: 10,
                kv_operations: 5,
                ..Spent::default()
            }
        );
    }
}
