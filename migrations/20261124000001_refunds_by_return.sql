-- Reading a return reads its latest refund by return_id; the only index on
-- it was partial (live refunds), so every read scanned all refunds. Not
-- built CONCURRENTLY: migrations run under sqlx's advisory lock, which a
-- second instance waits on inside a transaction, and a concurrent build
-- waits for that transaction: two instances starting together would
-- deadlock. Refunds are small beside returns; the build is short.
CREATE INDEX IF NOT EXISTS refunds_return_idx
    ON returns.refunds (return_id, created_at DESC, refund_id DESC);
