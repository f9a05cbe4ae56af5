//! The webhook outbox: the messages of a status change, recorded in the very D1 batch that
//! saves the change (`webhook_events`), each with a delivery to every endpoint that asked for
//! its type (`webhook_deliveries`), so that a change and its messages land together or not at
//! all.

use chrono::{DateTime, Utc};
use serde_json::json;
use tracking_core::ports::StoreError;
use tracking_core::webhooks::WebhookEvent;
use worker::D1PreparedStatement;

use super::{D1Store, text, time};

/// A delivery of each new message (`?1`, a JSON array) to every enabled endpoint that asked for
/// its type, in the messages' order; messages recorded before get none. Runs before
/// [`RECORD_EVENTS`], in the same transaction.
const ADD_DELIVERIES: &str = "INSERT OR IGNORE INTO webhook_deliveries \
    (endpoint_id, event_id, order_id, sequence, created_at) \
    SELECT ep.id, json_extract(m.value, '$.id'), json_extract(m.value, '$.o'), \
    json_extract(m.value, '$.s'), ?2 \
    FROM json_each(?1) m JOIN webhook_endpoints ep ON ep.enabled = 1 \
    AND EXISTS (SELECT 1 FROM json_each(ep.event_types) t WHERE t.value = json_extract(m.value, '$.t')) \
    WHERE NOT EXISTS (SELECT 1 FROM webhook_events w WHERE w.id = json_extract(m.value, '$.id')) \
    ORDER BY m.key, ep.id";

const RECORD_EVENTS: &str = "INSERT OR IGNORE INTO webhook_events \
    (id, type, order_id, sequence, payload, created_at) \
    SELECT json_extract(value, '$.id'), json_extract(value, '$.t'), json_extract(value, '$.o'), \
    json_extract(value, '$.s'), json_extract(value, '$.p'), ?2 FROM json_each(?1)";

impl D1Store {
    /// The statements that record the webhook messages of a save, for the save's own batch:
    /// the messages whose ids are new, each with a delivery to every enabled endpoint that
    /// asked for its type. None for no messages.
    pub(super) fn message_statements(
        &self,
        messages: &[WebhookEvent],
        now: DateTime<Utc>,
    ) -> Result<Vec<D1PreparedStatement>, StoreError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<_> = messages
            .iter()
            .map(|e| {
                json!({"id": e.id, "t": e.kind, "o": e.order_id, "s": e.sequence, "p": e.payload})
            })
            .collect();
        let rows = text(&serde_json::Value::Array(rows).to_string());
        Ok(vec![
            self.statement(ADD_DELIVERIES, &[rows.clone(), time(now)])?,
            self.statement(RECORD_EVENTS, &[rows, time(now)])?,
        ])
    }

    /// Runs a save's batch, `messages` recorded in it; notes that deliveries wait when there
    /// were some.
    pub(super) async fn batch_with_messages(
        &self,
        mut statements: Vec<D1PreparedStatement>,
        messages: &[WebhookEvent],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        statements.extend(self.message_statements(messages, now)?);
        if statements.is_empty() {
            return Ok(());
        }
        self.batch(statements).await?;
        if !messages.is_empty() {
            self.note_waiting();
        }
        Ok(())
    }
}
