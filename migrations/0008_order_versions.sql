-- A refresh merges Blue Dart's answer into KV's copy of the order, without reading D1 first,
-- and its save must then hold only if D1 still holds the order as that copy has it. `version`
-- moves with every write that changes an order's tracking or what intake sets. Versions start
-- at 1: a KV copy written before they existed reads as 0, so it never passes for D1's state.
ALTER TABLE orders ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- A save planned from an older version inserts a row here, which the constraint refuses: the
-- save's batch, one transaction, fails whole and writes nothing. The table never holds a row.
CREATE TABLE stale_saves (
  order_id TEXT NOT NULL,
  CONSTRAINT stale_save CHECK (false)
);
