//! The hourly sync on the queues. The cron produces: it takes the due shipments from D1 (marking
//! them, so a second firing does not take them twice) and sends them as messages of one carrier
//! call each. Consumers sync message by message with a pause between calls, inside each
//! invocation's budgets. A failing message is retried with backoff, then split in halves down to
//! single shipments, so a waybill that makes the carrier fail holds back nobody else; a single
//! shipment that keeps failing goes to the dead-letter queue and is recorded on its order.
//!
//! Queues deliver at least once: a redelivered message finds its orders synced since it was made
//! and is skipped, and a sync repeated anyway merges to the same rows.

use chrono::Duration;

use super::sync::SyncSettings;
use super::{ServiceError, SyncSummary, TrackingService};
use crate::carrier::{Carrier, CarrierError};
use crate::ports::{Clock, KeyValue, Log, Random, Sleeper, Store};
use crate::queue::{Lane, MAX_DELAY_SECS, MAX_MESSAGES_PER_SEND, SyncMessage, SyncQueues, Verdict};
use crate::rules::budget::{Spent, backoff_ms, first_batch_estimate, limit_in_the_way};
use crate::runs::{BatchFailure, RunStatus, RunTally, SyncRun, Trigger};

/// A shipment enqueued this long ago and still not synced is taken again: its message was lost
/// (retries and splits of a failing message take minutes, not hours).
pub const ENQUEUE_LEASE: Duration = Duration::hours(3);

/// What one enqueueing page costs: taking the shipments (one query, one more to release them if
/// the send fails) and the sends.
fn page_cost() -> Spent {
    Spent {
        d1_queries: 2,
        queue_sends: 1,
        ..Spent::default()
    }
}

/// A carrier call's worth of the messages a consumer was handed.
struct Call<'m> {
    /// Indexes into the batch.
    messages: Vec<usize>,
    orders: Vec<&'m str>,
}

/// Packs messages into calls of at most `batch_size` shipments, in order. Isolated messages
/// (and any message as large as a call) go alone.
fn pack(messages: &[SyncMessage], batch_size: usize) -> Vec<Call<'_>> {
    let mut calls: Vec<Call> = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        let ids = message.orders.iter().map(String::as_str);
        match calls.last_mut() {
            Some(call)
                if !message.isolated
                    && !call.messages.iter().any(|&i| messages[i].isolated)
                    && call.orders.len() + message.orders.len() <= batch_size =>
            {
                call.messages.push(index);
                call.orders.extend(ids);
            }
            _ => calls.push(Call {
                messages: vec![index],
                orders: ids.collect(),
            }),
        }
    }
    calls
}

/// A retry delay in whole seconds, as queues take it: at least one, at most twelve hours.
pub(crate) fn delay_secs(ms: u64) -> u32 {
    (ms.div_ceil(1000)).clamp(1, MAX_DELAY_SECS as u64) as u32
}

/// What a consumer invocation did, per run.
#[derive(Default)]
struct Tallies(Vec<(Option<i64>, RunTally)>);

impl Tallies {
    fn of(&mut self, run: Option<i64>) -> &mut RunTally {
        let at = match self.0.iter().position(|(r, _)| *r == run) {
            Some(at) => at,
            None => {
                self.0.push((run, RunTally::default()));
                self.0.len() - 1
            }
        };
        &mut self.0[at].1
    }
}

impl<S, K, C, T, L> TrackingService<'_, S, K, C, T, L>
where
    S: Store,
    K: KeyValue,
    C: Carrier,
    T: Clock,
    L: Log,
{
    /// The producer (cron): sends every due shipment to the sync queue, a carrier call's worth
    /// per message and a hundred messages per send, within the invocation's budgets. Never
    /// fails: what went wrong is logged and recorded in the run.
    pub async fn enqueue_due(
        &self,
        settings: &SyncSettings,
        queues: &impl SyncQueues,
        spent: impl Fn() -> Spent,
    ) -> SyncRun {
        self.log.info("[TRACKING SYNC] Starting background sync...");
        let mut run = self.start_run(Trigger::Cron, 0).await;
        let now = run.started_at;
        self.repair_kv().await;
        let batch_size = settings.batch_size.max(1);
        let page = batch_size * MAX_MESSAGES_PER_SEND;
        while run.enqueued < settings.max_per_run {
            let elapsed = self.clock.now() - now;
            if let Some(reason) = limit_in_the_way(
                &settings.budget,
                spent(),
                page_cost(),
                elapsed,
                Duration::zero(),
            ) {
                self.stop(
                    &mut run,
                    &format!("{reason}; the rest waits for the next run"),
                );
                break;
            }
            let limit = page.min(settings.max_per_run - run.enqueued);
            let due = match self.store.take_due(now, now - ENQUEUE_LEASE, limit).await {
                Ok(due) => due,
                Err(e) => {
                    self.log.warn(&format!(
                        "[TRACKING SYNC] Could not list due shipments: {e}"
                    ));
                    self.stop(
                        &mut run,
                        "could not list due shipments: storage unavailable",
                    );
                    break;
                }
            };
            let ids: Vec<String> = due.into_iter().map(|d| d.order_id).collect();
            let messages: Vec<SyncMessage> = ids
                .chunks(batch_size)
                .map(|chunk| SyncMessage::new(run.id, chunk.to_vec(), now))
                .collect();
            if messages.is_empty() {
                break;
            }
            if let Err(e) = queues.send(Lane::Sync, &messages, 0).await {
                self.log.warn(&format!(
                    "[TRACKING SYNC] Could not send {} messages to the sync queue: {e}",
                    messages.len()
                ));
                if let Err(e) = self.store.release(&ids).await {
                    self.log.warn(&format!(
                        "[TRACKING SYNC] Could not release {} shipments; they are taken again in {} hours: {e}",
                        ids.len(),
                        ENQUEUE_LEASE.num_hours()
                    ));
                }
                self.stop(&mut run, "could not send to the sync queue");
                break;
            }
            run.enqueued += ids.len();
            run.batches += messages.len();
            if ids.len() < limit {
                break;
            }
        }
        run.considered = run.enqueued;
        self.log.info(&format!(
            "[TRACKING SYNC] Syncing {} shipments...",
            run.enqueued
        ));
        self.finish(run, spent()).await
    }

    /// Ends the enqueueing early: nothing enqueued is a failed run, anything else a stopped one
    /// whose consumers still finish what was sent.
    fn stop(&self, run: &mut SyncRun, reason: &str) {
        self.log
            .warn(&format!("[TRACKING SYNC] Stopping early: {reason}"));
        run.status = if run.enqueued == 0 {
            RunStatus::Failed
        } else {
            RunStatus::Stopped
        };
        run.stop_reason = Some(reason.to_owned());
    }

    /// Sends an admin's background refresh of one order to the refresh queue, where the
    /// consumer combines it with others into batched carrier calls.
    pub async fn enqueue_refresh(
        &self,
        order_id: &str,
        queues: &impl SyncQueues,
    ) -> Result<(), ServiceError> {
        let message = SyncMessage::new(None, vec![order_id.to_owned()], self.clock.now());
        queues.send(Lane::Refresh, &[message], 0).await?;
        Ok(())
    }

    /// The consumer of `lane`: one carrier call per message (or per several small ones), a pause
    /// between calls, the invocation's budgets kept. Returns a verdict per message, in order.
    /// (Each argument is a port or a knob the consumer needs; bundling them would only hide it.)
    #[allow(clippy::too_many_arguments)]
    pub async fn consume(
        &self,
        lane: Lane,
        messages: &[SyncMessage],
        settings: &SyncSettings,
        sleeper: &impl Sleeper,
        random: &impl Random,
        queues: &impl SyncQueues,
        spent: impl Fn() -> Spent,
    ) -> Vec<Verdict> {
        let started = self.clock.now();
        let messages = &self.with_refresh_run(messages).await;
        let mut verdicts = vec![Verdict::Ack; messages.len()];
        let mut tallies = Tallies::default();
        let calls = pack(messages, settings.batch_size.max(1));
        let mut next_cost = first_batch_estimate(settings.batch_size);
        let mut next_time = Duration::milliseconds(settings.delay_ms as i64);
        for (index, call) in calls.iter().enumerate() {
            let before = spent();
            let call_started = self.clock.now();
            if let Some(reason) = limit_in_the_way(
                &settings.budget,
                before,
                next_cost,
                call_started - started,
                next_time,
            ) {
                self.hand_back(
                    lane,
                    messages,
                    &calls[index..],
                    &mut verdicts,
                    &mut tallies,
                    1,
                    queues,
                    &reason,
                )
                .await;
                break;
            }
            if index > 0 {
                sleeper.sleep(settings.delay_ms).await;
            }
            match self.sync_call(messages, call).await {
                Ok(synced) => {
                    self.log.info(&format!(
                        "[TRACKING SYNC] Call {}: {} of {} shipments synced, the rest already synced or gone",
                        index + 1,
                        synced.len(),
                        call.orders.len()
                    ));
                    for &i in &call.messages {
                        let message = &messages[i];
                        let here: Vec<bool> = synced
                            .iter()
                            .filter(|(id, _)| message.orders.contains(id))
                            .map(|(_, changed)| *changed)
                            .collect();
                        let tally = tallies.of(message.run);
                        tally.succeeded += here.len();
                        tally.skipped += message.orders.len() - here.len();
                        tally.status_changes += here.iter().filter(|c| **c).count();
                    }
                }
                Err(ServiceError::Carrier(CarrierError::CircuitOpen { retry_after_secs })) => {
                    // No call was made: this message and the rest wait for the breaker.
                    let delay = delay_secs(retry_after_secs.saturating_mul(1000));
                    self.hand_back(
                        lane,
                        messages,
                        &calls[index..],
                        &mut verdicts,
                        &mut tallies,
                        delay,
                        queues,
                        "Blue Dart's circuit is open",
                    )
                    .await;
                    break;
                }
                Err(ServiceError::Carrier(error)) => {
                    let combined = call.messages.len() > 1;
                    for &i in &call.messages {
                        verdicts[i] = self
                            .after_failure(
                                &messages[i],
                                &error,
                                combined,
                                settings,
                                random,
                                queues,
                                &mut tallies,
                            )
                            .await;
                    }
                }
                Err(other) => {
                    // Storage failed: the platform's retries (and in the end its dead-letter
                    // queue) are what they are for.
                    let delay_secs = delay_secs(settings.retry_base_ms);
                    self.log.warn(&format!(
                        "[TRACKING SYNC] Call {} could not be saved; retried by the platform: {other}",
                        index + 1
                    ));
                    for &i in &call.messages {
                        verdicts[i] = Verdict::Retry { delay_secs };
                        tallies.of(messages[i].run).retried += 1;
                    }
                }
            }
            next_cost = next_cost.max(spent().since(before));
            next_time = next_time.max(self.clock.now() - call_started);
        }
        self.record_tallies(tallies, spent()).await;
        verdicts
    }

    /// Refreshes arrive without a run: they get one (`background`) for this invocation's
    /// batch, which their retries and splits carry on, so that it completes only once each of
    /// them is refreshed or dead-lettered.
    async fn with_refresh_run(&self, messages: &[SyncMessage]) -> Vec<SyncMessage> {
        let mut messages = messages.to_vec();
        let fresh: Vec<usize> = (0..messages.len())
            .filter(|&i| messages[i].run.is_none())
            .collect();
        if fresh.is_empty() {
            return messages;
        }
        let mut run = SyncRun::new(Trigger::Background, self.clock.now());
        run.enqueued = fresh.iter().map(|&i| messages[i].orders.len()).sum();
        run.considered = run.enqueued;
        run.batches = fresh.len();
        match self.store.start_run(&run).await {
            Ok(id) => {
                for i in fresh {
                    messages[i].run = Some(id);
                }
            }
            Err(e) => self.log.warn(&format!(
                "[TRACKING SYNC] Could not record the refreshes' run: {e}"
            )),
        }
        messages
    }

    /// Syncs a call's orders, leaving out those synced since their message was made (a
    /// redelivery), those that are gone and those that changed while they synced. The ids of
    /// the orders synced, each with whether its latest status changed.
    async fn sync_call(
        &self,
        messages: &[SyncMessage],
        call: &Call<'_>,
    ) -> Result<Vec<(String, bool)>, ServiceError> {
        let ids: Vec<String> = call.orders.iter().map(|id| (*id).to_owned()).collect();
        let enqueued_at = call
            .messages
            .iter()
            .map(|&i| messages[i].enqueued_at)
            .min()
            .expect("a call has a message");
        let due: Vec<_> = self
            .store
            .snapshots(&ids)
            .await?
            .into_iter()
            .filter(|s| s.order.last_synced_at.is_none_or(|at| at < enqueued_at))
            .collect();
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let due_ids: Vec<String> = due.iter().map(|s| s.order.id.clone()).collect();
        let summaries: Vec<SyncSummary> = self.sync_snapshots(due).await?;
        // Those that changed while they synced (an admin's update leaves the enqueued mark
        // their save would have cleared): the next firing takes them again.
        let left_out: Vec<String> = due_ids
            .into_iter()
            .filter(|id| !summaries.iter().any(|s| s.snapshot.order.id == *id))
            .collect();
        if !left_out.is_empty() {
            self.store.release(&left_out).await?;
        }
        Ok(summaries
            .into_iter()
            .map(|s| {
                let changed = s.status_changed();
                (s.snapshot.order.id, changed)
            })
            .collect())
    }

    /// Sends messages nothing was tried for back to their queue, to come again after
    /// `delay_secs`. A resend, not the platform's retry: retries count towards `max_retries`,
    /// and a message handed back a few times for budget or the breaker must not be
    /// dead-lettered for it. If the send fails, the platform retries them after all. Either way
    /// they are counted as handed back: they come again, and cost queue operations again.
    #[allow(clippy::too_many_arguments)]
    async fn hand_back(
        &self,
        lane: Lane,
        messages: &[SyncMessage],
        calls: &[Call<'_>],
        verdicts: &mut [Verdict],
        tallies: &mut Tallies,
        delay_secs: u32,
        queues: &impl SyncQueues,
        reason: &str,
    ) {
        let indexes: Vec<usize> = calls.iter().flat_map(|c| c.messages.clone()).collect();
        let again: Vec<SyncMessage> = indexes.iter().map(|&i| messages[i].clone()).collect();
        self.log.warn(&format!(
            "[TRACKING SYNC] {} messages handed back for later: {reason}",
            again.len()
        ));
        let verdict = match queues.send(lane, &again, delay_secs).await {
            Ok(()) => Verdict::Ack,
            Err(e) => {
                self.log.warn(&format!(
                    "[TRACKING SYNC] Could not send them back; the platform retries them: {e}"
                ));
                Verdict::Retry { delay_secs }
            }
        };
        for i in indexes {
            verdicts[i] = verdict;
            tallies.of(messages[i].run).handed_back += 1;
        }
    }

    /// A message whose carrier call failed: tried again alone (its call combined others),
    /// retried with backoff, split in halves, or — a single shipment out of chances —
    /// dead-lettered and recorded on its order, whose next check backs off.
    #[allow(clippy::too_many_arguments)]
    async fn after_failure(
        &self,
        message: &SyncMessage,
        error: &CarrierError,
        combined: bool,
        settings: &SyncSettings,
        random: &impl Random,
        queues: &impl SyncQueues,
        tallies: &mut Tallies,
    ) -> Verdict {
        let wait = backoff_ms(
            message.attempt,
            settings.retry_base_ms,
            random.next_u64(),
            error.retry_after_secs(),
        );
        let retry = error.is_transient() && message.attempt < settings.retries;
        let single = message.orders.len() == 1;
        let (lane, next, what): (Lane, Vec<SyncMessage>, &str) = if combined {
            let alone = SyncMessage {
                isolated: true,
                ..message.clone()
            };
            (Lane::Sync, vec![alone], "tried again on its own")
        } else if retry && (single || !message.isolated) {
            let again = SyncMessage {
                attempt: message.attempt + 1,
                ..message.clone()
            };
            (Lane::Sync, vec![again], "retried")
        } else if !single {
            let (left, right) = message.orders.split_at(message.orders.len() / 2);
            let half = |orders: &[String]| SyncMessage {
                orders: orders.to_vec(),
                attempt: 0,
                isolated: true,
                ..message.clone()
            };
            (Lane::Sync, vec![half(left), half(right)], "split in two")
        } else {
            return self.dead_letter(message, error, queues, tallies).await;
        };
        if let Err(e) = queues.send(lane, &next, delay_secs(wait)).await {
            self.log.warn(&format!(
                "[TRACKING SYNC] Could not send a failed message on: {e}"
            ));
            return Verdict::Retry {
                delay_secs: delay_secs(wait),
            };
        }
        self.log.warn(&format!(
            "[TRACKING SYNC] Message of {} shipments failed: {}; {what}",
            message.orders.len(),
            error.detail()
        ));
        tallies.of(message.run).retried += 1;
        Verdict::Ack
    }

    /// A single shipment that kept failing: recorded on its order (whose next check backs off)
    /// and in the run, and kept in the dead-letter queue.
    async fn dead_letter(
        &self,
        message: &SyncMessage,
        error: &CarrierError,
        queues: &impl SyncQueues,
        tallies: &mut Tallies,
    ) -> Verdict {
        let now = self.clock.now();
        let next_check = match self.store.snapshot(&message.orders[0]).await {
            Ok(Some(snapshot)) => {
                let quiet_since = snapshot
                    .order
                    .last_progress_at
                    .unwrap_or(snapshot.order.created_at);
                self.settings.schedule.after_failure(quiet_since, now)
            }
            Ok(None) => now,
            Err(_) => now + self.settings.schedule.moving,
        };
        let recorded = self
            .store
            .record_sync_error(&message.orders, &error.to_string(), Some(next_check))
            .await;
        if let Err(e) = recorded.as_ref() {
            self.log.warn(&format!(
                "[TRACKING SYNC] Could not record the failure of order {}: {e}",
                message.orders[0]
            ));
        }
        if let Err(e) = queues
            .send(Lane::DeadLetter, std::slice::from_ref(message), 0)
            .await
        {
            self.log.warn(&format!(
                "[TRACKING SYNC] Could not dead-letter order {}: {e}",
                message.orders[0]
            ));
            return Verdict::Retry { delay_secs: 60 };
        }
        self.log.warn(&format!(
            "[TRACKING SYNC] Order {} dead-lettered after {} attempts: {}",
            message.orders[0],
            message.attempt + 1,
            error.detail()
        ));
        let tally = tallies.of(message.run);
        tally.failed += 1;
        tally.dead_lettered += 1;
        tally.failures.push(BatchFailure {
            batch: tally.dead_lettered,
            order_ids: message.orders.clone(),
            reason: error.to_string(),
        });
        Verdict::Ack
    }

    /// Adds the invocation's counts to the runs its messages belong to.
    async fn record_tallies(&self, tallies: Tallies, spent: Spent) {
        let mut first = true;
        for (run, mut tally) in tallies.0 {
            // The invocation's spending counts once, towards the first run it worked on.
            tally.spent = if first { spent } else { Spent::default() };
            first = false;
            let handed_back = match tally.handed_back {
                0 => String::new(),
                n => format!(", {n} messages handed back"),
            };
            self.log.info(&format!(
                "[TRACKING SYNC] Completed: {} success, {} failed{handed_back}",
                tally.succeeded, tally.failed
            ));
            let Some(id) = run else {
                continue;
            };
            if let Err(e) = self.store.add_to_run(id, &tally, self.clock.now()).await {
                self.log.warn(&format!(
                    "[TRACKING SYNC] Could not record the consumer's counts: {e}"
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn message(orders: &[&str], isolated: bool) -> SyncMessage {
        SyncMessage {
            isolated,
            ..SyncMessage::new(
                None,
                orders.iter().map(|o| (*o).to_owned()).collect(),
                Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap(),
            )
        }
    }

    fn shape(calls: &[Call<'_>]) -> Vec<Vec<usize>> {
        calls.iter().map(|c| c.messages.clone()).collect()
    }

    #[test]
    fn small_messages_are_packed_into_calls_and_isolated_ones_go_alone() {
        let messages = [
            message(&["A"], false),
            message(&["B"], false),
            message(&["C"], true),
            message(&["D", "E"], false),
            message(&["F"], false),
            message(&["G", "H"], false),
        ];
        assert_eq!(
            shape(&pack(&messages, 3)),
            vec![vec![0, 1], vec![2], vec![3, 4], vec![5]]
        );
        assert_eq!(pack(&messages, 3)[2].orders, vec!["D", "E", "F"]);
        assert_eq!(shape(&pack(&messages, 1)).len(), 6);
    }

    #[test]
    fn delays_are_whole_seconds_within_what_queues_take() {
        assert_eq!(delay_secs(0), 1);
        assert_eq!(delay_secs(1), 1);
        assert_eq!(delay_secs(1000), 1);
        assert_eq!(delay_secs(1001), 2);
        assert_eq!(delay_secs(u64::MAX), MAX_DELAY_SECS);
    }
}
