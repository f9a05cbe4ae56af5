//! Cloudflare Queues behind the domain's `SyncQueues` port, and the consumer's verdicts applied
//! to the platform's messages.

use worker::{Env, MessageBuilder, MessageExt, Queue, QueueRetryOptionsBuilder, SendMessage};

use serde::Serialize;
use tracking_core::ports::StoreError;
use tracking_core::push::PushMessage;
use tracking_core::queue::{Lane, MAX_MESSAGES_PER_SEND, SyncMessage, SyncQueues, Verdict};
use tracking_core::webhooks::{DeliveryMessage, WebhookQueue};

/// The bindings `wrangler.toml` declares, one per lane.
pub const SYNC_QUEUE: &str = "SYNC_QUEUE";
pub const REFRESH_QUEUE: &str = "REFRESH_QUEUE";
pub const DEAD_LETTER_QUEUE: &str = "DEAD_LETTER_QUEUE";
/// Blue Dart's pushed updates, from the push endpoint to their consumer.
pub const PUSH_QUEUE: &str = "PUSH_QUEUE";
/// The push queue's name (`wrangler.toml`, both environments): how the one queue handler
/// tells its batches apart.
pub const PUSH_QUEUE_NAME: &str = "shipment-push";

/// Webhook deliveries: one message per attempt at a delivery (retries are resends with a delay).
pub const WEBHOOK_QUEUE: &str = "WEBHOOK_QUEUE";
/// The webhook queue's name (`wrangler.toml`, both environments).
pub const WEBHOOK_QUEUE_NAME: &str = "webhook-deliveries";

/// The refresh queue's name (wrangler.toml, both environments): its messages are handed back
/// to it, not to the sync queue.
pub const REFRESH_QUEUE_NAME: &str = "shipment-refresh";

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

/// Applies the consumer's verdict to a delivered message.
pub fn apply(message: &impl MessageExt, verdict: Verdict) {
    match verdict {
        Verdict::Ack => message.ack(),
        Verdict::Retry { delay_secs } => message.retry_with_options(
            &QueueRetryOptionsBuilder::new()
                .with_delay_seconds(delay_secs)
                .build(),
        ),
    }
}
