-- One row per sync run (the hourly cron, an admin's sync, a background refresh): what it took
-- on, what succeeded, what failed and why, and what it spent against the platform's limits.
CREATE TABLE sync_runs (
    id             INTEGER PRIMARY KEY,
    triggered_by   TEXT NOT NULL,             -- cron | manual | background
    status         TEXT NOT NULL,             -- running | completed | stopped | failed
    started_at     TEXT NOT NULL,
    finished_at    TEXT,
    considered     INTEGER NOT NULL DEFAULT 0,
    succeeded      INTEGER NOT NULL DEFAULT 0,
    failed         INTEGER NOT NULL DEFAULT 0,
    batches        INTEGER NOT NULL DEFAULT 0,
    carrier_calls  INTEGER NOT NULL DEFAULT 0,
    d1_queries     INTEGER NOT NULL DEFAULT 0,
    kv_operations  INTEGER NOT NULL DEFAULT 0,
    stop_reason    TEXT,
    failures       TEXT NOT NULL DEFAULT '[]' -- JSON: [{"batch", "orderIds", "reason"}]
);
