-- The hourly sync on Cloudflare Queues.
--
-- orders.enqueued_at: when the cron last sent the shipment to the sync queue; a second firing
-- leaves it to the queue until it is synced (the mark is cleared) or the mark is three hours old.
ALTER TABLE orders ADD COLUMN enqueued_at TEXT;

-- sync_runs: what the queue did with a run's shipments, and the most any one invocation spent.
ALTER TABLE sync_runs ADD COLUMN enqueued INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN retried INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN dead_lettered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN invocations INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN busiest_subrequests INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN busiest_d1_queries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN busiest_kv_operations INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN busiest_queue_sends INTEGER NOT NULL DEFAULT 0;

-- The queue's backlog (admin sync runs): only enqueued shipments are indexed.
CREATE INDEX orders_enqueued ON orders (enqueued_at) WHERE enqueued_at IS NOT NULL;

-- KV writes are budgeted (the free plan allows 1,000 a day): the sync rewrites the snapshot of
-- an order only while KV holds one (until kv_cached_until), and at most KV_SYNC_WRITES_PER_DAY.
ALTER TABLE orders ADD COLUMN kv_cached_until TEXT;
CREATE TABLE kv_write_budget (
    day     TEXT PRIMARY KEY,   -- UTC date
    writes  INTEGER NOT NULL
);
