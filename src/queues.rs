//! Cloudflare Queues behind the domain's `SyncQueues` port: what the producers send.

use worker::{Env, MessageBuilder, Queue, SendMessage};

use serde::Serialize;
use tracking_core::ports::StoreError;
use tracking_core::push::PushMessage;
use tracking_core::queue::{Lane, MAX_MESSAGES_PER_SEND, SyncMessage, SyncQueues};
use tracking_core::webhooks::{DeliveryMessage, WebhookQueue};

/// The bindings `wrangler.toml` declares, one per lane.
pub const SYNC_QUEUE: &str = "SYNC_QUEUE";
pub const REFRESH_QUEUE: &str = "REFRESH_QUEUE";
pub const DEAD_LETTER_QUEUE: &str = "DEAD_LETTER_QUEUE";
/// Blue Dart's pushed updates, from the push endpoint to their consumer.
pub const PUSH_QUEUE: &str = "PUSH_QUEUE";

/// Webhook deliveries: one message per attempt at a delivery (retries are resends with a delay).
pub const WEBHOOK_QUEUE: &str = "WEBHOOK_QUEUE";

/// The queues, each binding looked up when a message is sent to it: most requests (a cached
/// read above all) send none, and every lookup is a call into JavaScript.
pub struct WorkerQueues {
    env: Env,
}

impl WorkerQueues {
    pub fn new(env: &Env) -> WorkerQueues {
        WorkerQueues { env: env.clone() }
    }

    fn queue(&self, binding: &str) -> Result<Queue, StoreError> {
        self.env
            .queue(binding)
            .map_err(|_| StoreError(format!("the queue binding {binding} is missing")))
    }

    /// Sends a push's messages to the push queue, all before the push is answered.
    pub async fn send_push(&self, messages: &[PushMessage]) -> Result<(), StoreError> {
        send_pages(&self.queue(PUSH_QUEUE)?, messages, 0).await
    }
}

/// Sends `messages` to `queue` a platform batch at a time, each delivered no sooner than
/// `delay_secs` from now.
async fn send_pages<T: Serialize>(
    queue: &Queue,
    messages: &[T],
    delay_secs: u32,
) -> Result<(), StoreError> {
    for page in messages.chunks(MAX_MESSAGES_PER_SEND) {
        let batch: Vec<SendMessage<&T>> = page
            .iter()
            .map(|m| {
                let builder = MessageBuilder::new(m);
                if delay_secs > 0 {
                    builder.delay_seconds(delay_secs).build()
                } else {
                    builder.build()
                }
            })
            .collect();
        queue
            .send_batch(batch)
            .await
            .map_err(|e| StoreError(format!("queue send failed: {e}")))?;
    }
    Ok(())
}

impl SyncQueues for WorkerQueues {
    async fn send(
        &self,
        lane: Lane,
        messages: &[SyncMessage],
        delay_secs: u32,
    ) -> Result<(), StoreError> {
        let binding = match lane {
            Lane::Sync => SYNC_QUEUE,
            Lane::Refresh => REFRESH_QUEUE,
            Lane::DeadLetter => DEAD_LETTER_QUEUE,
        };
        send_pages(&self.queue(binding)?, messages, delay_secs).await
    }
}

impl WebhookQueue for WorkerQueues {
    async fn send(&self, messages: &[DeliveryMessage], delay_secs: u32) -> Result<(), StoreError> {
        send_pages(&self.queue(WEBHOOK_QUEUE)?, messages, delay_secs).await
    }
}
