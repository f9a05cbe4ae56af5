-- Places read as places, and a check schedule that backs off for shipments that stay quiet.
--
-- tracking_events: `city` now holds only a known city; the facility's name goes in `facility`.
-- Events were unique on (waybill, time, code, city) with `city` derived from the facility's name;
-- that derivation lives on as `place_key`, so a stored scan and the same scan read again keep
-- one identity. SQLite cannot change a table's UNIQUE constraint in place: the table is rebuilt.
CREATE TABLE tracking_events_new (
    id              INTEGER PRIMARY KEY,
    order_id        TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    awb_no          TEXT NOT NULL,
    carrier_status  TEXT NOT NULL,
    status          TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    scan_code       TEXT NOT NULL DEFAULT '',
    facility        TEXT NOT NULL DEFAULT '',
    city            TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL DEFAULT '',
    country         TEXT NOT NULL DEFAULT 'IN',
    place_key       TEXT NOT NULL DEFAULT '',
    event_at        TEXT NOT NULL,
    synced_at       TEXT NOT NULL,
    is_latest       INTEGER NOT NULL DEFAULT 0,
    UNIQUE (awb_no, event_at, scan_code, place_key)
);

INSERT INTO tracking_events_new (id, order_id, awb_no, carrier_status, status, description, scan_code,
                                 facility, city, state, country, place_key, event_at, synced_at, is_latest)
SELECT id, order_id, awb_no, carrier_status, status, description, scan_code,
       '', city, state, country, upper(city), event_at, synced_at, is_latest
FROM tracking_events;

DROP TABLE tracking_events;
ALTER TABLE tracking_events_new RENAME TO tracking_events;
CREATE UNIQUE INDEX tracking_events_latest ON tracking_events (order_id) WHERE is_latest = 1;
CREATE INDEX tracking_events_by_order ON tracking_events (order_id, event_at);

-- orders: when each shipment is next asked about (NULL: as soon as possible), when a sync last
-- brought a new scan, and when polling stopped after a long silence.
ALTER TABLE orders ADD COLUMN next_check_at TEXT;
ALTER TABLE orders ADD COLUMN last_progress_at TEXT;
ALTER TABLE orders ADD COLUMN polling_stopped_at TEXT;

-- Existing shipments keep their place in the queue: due from their last sync on.
UPDATE orders SET next_check_at = last_synced_at WHERE awb_no IS NOT NULL;
UPDATE orders SET last_progress_at = COALESCE(
    (SELECT MAX(synced_at) FROM tracking_events WHERE tracking_events.order_id = orders.id),
    updated_at)
WHERE awb_no IS NOT NULL;

-- "Shipments due": in transit, polling not stopped, the longest-waiting first.
DROP INDEX orders_sync_due;
CREATE INDEX orders_sync_due ON orders (shipping_status, next_check_at, id)
    WHERE awb_no IS NOT NULL AND polling_stopped_at IS NULL;
