-- The event stream's order: every event gets a position once it is
-- committed, from one positioner at a time, in batches sorted by `seq`.
-- Positions are dense and only ever handed out in increasing order, so a
-- subscriber's cursor (the last position it processed) never skips an
-- event that commits late: a late event gets a position after the
-- cursor. Each aggregate's events keep their commit order: their writers
-- hold the aggregate's row lock, so `seq` follows commit order, and an
-- event is never visible to the positioner before one committed earlier.
ALTER TABLE platform.outbox_events ADD COLUMN position bigint;
UPDATE platform.outbox_events e SET position = n.position
FROM (SELECT id, row_number() OVER (ORDER BY seq) AS position FROM platform.outbox_events) n
WHERE e.id = n.id;
CREATE UNIQUE INDEX outbox_events_position_idx ON platform.outbox_events (position);
-- The positioner's scan: what is still without a position.
CREATE INDEX outbox_events_unpositioned_idx ON platform.outbox_events (seq) WHERE position IS NULL;
