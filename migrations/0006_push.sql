-- Blue Dart's pushed status updates: running counts (one row), and the pushed waybills that no
-- order has, for admins. Only the waybill is kept of an unmatched push: nothing personal.
CREATE TABLE push_counts (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  pushes INTEGER NOT NULL DEFAULT 0,
  items INTEGER NOT NULL DEFAULT 0,
  accepted INTEGER NOT NULL DEFAULT 0,
  rejected INTEGER NOT NULL DEFAULT 0,
  unmatched INTEGER NOT NULL DEFAULT 0,
  status_changes_push INTEGER NOT NULL DEFAULT 0,
  status_changes_poll INTEGER NOT NULL DEFAULT 0
);
INSERT INTO push_counts (id) VALUES (1);

CREATE TABLE push_unmatched (
  awb_no TEXT PRIMARY KEY,
  first_seen_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  times INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX push_unmatched_last_seen ON push_unmatched (last_seen_at DESC);

-- Status changes the queued syncs (the poll) made, counted with each consumer invocation's
-- tally in the statement that already records it: no extra D1 query on the sync path.
ALTER TABLE sync_runs ADD COLUMN status_changes INTEGER NOT NULL DEFAULT 0;
