-- A webhook's run holds a lease rather than a transaction: the job claims
-- due webhooks in one short statement (owner and expiry), posts outside
-- any transaction, and records each delivered event only while it still
-- holds the lease. So a slow receiver holds no database resources, an
-- admin's delete or replay never waits on it, and a server that lost its
-- lease (a dead connection, a pause) stops instead of posting beside the
-- next one.
ALTER TABLE events.webhooks ADD COLUMN lease_owner uuid;
ALTER TABLE events.webhooks ADD COLUMN leased_until timestamptz;
