//! Webhook endpoints, messages and deliveries in memory, with D1's semantics (message ids
//! recorded once, a delivery per enabled endpoint that asked for the type), and the delivery
//! queue in memory.

use std::cell::RefCell;

use chrono::{DateTime, Utc};

use super::memory::MemoryStore;
use crate::ports::{StoreError, WebhookStore};
use crate::webhooks::{
    Attempt, AttemptRecord, Delivery, DeliveryJob, DeliveryMessage, DeliveryState, Endpoint,
    WebhookEvent, WebhookQueue,
};

/// A delivery row.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryRow {
    pub id: i64,
    pub endpoint_id: String,
    pub event_id: String,
    pub state: DeliveryState,
    pub attempts: Vec<Attempt>,
    pub replayed_after: u32,
    /// When it was sent to the queue; `None`: waiting to be sent.
    pub queued_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct MemoryWebhooks {
    pub endpoints: Vec<Endpoint>,
    pub events: Vec<WebhookEvent>,
    pub deliveries: Vec<DeliveryRow>,
}

impl MemoryWebhooks {
    fn event(&self, id: &str) -> &WebhookEvent {
        self.events
            .iter()
            .find(|e| e.id == id)
            .expect("a delivery's event is recorded")
    }

    fn add(&mut self, endpoint_id: &str, event_id: &str, now: DateTime<Utc>) -> i64 {
        let id = self.deliveries.len() as i64 + 1;
        self.deliveries.push(DeliveryRow {
            id,
            endpoint_id: endpoint_id.to_owned(),
            event_id: event_id.to_owned(),
            state: DeliveryState::Pending,
            attempts: Vec::new(),
            replayed_after: 0,
            queued_at: None,
            created_at: now,
        });
        id
    }
}

impl MemoryStore {
    /// Whether the webhook messages of a save may be written: not when `refuse_webhooks` is
    /// set (as a failing statement fails its whole D1 batch). Checked before anything of the
    /// save is written.
    pub(super) fn check_messages(&self, messages: &[WebhookEvent]) -> Result<(), StoreError> {
        if !messages.is_empty() && self.refuse_webhooks.get() {
            return Err(StoreError("webhook messages refused".into()));
        }
        Ok(())
    }

    /// Records the messages whose ids are new, each with a pending delivery to every enabled
    /// endpoint that asked for its type (the second half of a save).
    pub(super) fn record_messages(&self, events: &[WebhookEvent], now: DateTime<Utc>) {
        let mut state = self.webhooks.borrow_mut();
        for event in events {
            if state.events.iter().any(|e| e.id == event.id) {
                continue;
            }
            state.events.push(event.clone());
            let wanted: Vec<String> = state
                .endpoints
                .iter()
                .filter(|e| e.enabled && e.event_types.contains(&event.kind))
                .map(|e| e.id.clone())
                .collect();
            for endpoint in wanted {
                state.add(&endpoint, &event.id, now);
            }
        }
    }

    fn webhooks_entered(&self) -> Result<std::cell::RefMut<'_, MemoryWebhooks>, StoreError> {
        if self.failing.get() {
            return Err(StoreError("d1 down".into()));
        }
        Ok(self.webhooks.borrow_mut())
    }
}

impl WebhookStore for MemoryStore {
    async fn create_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        self.webhooks_entered()?.endpoints.push(endpoint.clone());
        Ok(())
    }

    async fn endpoints(&self) -> Result<Vec<Endpoint>, StoreError> {
        Ok(self.webhooks_entered()?.endpoints.clone())
    }

    async fn endpoint(&self, id: &str) -> Result<Option<Endpoint>, StoreError> {
        Ok(self
            .webhooks_entered()?
            .endpoints
            .iter()
            .find(|e| e.id == id)
            .cloned())
    }

    async fn update_endpoint(&self, endpoint: &Endpoint) -> Result<bool, StoreError> {
        let mut state = self.webhooks_entered()?;
        match state.endpoints.iter_mut().find(|e| e.id == endpoint.id) {
            Some(stored) => {
                *stored = endpoint.clone();
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn delete_endpoint(&self, id: &str) -> Result<bool, StoreError> {
        let mut state = self.webhooks_entered()?;
        let before = state.endpoints.len();
        state.endpoints.retain(|e| e.id != id);
        state.deliveries.retain(|d| d.endpoint_id != id);
        Ok(state.endpoints.len() < before)
    }

    async fn add_delivery(
        &self,
        endpoint_id: &str,
        event: &WebhookEvent,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let mut state = self.webhooks_entered()?;
        state.events.push(event.clone());
        Ok(state.add(endpoint_id, &event.id, now))
    }

    async fn deliveries(
        &self,
        endpoint_id: &str,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let state = self.webhooks_entered()?;
        Ok(state
            .deliveries
            .iter()
            .rev()
            .filter(|d| d.endpoint_id == endpoint_id)
            .take(limit)
            .map(|d| {
                let event = state.event(&d.event_id);
                Delivery {
                    id: d.id,
                    webhook_id: event.id.clone(),
                    kind: event.kind.clone(),
                    order_id: event.order_id.clone(),
                    state: d.state,
                    next_retry_at: d.attempts.last().and_then(|a| a.next_retry_at),
                    attempts: d.attempts.clone(),
                    created_at: d.created_at,
                }
            })
            .collect())
    }

    async fn replay(&self, endpoint_id: &str, delivery: i64) -> Result<bool, StoreError> {
        let mut state = self.webhooks_entered()?;
        match state
            .deliveries
            .iter_mut()
            .find(|d| d.id == delivery && d.endpoint_id == endpoint_id)
        {
            Some(row) => {
                row.state = DeliveryState::Pending;
                row.replayed_after = row.attempts.len() as u32;
                row.queued_at = None;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn claim_unqueued(
        &self,
        now: DateTime<Utc>,
        retake_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(i64, u32)>, StoreError> {
        let mut state = self.webhooks_entered()?;
        Ok(state
            .deliveries
            .iter_mut()
            .filter(|d| d.state == DeliveryState::Pending)
            .filter(|d| {
                d.queued_at.is_none_or(|at| {
                    at < retake_before
                        && d.attempts
                            .last()
                            .and_then(|a| a.next_retry_at)
                            .is_none_or(|retry| retry < retake_before)
                })
            })
            .take(limit)
            .map(|d| {
                d.queued_at = Some(now);
                (d.id, d.attempts.len() as u32)
            })
            .collect())
    }

    async fn unqueue(&self, deliveries: &[i64]) -> Result<(), StoreError> {
        let mut state = self.webhooks_entered()?;
        for row in state
            .deliveries
            .iter_mut()
            .filter(|d| deliveries.contains(&d.id))
        {
            row.queued_at = None;
        }
        Ok(())
    }

    async fn delivery_job(&self, delivery: i64) -> Result<Option<DeliveryJob>, StoreError> {
        let state = self.webhooks_entered()?;
        let Some(row) = state.deliveries.iter().find(|d| d.id == delivery) else {
            return Ok(None);
        };
        let Some(endpoint) = state.endpoints.iter().find(|e| e.id == row.endpoint_id) else {
            return Ok(None);
        };
        let event = state.event(&row.event_id).clone();
        let earlier_pending = event.order_id.is_some()
            && state.deliveries.iter().any(|d| {
                let other = state.event(&d.event_id);
                d.endpoint_id == row.endpoint_id
                    && d.state == DeliveryState::Pending
                    && other.order_id == event.order_id
                    && (&other.sequence, d.id) < (&event.sequence, row.id)
            });
        Ok(Some(DeliveryJob {
            delivery,
            state: row.state,
            attempts: row.attempts.len() as u32,
            replayed_after: row.replayed_after,
            event,
            endpoint: endpoint.clone(),
            earlier_pending,
        }))
    }

    async fn record_attempt(&self, record: &AttemptRecord) -> Result<(), StoreError> {
        let mut state = self.webhooks_entered()?;
        if let Some(row) = state
            .deliveries
            .iter_mut()
            .find(|d| d.id == record.delivery)
        {
            row.state = record.state;
            row.attempts.extend(record.attempt.clone());
        }
        if let Some(endpoint) = state
            .endpoints
            .iter_mut()
            .find(|e| e.id == record.endpoint_id)
        {
            endpoint.failing_since = record.failing_since;
            if let Some(reason) = &record.disable {
                endpoint.enabled = false;
                endpoint.disabled_reason = Some(reason.clone());
            }
        }
        Ok(())
    }
}

/// The delivery queue in memory: what was sent, with its delay.
#[derive(Default)]
pub struct MemoryWebhookQueue {
    pub sent: RefCell<Vec<(DeliveryMessage, u32)>>,
    /// Every send fails while set.
    pub failing: std::cell::Cell<bool>,
}

impl MemoryWebhookQueue {
    /// Takes everything sent so far.
    pub fn take(&self) -> Vec<(DeliveryMessage, u32)> {
        std::mem::take(&mut self.sent.borrow_mut())
    }
}

impl WebhookQueue for MemoryWebhookQueue {
    async fn send(&self, messages: &[DeliveryMessage], delay_secs: u32) -> Result<(), StoreError> {
        if self.failing.get() {
            return Err(StoreError("queue down".into()));
        }
        self.sent
            .borrow_mut()
            .extend(messages.iter().map(|m| (m.clone(), delay_secs)));
        Ok(())
    }
}
