//! The webhook services: endpoints for admins, the dispatch of recorded deliveries to the
//! delivery queue, and the queue's consumer, which signs and sends each message, retries with
//! backoff, and disables an endpoint that keeps failing.
//!
//! Queues deliver at least once: a message whose delivery has moved on (delivered, or attempted
//! since the message was made) is dropped.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use super::delivery::{Outcome, WebhookSettings, after_failure, outcome, retry_delay_ms};
use super::{
    Attempt, AttemptRecord, Delivery, DeliveryJob, DeliveryMessage, DeliveryState, Endpoint,
    WebhookQueue, ping, sign,
};
use crate::error::ServiceError;
use crate::ports::{Clock, HttpClient, HttpRequest, Log, Random, WebhookStore};
use crate::queue::{MAX_DELAY_SECS, MAX_MESSAGES_PER_SEND, Verdict};
use crate::service::queue::delay_secs;

/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);

/// A delivery waiting behind an earlier one of its order is looked at again after this long.
const WAIT_BEHIND_SECS: u32 = 2;

/// A pending delivery sent to the queue this long before (or, when retried, whose retry was
/// due this long before) is sent again: its message was lost. Longer than any wait behind an
/// earlier delivery of the order usually lasts; a delivery that waits longer may get a second
/// message, and the one that comes back after an attempt is dropped as stale.
pub const DELIVERY_LEASE: Duration = Duration::hours(3);

/// Deliveries sent to the queue per dispatch, at most.
const DISPATCH_LIMIT: usize = MAX_MESSAGES_PER_SEND;

/// A new endpoint, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointInput {
    pub url: String,
    pub event_types: Vec<String>,
    pub description: Option<String>,
}

/// Changes to an endpoint, validated; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
    pub rotate_secret: bool,
}

pub struct Webhooks<'a, S, T, L> {
    pub store: &'a S,
    pub clock: &'a T,
    pub log: &'a L,
    pub settings: &'a WebhookSettings,
}

fn random_hex(random: &dyn Random) -> String {
    format!("{:016x}{:016x}", random.next_u64(), random.next_u64())
}

impl<S: WebhookStore, T: Clock, L: Log> Webhooks<'_, S, T, L> {
    /// Creates an endpoint; returns it and its secret, which is shown this once.
    pub async fn create(
        &self,
        input: EndpointInput,
        random: &dyn Random,
    ) -> Result<(Endpoint, String), ServiceError> {
        let now = self.clock.now();
        let secret = sign::new_secret(random);
        let endpoint = Endpoint {
            id: format!("ep_{}", &random_hex(random)[..24]),
            url: input.url,
            description: input.description,
            event_types: input.event_types,
            enabled: true,
            disabled_reason: None,
            failing_since: None,
            secret: secret.clone(),
            previous_secret: None,
            previous_secret_expires_at: None,
            created_at: now,
            updated_at: now,
        };
        self.store.create_endpoint(&endpoint).await?;
        self.log.info(&format!(
            "[WEBHOOKS] Endpoint {} created for {}",
            endpoint.id,
            endpoint.event_types.join(", ")
        ));
        Ok((endpoint, secret))
    }

    pub async fn list(&self) -> Result<Vec<Endpoint>, ServiceError> {
        Ok(self.store.endpoints().await?)
    }

    pub async fn get(&self, id: &str) -> Result<Endpoint, ServiceError> {
        self.store.endpoint(id).await?.ok_or(ServiceError::NotFound)
    }

    /// Applies `patch`; returns the endpoint and, after a rotation, the new secret (the old
    /// one keeps signing, beside it, for [`ROTATION_OVERLAP`]). Enabling an endpoint clears
    /// why it was disabled and its failure streak.
    pub async fn update(
        &self,
        id: &str,
        patch: EndpointPatch,
        random: &dyn Random,
    ) -> Result<(Endpoint, Option<String>), ServiceError> {
        let mut endpoint = self.get(id).await?;
        let now = self.clock.now();
        if let Some(url) = patch.url {
            endpoint.url = url;
        }
        if let Some(types) = patch.event_types {
            endpoint.event_types = types;
        }
        if let Some(description) = patch.description {
            endpoint.description = description;
        }
        if let Some(enabled) = patch.enabled {
            if enabled && !endpoint.enabled {
                endpoint.failing_since = None;
            }
            endpoint.enabled = enabled;
            endpoint.disabled_reason = None;
        }
        let rotated = patch.rotate_secret.then(|| {
            let secret = sign::new_secret(random);
            endpoint.previous_secret =
                Some(std::mem::replace(&mut endpoint.secret, secret.clone()));
            endpoint.previous_secret_expires_at = Some(now + ROTATION_OVERLAP);
            secret
        });
        endpoint.updated_at = now;
        if !self.store.update_endpoint(&endpoint).await? {
            return Err(ServiceError::NotFound);
        }
        if rotated.is_some() {
            self.log
                .info(&format!("[WEBHOOKS] Endpoint {id}: secret rotated"));
        }
        Ok((endpoint, rotated))
    }

    pub async fn delete(&self, id: &str) -> Result<(), ServiceError> {
        if self.store.delete_endpoint(id).await? {
            Ok(())
        } else {
            Err(ServiceError::NotFound)
        }
    }

    pub async fn deliveries(&self, id: &str, limit: usize) -> Result<Vec<Delivery>, ServiceError> {
        self.get(id).await?;
        Ok(self.store.deliveries(id, limit).await?)
    }

    /// Sends a delivery again, with the same `webhook-id`.
    pub async fn replay(&self, id: &str, delivery: i64) -> Result<(), ServiceError> {
        if self.store.replay(id, delivery).await? {
            Ok(())
        } else {
            Err(ServiceError::NotFound)
        }
    }

    /// Sends the endpoint a `ping`; the delivery's id.
    pub async fn test(&self, id: &str, random: &dyn Random) -> Result<i64, ServiceError> {
        self.get(id).await?;
        let now = self.clock.now();
        let event = ping(format!("msg_{}", random_hex(random)), now);
        Ok(self.store.add_delivery(id, &event, now).await?)
    }

    /// Sends the deliveries waiting for the queue to it. Never fails: what went wrong is
    /// logged, and the deliveries wait for the next dispatch. The number sent.
    pub async fn dispatch(&self, queue: &impl WebhookQueue) -> usize {
        let mut sent = 0;
        loop {
            let claimed = match self
                .store
                .claim_unqueued(
                    self.clock.now(),
                    self.clock.now() - DELIVERY_LEASE,
                    DISPATCH_LIMIT,
                )
                .await
            {
                Ok(claimed) => claimed,
                Err(e) => {
                    self.log.warn(&format!(
                        "[WEBHOOKS] Could not list deliveries to send: {e}"
                    ));
                    return sent;
                }
            };
            if claimed.is_empty() {
                return sent;
            }
            let messages: Vec<DeliveryMessage> = claimed
                .iter()
                .map(|&(delivery, attempt)| DeliveryMessage { delivery, attempt })
                .collect();
            if let Err(e) = queue.send(&messages, 0).await {
                self.log.warn(&format!(
                    "[WEBHOOKS] Could not queue {} deliveries: {e}",
                    messages.len()
                ));
                let ids: Vec<i64> = claimed.iter().map(|(id, _)| *id).collect();
                if let Err(e) = self.store.unqueue(&ids).await {
                    self.log
                        .warn(&format!("[WEBHOOKS] Could not release deliveries: {e}"));
                }
                return sent;
            }
            sent += messages.len();
            if claimed.len() < DISPATCH_LIMIT {
                return sent;
            }
        }
    }

    /// The delivery queue's consumer: a verdict per message, in order.
    pub async fn deliver(
        &self,
        messages: &[DeliveryMessage],
        http: &impl HttpClient,
        random: &impl Random,
        queue: &impl WebhookQueue,
    ) -> Vec<Verdict> {
        let mut verdicts = Vec::with_capacity(messages.len());
        for message in messages {
            let verdict = match self.deliver_one(message, http, random, queue).await {
                Ok(verdict) => verdict,
                Err(e) => {
                    self.log.warn(&format!(
                        "[WEBHOOKS] Delivery {} could not be handled; retried by the platform: {e}",
                        message.delivery
                    ));
                    Verdict::Retry {
                        delay_secs: delay_secs(self.settings.retry_base_ms),
                    }
                }
            };
            verdicts.push(verdict);
        }
        verdicts
    }

    async fn deliver_one(
        &self,
        message: &DeliveryMessage,
        http: &impl HttpClient,
        random: &impl Random,
        queue: &impl WebhookQueue,
    ) -> Result<Verdict, ServiceError> {
        let Some(job) = self.store.delivery_job(message.delivery).await? else {
            return Ok(Verdict::Ack);
        };
        if job.state != DeliveryState::Pending || job.attempts != message.attempt {
            // Delivered, given up or attempted since this message was made: a redelivery.
            return Ok(Verdict::Ack);
        }
        let now = self.clock.now();
        if !job.endpoint.enabled {
            self.store
                .record_attempt(&AttemptRecord {
                    delivery: job.delivery,
                    endpoint_id: job.endpoint.id.clone(),
                    attempt: None,
                    state: DeliveryState::Skipped,
                    failing_since: job.endpoint.failing_since,
                    disable: None,
                })
                .await?;
            return Ok(Verdict::Ack);
        }
        if job.earlier_pending {
            // An earlier change of the order goes first; this one comes back shortly. A resend,
            // not a retry, so that waiting never counts towards the platform's retries.
            queue
                .send(std::slice::from_ref(message), WAIT_BEHIND_SECS)
                .await?;
            return Ok(Verdict::Ack);
        }
        let record = self.attempt(&job, now, http, random).await;
        self.store.record_attempt(&record).await?;
        if let Some(at) = record.attempt.as_ref().and_then(|a| a.next_retry_at) {
            let again = DeliveryMessage {
                delivery: job.delivery,
                attempt: job.attempts + 1,
            };
            let delay = delay_secs((at - now).num_milliseconds().max(0) as u64);
            if let Err(e) = queue.send(&[again], delay).await {
                // This message is stale now (the attempt is recorded): the delivery waits for
                // the next dispatch instead.
                self.log.warn(&format!(
                    "[WEBHOOKS] Could not queue the retry of delivery {}; the next dispatch sends it: {e}",
                    job.delivery
                ));
                self.store.unqueue(&[job.delivery]).await?;
            }
        }
        Ok(Verdict::Ack)
    }

    /// One signed attempt, and what it changes.
    async fn attempt(
        &self,
        job: &DeliveryJob,
        now: DateTime<Utc>,
        http: &impl HttpClient,
        random: &impl Random,
    ) -> AttemptRecord {
        let endpoint = &job.endpoint;
        let event = &job.event;
        let timestamp = now.timestamp();
        let request = HttpRequest {
            method: "POST",
            url: endpoint.url.clone(),
            headers: vec![
                ("content-type", "application/json".into()),
                ("user-agent", "shipment-tracker-webhooks/1".into()),
                ("webhook-id", event.id.clone()),
                ("webhook-timestamp", timestamp.to_string()),
                (
                    "webhook-signature",
                    sign::signature_header(
                        &endpoint.signing_secrets(now),
                        &event.id,
                        timestamp,
                        &event.payload,
                    ),
                ),
            ],
            body: Some(event.payload.clone()),
        };
        let result = http.send(request, self.settings.timeout_ms).await;
        let latency_ms = (self.clock.now() - now).num_milliseconds().max(0) as u64;
        let number = job.attempts + 1;
        let http_status = result.as_ref().ok().map(|r| r.status);
        let (state, error, next_retry_at) = match outcome(&result, self.clock.now()) {
            Outcome::Delivered => (DeliveryState::Delivered, None, None),
            Outcome::Retry {
                error,
                retry_after_secs,
            } if number - job.replayed_after < self.settings.max_attempts => {
                let wait =
                    retry_delay_ms(self.settings, number, random.next_u64(), retry_after_secs)
                        .min(MAX_DELAY_SECS as u64 * 1000);
                let at =
                    now + Duration::from_std(StdDuration::from_millis(wait)).unwrap_or_default();
                (DeliveryState::Pending, Some(error), Some(at))
            }
            Outcome::Retry { error, .. } => (
                DeliveryState::Failed,
                Some(format!("{error}; out of attempts")),
                None,
            ),
            Outcome::Refused(error) => (DeliveryState::Failed, Some(error), None),
        };
        let (failing_since, disable) = if state == DeliveryState::Delivered {
            (None, None)
        } else {
            let (since, disable) = after_failure(self.settings, endpoint.failing_since, now);
            (Some(since), disable)
        };
        match &error {
            None => self.log.info(&format!(
                "[WEBHOOKS] {} {} delivered to {} (attempt {number})",
                event.kind, event.id, endpoint.id
            )),
            Some(error) => self.log.warn(&format!(
                "[WEBHOOKS] {} {} to {} failed (attempt {number}): {error}",
                event.kind, event.id, endpoint.id
            )),
        }
        if let Some(reason) = &disable {
            self.log
                .warn(&format!("[WEBHOOKS] Endpoint {} {reason}", endpoint.id));
        }
        AttemptRecord {
            delivery: job.delivery,
            endpoint_id: endpoint.id.clone(),
            attempt: Some(Attempt {
                attempt: number,
                at: now,
                http_status,
                latency_ms,
                error,
                next_retry_at: next_retry_at.filter(|_| disable.is_none()),
            }),
            state: if disable.is_some() && state == DeliveryState::Pending {
                DeliveryState::Failed
            } else {
                state
            },
            failing_since,
            disable,
        }
    }
}
