-- no-transaction
-- Reading a return reads its latest refund by return_id; the only index on
-- it was partial (live refunds), so every read scanned all refunds. Built
-- concurrently: refunds keep being written while it builds.
CREATE INDEX CONCURRENTLY IF NOT EXISTS refunds_return_idx
    ON returns.refunds (return_id, created_at DESC, refund_id DESC);
