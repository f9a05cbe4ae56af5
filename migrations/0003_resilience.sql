-- Blue Dart's health as the circuit breaker sees it, shared by every invocation.
CREATE TABLE carrier_health (
    carrier          TEXT PRIMARY KEY,
    failures         INTEGER NOT NULL DEFAULT 0,   -- consecutive failed calls
    open_until       TEXT,                         -- while in the future, live calls are skipped
    last_error       TEXT,
    last_failure_at  TEXT
);

-- The last customer-requested refresh of each order: one Blue Dart call per order per interval,
-- however many requests arrive together. Kept apart from orders so claims never touch them.
CREATE TABLE refresh_claims (
    order_id    TEXT PRIMARY KEY,
    claimed_at  TEXT NOT NULL
);

-- Orders whose KV snapshot could not be written; the next sync rewrites them.
CREATE TABLE kv_repairs (
    order_id  TEXT PRIMARY KEY,
    since     TEXT NOT NULL
);
