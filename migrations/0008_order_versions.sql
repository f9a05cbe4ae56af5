-- A refresh merges Blue Dart's answer into KV's copy of the order, without reading D1 first,
-- and its save must then hold only if D1 still holds the order as that copy has it. `version`
-- moves with every write that changes an order's tracking or what intake sets.
ALTER TABLE orders ADD COLUMN version INTEGER NOT NULL DEFAULT 0;

-- A save planned from an older version inserts a row here, which the constraint refuses: the
-- save's batch, one transaction, fails whole and writes nothing. The table never holds a row.
CREATE TABLE stale_saves (
  order_id TEXT NOT NULL,
  CONSTRAINT stale_save CHECK (false)
);
