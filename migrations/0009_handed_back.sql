-- Messages a consumer sent back to the queue untried (its budget, or Blue Dart's open circuit,
-- stopped it before their call): they come again and cost queue operations again, so a run
-- counts them beside its retries.
ALTER TABLE sync_runs ADD COLUMN handed_back INTEGER NOT NULL DEFAULT 0;
