-- Signed webhooks (Standard Webhooks): the endpoints stores register, the messages status
-- changes made (an outbox: ids derived from the change, so a message is recorded once), each
-- message's delivery to each endpoint that asked for it, and every attempt. Payloads carry no
-- consignee data. `secret` signs the messages (it must be readable to sign); it is never
-- returned after creation or rotation.
CREATE TABLE webhook_endpoints (
  id TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  description TEXT,
  event_types TEXT NOT NULL,          -- JSON array of event types
  secret TEXT NOT NULL,
  previous_secret TEXT,
  previous_secret_expires_at TEXT,
  enabled INTEGER NOT NULL DEFAULT 1,
  disabled_reason TEXT,
  failing_since TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE webhook_events (
  id TEXT PRIMARY KEY,                -- webhook-id: msg_…
  type TEXT NOT NULL,
  order_id TEXT,
  sequence TEXT NOT NULL,             -- its place among its order's messages (sorts as text)
  payload TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  endpoint_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  order_id TEXT,
  sequence TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  replayed_after INTEGER NOT NULL DEFAULT 0,  -- attempts before the last replay
  next_retry_at TEXT,
  queued_at TEXT,                     -- sent to the delivery queue; NULL: waiting to be sent
  created_at TEXT NOT NULL,
  UNIQUE (endpoint_id, event_id)
);
-- Deliveries waiting for the queue; an endpoint's pending deliveries of one order, in order.
CREATE INDEX webhook_deliveries_unqueued ON webhook_deliveries (id) WHERE queued_at IS NULL AND state = 'pending';
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (endpoint_id, order_id, sequence) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

CREATE TABLE webhook_attempts (
  delivery_id INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  at TEXT NOT NULL,
  http_status INTEGER,
  latency_ms INTEGER NOT NULL,
  error TEXT,
  next_retry_at TEXT,
  PRIMARY KEY (delivery_id, attempt)
);
