//! Queues in memory, and the platform's part in a queued sync: handing consumers their batches,
//! redelivering what they hand back, after the delay asked for.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use chrono::Duration;

use super::memory::{FakeSleeper, FixedRandom, World};
use crate::carrier::Carrier;
use crate::ports::StoreError;
use crate::queue::{Lane, MAX_MESSAGES_PER_SEND, SyncMessage, SyncQueues, Verdict};
use crate::rules::budget::Spent;
use crate::runs::SyncRun;
use crate::service::sync::SyncSettings;

/// A message waiting on a queue, and how long it asked to wait.
#[derive(Clone, Debug, PartialEq)]
pub struct Waiting {
    pub lane: Lane,
    pub message: SyncMessage,
    pub delay_secs: u32,
}

#[derive(Default)]
pub struct MemoryQueues {
    pub waiting: RefCell<VecDeque<Waiting>>,
    pub dead: RefCell<Vec<SyncMessage>>,
    /// Send calls made (each of up to a hundred messages).
    pub sends: Cell<usize>,
    /// Messages sent, on every lane.
    pub messages_sent: Cell<usize>,
    pub failing: Cell<bool>,
}

impl SyncQueues for MemoryQueues {
    async fn send(
        &self,
        lane: Lane,
        messages: &[SyncMessage],
        delay_secs: u32,
    ) -> Result<(), StoreError> {
        assert!(!messages.is_empty(), "no empty sends");
        self.sends
            .set(self.sends.get() + messages.len().div_ceil(MAX_MESSAGES_PER_SEND));
        if self.failing.get() {
            return Err(StoreError("queue down".into()));
        }
        self.messages_sent
            .set(self.messages_sent.get() + messages.len());
        for message in messages {
            if lane == Lane::DeadLetter {
                self.dead.borrow_mut().push(message.clone());
            } else {
                self.waiting.borrow_mut().push_back(Waiting {
                    lane,
                    message: message.clone(),
                    delay_secs,
                });
            }
        }
        Ok(())
    }
}

impl MemoryQueues {
    /// The next consumer batch: up to `max` messages of the lane at the front, the clock moved
    /// on by the longest delay among them (as if the platform waited for them).
    pub fn next_batch(
        &self,
        max: usize,
        clock: &impl Fn(Duration),
    ) -> Option<(Lane, Vec<SyncMessage>)> {
        let mut waiting = self.waiting.borrow_mut();
        let lane = waiting.front()?.lane;
        let mut batch = Vec::new();
        let mut longest = 0;
        while batch.len() < max {
            let Some(at) = waiting.iter().position(|w| w.lane == lane) else {
                break;
            };
            let w = waiting.remove(at).expect("found");
            longest = longest.max(w.delay_secs);
            batch.push(w.message);
        }
        clock(Duration::seconds(longest as i64));
        Some((lane, batch))
    }
}

impl<C: Carrier> World<C> {
    /// One cron firing and everything after it: the producer, then consumers of `consumer_batch`
    /// messages until the queues are empty. `measure` counts what has been spent so far (each
    /// invocation is charged what it spent itself). The run as recorded at the end.
    pub fn queued_sync(
        &self,
        settings: &SyncSettings,
        queues: &MemoryQueues,
        consumer_batch: usize,
        pauses: &RefCell<Vec<u64>>,
        measure: impl Fn() -> Spent,
    ) -> SyncRun {
        let base = measure();
        let produced = pollster::block_on(
            self.service()
                .enqueue_due(settings, queues, || measure().since(base)),
        );
        self.drain(settings, queues, consumer_batch, pauses, &measure);
        produced
            .id
            .and_then(|id| self.store.runs().into_iter().find(|r| r.id == Some(id)))
            .unwrap_or(produced)
    }

    /// Consumers work until the queues are empty (at most ten thousand invocations).
    pub fn drain(
        &self,
        settings: &SyncSettings,
        queues: &MemoryQueues,
        consumer_batch: usize,
        pauses: &RefCell<Vec<u64>>,
        measure: &impl Fn() -> Spent,
    ) {
        self.drain_with(
            &self.carrier,
            settings,
            queues,
            consumer_batch,
            pauses,
            measure,
        );
    }

    /// As [`World::drain`], the consumers talking to `carrier` (a guard around the world's).
    pub fn drain_with<D: Carrier>(
        &self,
        carrier: &D,
        settings: &SyncSettings,
        queues: &MemoryQueues,
        consumer_batch: usize,
        pauses: &RefCell<Vec<u64>>,
        measure: &impl Fn() -> Spent,
    ) {
        let sleeper = FakeSleeper {
            clock: &self.clock,
            pauses: Default::default(),
        };
        for _ in 0..10_000 {
            let Some((lane, batch)) =
                queues.next_batch(consumer_batch, &|by| self.clock.advance(by))
            else {
                break;
            };
            let base = measure();
            let verdicts = pollster::block_on(self.service_with(carrier).consume(
                lane,
                &batch,
                settings,
                &sleeper,
                &FixedRandom(0),
                queues,
                || measure().since(base),
            ));
            for (message, verdict) in batch.into_iter().zip(verdicts) {
                if let Verdict::Retry { delay_secs } = verdict {
                    queues.waiting.borrow_mut().push_back(Waiting {
                        lane,
                        message,
                        delay_secs,
                    });
                }
            }
        }
        assert!(queues.waiting.borrow().is_empty(), "the queues drained");
        pauses.borrow_mut().extend(sleeper.pauses.into_inner());
    }
}
