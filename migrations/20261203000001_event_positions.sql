-- The event stream's order: every event gets a position once it is
-- committed, from one positioner at a time, in batches sorted by `seq`.
-- Positions are dense and only ever handed out in increasing order, so a
-- subscriber's cursor (the last position it processed) never skips an
-- event that commits late: a late event gets a position after the
-- cursor. Each aggregate's events keep their commit order: their writers
-- hold the aggregate's row lock, so `seq` follows commit order, and an
-- event is never visible to the positioner before one committed earlier.
--
-- The next position is the highest given plus one: the newest events must
-- never be deleted (a retention job may remove the oldest only).
--
-- Events written before are positioned like new ones, when a reader first
-- asks: no backfill rewrites the table here. The indexes are built under
-- the table's lock (migrations run in a transaction), which holds event
-- writes for the build: on a large outbox, apply it at a quiet time.
ALTER TABLE platform.outbox_events ADD COLUMN position bigint;
-- Partial: an event written pays no entry here until it is positioned.
CREATE UNIQUE INDEX outbox_events_position_idx ON platform.outbox_events (position)
    WHERE position IS NOT NULL;
-- A subscriber to a few topics reads them without scanning the others.
-- It replaces the index by topic and time, which no statement reads: one
-- entry less for every event written. (A future migration that backfills
-- a consumer from the outbox by topic scans the table instead.)
CREATE INDEX outbox_events_topic_position_idx ON platform.outbox_events (topic, position)
    WHERE position IS NOT NULL;
DROP INDEX platform.outbox_events_topic_idx;
-- The positioner's scan: what is still without a position (the one entry
-- an event's write pays for the stream).
CREATE INDEX outbox_events_unpositioned_idx ON platform.outbox_events (seq) WHERE position IS NULL;
