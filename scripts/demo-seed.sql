-- Demo orders for `npm run dev`, matching the simulator's demo shipments (bluedart-sim --demo).
-- Idempotent: rows that exist already are left as they are.
INSERT INTO orders (id, customer_id, order_status, shipping_status, awb_no, created_at, updated_at)
VALUES
    ('ORD-2291', 'cust-1001', 'Shipped', 'In-Transit', '81234567890', '2026-01-21T08:01:12Z', '2026-01-21T11:45:00Z'),
    ('ORD-2292', 'cust-1001', 'Shipped', 'In-Transit', '81234567891', '2026-01-21T08:05:40Z', '2026-01-21T11:45:00Z'),
    ('ORD-2293', 'cust-1002', 'Shipped', 'In-Transit', '81234567892', '2026-01-21T09:12:03Z', '2026-01-21T11:45:00Z'),
    ('ORD-2294', 'cust-1002', 'Shipped', 'In-Transit', '81234567893', '2026-01-21T09:30:00Z', '2026-01-21T11:45:00Z'),
    ('ORD-2295', 'cust-1003', 'Shipped', 'In-Transit', '81234567894', '2026-01-21T10:00:00Z', '2026-01-21T11:45:00Z'),
    ('ORD-2296', 'cust-1003', 'Shipped', 'In-Transit', '81234567895', '2026-01-21T10:20:00Z', '2026-01-21T11:45:00Z'),
    ('ORD-2298', 'cust-1003', 'Shipped', 'In-Transit', '81234567896', '2026-01-21T10:40:00Z', '2026-01-21T11:45:00Z'),
    ('ORD-2299', 'cust-1003', 'Shipped', 'In-Transit', '81234567897', '2026-01-21T10:50:00Z', '2026-01-21T11:45:00Z'),
    ('ORD-2297', 'cust-1001', 'Processing', 'Pending', NULL, '2026-01-23T16:44:00Z', '2026-01-23T16:44:00Z')
ON CONFLICT (id) DO NOTHING;

-- Every shipped order's history starts with the "booked" entry made when its waybill was attached.
INSERT OR IGNORE INTO tracking_events
    (order_id, awb_no, carrier_status, status, description, scan_code, city, state, country, event_at, synced_at, is_latest)
SELECT id, awb_no, 'BOOKED', 'info_received', 'Shipment booked with Blue Dart', 'BOOKED', '', '', 'IN',
       '2026-01-21T11:45:00Z', '2026-01-21T11:45:00Z', 1
FROM orders
WHERE awb_no IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM tracking_events e WHERE e.order_id = orders.id);

-- Two demo webhook endpoints (the contract's examples), disabled so that nothing is sent: one to
-- look at, with a delivery to replay, and one to delete. Enable one with
-- PATCH /api/admin/webhooks/ep_demo {"enabled": true, "url": "http://127.0.0.1:<port>/…"}; their
-- secrets are only for the demo.
INSERT OR IGNORE INTO webhook_endpoints
    (id, url, description, event_types, secret, enabled, disabled_reason, created_at, updated_at)
VALUES
    ('ep_demo', 'http://127.0.0.1:9/hooks/shipments', 'Demo endpoint',
     '["shipment.status_changed"]', 'whsec_ZGVtby1vbmx5LWRlbW8tb25seS1kZW1vLW9ubHktZGVtbw==', 0, NULL,
     '2026-01-21T11:45:00Z', '2026-01-21T11:45:00Z'),
    ('ep_demo_delete', 'http://127.0.0.1:9/hooks/old', 'Demo endpoint to delete',
     '["shipment.delivered"]', 'whsec_ZGVtby1vbmx5LWRlbW8tb25seS1kZW1vLW9ubHktZGVtbw==', 0, NULL,
     '2026-01-21T11:45:00Z', '2026-01-21T11:45:00Z');
INSERT OR IGNORE INTO webhook_events (id, type, order_id, sequence, payload, created_at)
VALUES ('msg_demo00000000000000000000000000000', 'ping', NULL, '2026-01-21T11:45:00Z',
        '{"type":"ping","timestamp":"2026-01-21T11:45:00Z","data":{"webhookId":"msg_demo00000000000000000000000000000"}}',
        '2026-01-21T11:45:00Z');
INSERT OR IGNORE INTO webhook_deliveries (id, endpoint_id, event_id, order_id, sequence, state, created_at)
VALUES (42, 'ep_demo', 'msg_demo00000000000000000000000000000', NULL, '2026-01-21T11:45:00Z',
        'skipped', '2026-01-21T11:45:00Z');
