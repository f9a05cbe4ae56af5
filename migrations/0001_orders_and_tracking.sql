-- Orders as the store's order system sees them, plus what the tracking service keeps per order.
-- Times are ISO-8601 UTC text ("2026-01-24T03:42:00Z"): sortable, and D1 integers are 32-bit.
CREATE TABLE orders (
    id               TEXT PRIMARY KEY,
    customer_id      TEXT NOT NULL,
    order_status     TEXT NOT NULL DEFAULT 'Pending',
    shipping_status  TEXT NOT NULL DEFAULT 'Pending',
    awb_no           TEXT UNIQUE,
    courier          TEXT NOT NULL DEFAULT 'bluedart',
    shipping_error   TEXT,
    expected_delivery_date TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    last_synced_at   TEXT,
    last_sync_error  TEXT
);

-- "Shipments to sync": in-transit orders, least recently synced first.
CREATE INDEX orders_sync_due ON orders (shipping_status, last_synced_at, id)
    WHERE awb_no IS NOT NULL;

-- One row per carrier event. The identity (waybill, time, code, location) is unique, so saving
-- the same carrier answer twice adds nothing.
CREATE TABLE tracking_events (
    id              INTEGER PRIMARY KEY,
    order_id        TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    awb_no          TEXT NOT NULL,
    carrier_status  TEXT NOT NULL,
    status          TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    scan_code       TEXT NOT NULL DEFAULT '',
    city            TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL DEFAULT '',
    country         TEXT NOT NULL DEFAULT 'IN',
    event_at        TEXT NOT NULL,
    synced_at       TEXT NOT NULL,
    is_latest       INTEGER NOT NULL DEFAULT 0,
    UNIQUE (awb_no, event_at, scan_code, city)
);

-- "Latest tracking of an order" and "history of an order" without a table scan.
CREATE UNIQUE INDEX tracking_events_latest ON tracking_events (order_id) WHERE is_latest = 1;
CREATE INDEX tracking_events_by_order ON tracking_events (order_id, event_at);

-- The raw carrier answer of the last sync of each order: admin-only, for debugging, and cut to a
-- bounded size before it is stored.
CREATE TABLE carrier_responses (
    order_id     TEXT PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
    fetched_at   TEXT NOT NULL,
    http_status  INTEGER NOT NULL,
    body         TEXT NOT NULL,
    truncated    INTEGER NOT NULL DEFAULT 0
);
