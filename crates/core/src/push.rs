//! Status updates the carrier pushes to us, as the domain sees them: a push read into
//! per-waybill updates (the carrier adapter reads the carrier's shape), the queue message that
//! carries them from the endpoint to the consumer, and what the consumer records of pushes.
//!
//! The endpoint only validates and enqueues, so that a slow store never makes the carrier
//! retry; the consumer merges through the same rules as a poll (`rules::merge`), so a push
//! repeated, reordered or overlapping a poll adds no event twice.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::carrier::CarrierUpdate;

/// Why one item of a push was refused; the other items still count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushItemError {
    /// The item's position in the push, from 0.
    pub item: usize,
    /// A short reason fit for the carrier's eyes (never a value from the item).
    pub reason: String,
}

/// One waybill's news from a push.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PushUpdate {
    /// The waybill of the order it belongs to (a return leg's forward waybill).
    pub awb: String,
    pub update: CarrierUpdate,
}

/// A push as read: how many items it had, which were refused, and the updates of the others.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PushBatch {
    pub items: usize,
    pub rejected: Vec<PushItemError>,
    pub updates: Vec<PushUpdate>,
}

impl PushBatch {
    pub fn accepted(&self) -> usize {
        self.items - self.rejected.len()
    }
}

/// Waybills per queue message: a push of many shipments is split so that each message stays
/// far below the queue's message size limit.
pub const UPDATES_PER_MESSAGE: usize = 20;

/// What goes through the push queue. Counts travel with the first message of a push only, so
/// that a push split into several messages is counted once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushMessage {
    #[serde(deserialize_with = "crate::utc::time")]
    pub received_at: DateTime<Utc>,
    #[serde(default)]
    pub counts: PushCounts,
    pub updates: Vec<PushUpdate>,
    /// The queue's id of this message, the same on every delivery of it: set by the consumer
    /// (never sent), so that a redelivered message's counts are recorded once. Empty: always
    /// recorded.
    #[serde(skip)]
    pub delivery_id: String,
}

impl PushMessage {
    /// The messages for one push.
    pub fn for_push(batch: PushBatch, received_at: DateTime<Utc>) -> Vec<PushMessage> {
        let mut counts = PushCounts {
            pushes: 1,
            items: batch.items as u64,
            accepted: batch.accepted() as u64,
            rejected: batch.rejected.len() as u64,
            ..PushCounts::default()
        };
        let mut messages: Vec<PushMessage> = batch
            .updates
            .chunks(UPDATES_PER_MESSAGE)
            .map(|chunk| PushMessage {
                received_at,
                counts: std::mem::take(&mut counts),
                updates: chunk.to_vec(),
                delivery_id: String::new(),
            })
            .collect();
        if messages.is_empty() {
            // Nothing to merge, but the push still counts.
            messages.push(PushMessage {
                received_at,
                counts,
                updates: Vec::new(),
                delivery_id: String::new(),
            });
        }
        messages
    }
}

/// Counters of pushes, kept as running totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushCounts {
    /// Pushes received (requests that were read and enqueued).
    pub pushes: u64,
    /// Items (`statustracking` entries) in them.
    pub items: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Waybill updates for which no order has the waybill.
    pub unmatched: u64,
    /// Orders whose latest status changed through a push.
    pub status_changes_push: u64,
    /// Orders whose latest status changed through the queued poll (the hourly sync and
    /// background refreshes), as their runs counted it.
    pub status_changes_poll: u64,
}

impl PushCounts {
    pub fn add(&mut self, other: &PushCounts) {
        self.pushes += other.pushes;
        self.items += other.items;
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.unmatched += other.unmatched;
        self.status_changes_push += other.status_changes_push;
        self.status_changes_poll += other.status_changes_poll;
    }

    pub fn is_empty(&self) -> bool {
        *self == PushCounts::default()
    }
}

/// A pushed waybill no order has: kept for admins (the waybill only, nothing else).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnmatchedPush {
    pub awb_no: String,
    #[serde(deserialize_with = "crate::utc::time")]
    pub first_seen_at: DateTime<Utc>,
    #[serde(deserialize_with = "crate::utc::time")]
    pub last_seen_at: DateTime<Utc>,
    pub times: u64,
}

/// What admins see of pushes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushStats {
    pub counts: PushCounts,
    pub unmatched: Vec<UnmatchedPush>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(awb: &str) -> PushUpdate {
        PushUpdate {
            awb: awb.into(),
            update: CarrierUpdate::default(),
        }
    }

    #[test]
    fn a_large_push_is_split_and_counted_once() {
        let at = DateTime::parse_from_rfc3339("2026-01-24T04:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let batch = PushBatch {
            items: 45,
            rejected: vec![PushItemError {
                item: 3,
                reason: "no WaybillNo".into(),
            }],
            updates: (0..44).map(|i| update(&format!("8123456{i:04}"))).collect(),
        };
        let messages = PushMessage::for_push(batch, at);
        assert_eq!(messages.len(), 3);
        assert_eq!(messages[0].counts.accepted, 44);
        assert_eq!(messages[0].counts.rejected, 1);
        assert_eq!(messages[0].counts.pushes, 1);
        assert_eq!(messages[0].counts.items, 45);
        assert!(messages[1].counts.is_empty() && messages[2].counts.is_empty());
        let json = serde_json::to_string(&messages[2]).unwrap();
        let back: PushMessage = serde_json::from_str(&json).unwrap();
        assert_eq!(back, messages[2]);
        let empty = PushMessage::for_push(
            PushBatch {
                items: 1,
                rejected: vec![PushItemError {
                    item: 0,
                    reason: "x".into(),
                }],
                updates: vec![],
            },
            at,
        );
        assert_eq!(empty.len(), 1);
        assert_eq!(empty[0].counts.rejected, 1);
    }

    #[test]
    fn counts_add_up_field_by_field() {
        let one = PushCounts {
            pushes: 1,
            items: 2,
            accepted: 3,
            rejected: 4,
            unmatched: 5,
            status_changes_push: 6,
            status_changes_poll: 7,
        };
        let mut total = one;
        total.add(&one);
        assert_eq!(
            total,
            PushCounts {
                pushes: 2,
                items: 4,
                accepted: 6,
                rejected: 8,
                unmatched: 10,
                status_changes_push: 12,
                status_changes_poll: 14,
            }
        );
    }
}
