//! The push consumer: merges the updates the carrier pushed, through the very path a poll's
//! answer takes (`merge_reply`: `rules::merge`, one transaction, KV for changed orders), so a
//! pushed scan that is repeated, arrives out of order or was polled already adds nothing.
//! Waybills no order has are recorded as unmatched for admins, not treated as errors. A merged
//! push moves the order's next check out, as a sync does: fresh data means no poll is due.
//!
//! Queues deliver at least once: merging the same message again writes nothing new (events
//! are unique by identity), and its counts are recorded once per queue message id.

use super::{ServiceError, SyncSummary, TrackingService};
use crate::carrier::{Carrier, TrackingReply};
use crate::model::Snapshot;
use crate::ports::{Clock, KeyValue, Log, Store, StoreError};
use crate::push::{PushMessage, PushStats};
use crate::queue::Verdict;

/// How long a message whose merge failed (storage) waits before it is delivered again.
pub const PUSH_RETRY_SECS: u32 = 30;

/// Unmatched waybills an admin sees, the latest first.
pub const UNMATCHED_SHOWN: usize = 50;

/// How many times a push merges orders that changed while it merged, before its message is
/// retried.
const PUSH_MERGE_ROUNDS: usize = 3;

impl<S, K, C, T, L> TrackingService<'_, S, K, C, T, L>
where
    S: Store,
    K: KeyValue,
    C: Carrier,
    T: Clock,
    L: Log,
{
    /// Merges each message's updates; a verdict per message, in order.
    pub async fn consume_push(&self, messages: &[PushMessage]) -> Vec<Verdict> {
        let mut verdicts = Vec::with_capacity(messages.len());
        for message in messages {
            verdicts.push(match self.merge_push(message).await {
                Ok(()) => Verdict::Ack,
                Err(e) => {
                    self.log.warn(&format!(
                        "[TRACKING PUSH] Could not merge a push of {} waybills: {e}",
                        message.updates.len()
                    ));
                    Verdict::Retry {
                        delay_secs: PUSH_RETRY_SECS,
                    }
                }
            });
        }
        verdicts
    }

    async fn merge_push(&self, message: &PushMessage) -> Result<(), ServiceError> {
        let mut counts = message.counts;
        let awbs: Vec<String> = message.updates.iter().map(|u| u.awb.clone()).collect();
        let mut unmatched: Vec<String> = Vec::new();
        if !awbs.is_empty() {
            let orders = self.store.orders_for_intake(&[], &awbs).await?;
            // Waybill and order, by waybill (a waybill is on one order at most).
            let mut order_of: Vec<(&str, &str)> = orders
                .iter()
                .filter_map(|o| Some((o.awb_no.as_deref()?, o.id.as_str())))
                .collect();
            crate::sorting::sort_by_key(&mut order_of, |(awb, _)| *awb);
            let order_for = |awb: &str| {
                let at = order_of.binary_search_by(|(a, _)| (*a).cmp(awb)).ok()?;
                Some(order_of[at].1)
            };
            let mut ids: Vec<String> = Vec::new();
            for awb in &awbs {
                match order_for(awb) {
                    Some(id) => ids.push(id.to_owned()),
                    None => unmatched.push(awb.clone()),
                }
            }
            let snapshots: Vec<Snapshot> = if ids.is_empty() {
                Vec::new()
            } else {
                self.store.snapshots(&ids).await?
            };
            if !snapshots.is_empty() {
                let reply = TrackingReply {
                    http_status: 200,
                    updates: message
                        .updates
                        .iter()
                        .map(|u| (u.awb.clone(), Some(u.update.clone())))
                        .collect(),
                };
                let summaries = self.merge_push_reply(snapshots, reply).await?;
                counts.status_changes_push +=
                    summaries.iter().filter(|s| s.status_changed()).count() as u64;
            }
            for awb in &unmatched {
                self.log.info(&format!(
                    "[TRACKING PUSH] AWB {awb} pushed, but no order has it (recorded as unmatched)"
                ));
            }
        }
        counts.unmatched += unmatched.len() as u64;
        // Unmatched waybills are counted too: an empty count means nothing to record.
        if !counts.is_empty() {
            self.store
                .record_push(&message.delivery_id, &counts, &unmatched, self.clock.now())
                .await?;
        }
        Ok(())
    }

    /// Counts of pushes and of status changes by push and by poll, and the unmatched waybills.
    pub async fn push_stats(&self) -> Result<PushStats, ServiceError> {
        Ok(self.store.push_stats(UNMATCHED_SHOWN).await?)
    }

    /// [`Self::merge_reply`] for a push, whose updates no poll may bring again (the order may
    /// no longer be polled): an order that changed while it merged is merged again into what
    /// is stored now.
    async fn merge_push_reply(
        &self,
        snapshots: Vec<Snapshot>,
        reply: TrackingReply,
    ) -> Result<Vec<SyncSummary>, ServiceError> {
        let mut pending = snapshots;
        let mut merged = Vec::new();
        for _ in 0..PUSH_MERGE_ROUNDS {
            let ids: Vec<String> = pending.iter().map(|s| s.order.id.clone()).collect();
            let saved = self.merge_reply(pending, reply.clone(), false).await?;
            let left: Vec<String> = ids
                .into_iter()
                .filter(|id| !saved.iter().any(|s| s.snapshot.order.id == *id))
                .collect();
            merged.extend(saved);
            if left.is_empty() {
                return Ok(merged);
            }
            pending = self.store.snapshots(&left).await?;
        }
        Err(ServiceError::Store(StoreError(
            "pushed orders kept changing while they merged".into(),
        )))
    }
}
