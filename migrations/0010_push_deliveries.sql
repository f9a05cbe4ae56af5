-- The push queue's messages whose counts were recorded, by the queue's message id: queues
-- deliver at least once, and a redelivered message must not count again. An id is forgotten
-- after 15 days, past the longest a queue keeps a message.
CREATE TABLE push_deliveries (
  delivery_id TEXT PRIMARY KEY,
  recorded_at TEXT NOT NULL
);
CREATE INDEX push_deliveries_recorded_at ON push_deliveries (recorded_at);
