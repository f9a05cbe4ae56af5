//! What goes through the sync queues: one message is the shipments of (at most) one carrier
//! call, and the port the domain sends messages through (Workers: Cloudflare Queues).
//!
//! Queues deliver at least once, so a message says when it was made: a consumer that finds its
//! orders synced since then has nothing to do.
#![allow(async_fn_in_trait)]

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ports::StoreError;

/// One carrier call's worth of shipments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncMessage {
    /// The sync run the message counts towards; `None` for an admin's background refresh,
    /// which the consumer records as a run of its own.
    #[serde(default)]
    pub run: Option<i64>,
    pub orders: Vec<String>,
    #[serde(deserialize_with = "crate::utc::time")]
    pub enqueued_at: DateTime<Utc>,
    /// Carrier calls of this very set of shipments that failed before (0: first try).
    #[serde(default)]
    pub attempt: u32,
    /// Sent on its own after a failure (a half of a split, or a message whose combined call
    /// failed): never packed with others again, and split rather than retried when it fails.
    #[serde(default)]
    pub isolated: bool,
}

impl SyncMessage {
    pub fn new(run: Option<i64>, orders: Vec<String>, enqueued_at: DateTime<Utc>) -> SyncMessage {
        SyncMessage {
            run,
            orders,
            enqueued_at,
            attempt: 0,
            isolated: false,
        }
    }
}

/// The queues a message can go to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// The hourly sync's shipments, a full carrier call each.
    Sync,
    /// Admins' background refreshes, one order each, combined into calls by the consumer.
    Refresh,
    /// Shipments that kept failing on their own, kept for a person to look at.
    DeadLetter,
}

/// Sends messages to a queue. Implementations page the messages into the platform's batches.
pub trait SyncQueues {
    /// Sends `messages` to `lane`, each delivered no sooner than `delay_secs` from now.
    async fn send(
        &self,
        lane: Lane,
        messages: &[SyncMessage],
        delay_secs: u32,
    ) -> Result<(), StoreError>;
}

/// What the consumer decided for a message it was handed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Done with: synced, skipped, or passed on as new messages.
    Ack,
    /// Hand it back to the platform for redelivery after `delay_secs` (the breaker is open,
    /// storage failed, or this invocation's budget ran out before its turn).
    Retry { delay_secs: u32 },
}

/// Cloudflare Queues' most messages per `sendBatch` call.
pub const MAX_MESSAGES_PER_SEND: usize = 100;

/// The longest delay Cloudflare Queues accepts (12 hours).
pub const MAX_DELAY_SECS: u32 = 43_200;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_reads_back_as_sent_and_old_fields_default() {
        let at = DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let message = SyncMessage::new(Some(7), vec!["ORD-1".into()], at);
        let json = serde_json::to_string(&message).unwrap();
        assert_eq!(
            json,
            r#"{"run":7,"orders":["ORD-1"],"enqueuedAt":"2026-11-24T10:00:00Z","attempt":0,"isolated":false}"#
        );
        let minimal: SyncMessage =
            serde_json::from_str(r#"{"orders":["A"],"enqueuedAt":"2026-11-24T10:00:00Z"}"#)
                .unwrap();
        assert_eq!(minimal.run, None);
        assert_eq!(minimal.attempt, 0);
        assert!(!minimal.isolated);
    }
}
