-- Typed events and a dispatcher that keeps order and gives up cleanly.
--
-- * Payloads are protobuf messages from proto/ (the topic is the message's
--   full name) instead of JSON.
-- * Every event gets a sequence number; a consumer never receives an event
--   while an earlier one of the same aggregate is undelivered for it.
-- * A delivery that used up its attempts is a dead letter (dead_at) until an
--   admin replays it.

-- Events queued with JSON payloads cannot be turned into protobuf here:
-- drain the outbox first (stop every replica, start this version only after
-- every delivery is done). This is a stop-the-world upgrade, not a rolling one.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM platform.outbox_deliveries WHERE delivered_at IS NULL) THEN
        RAISE EXCEPTION 'undelivered outbox events: let the previous version deliver them, then upgrade';
    END IF;
END $$;

ALTER TABLE platform.outbox_events ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX outbox_events_seq_idx ON platform.outbox_events (seq);

ALTER TABLE platform.outbox_events DROP COLUMN payload;
ALTER TABLE platform.outbox_events ADD COLUMN payload bytea NOT NULL DEFAULT '\x';
ALTER TABLE platform.outbox_events ALTER COLUMN payload DROP DEFAULT;

ALTER TABLE platform.outbox_deliveries
    ADD COLUMN aggregate_id text,
    ADD COLUMN seq bigint,
    ADD COLUMN dead_at timestamptz;
UPDATE platform.outbox_deliveries d SET aggregate_id = e.aggregate_id, seq = e.seq
FROM platform.outbox_events e WHERE e.id = d.event_id;
ALTER TABLE platform.outbox_deliveries
    ALTER COLUMN aggregate_id SET NOT NULL,
    ALTER COLUMN seq SET NOT NULL,
    ADD CONSTRAINT delivered_or_dead CHECK (delivered_at IS NULL OR dead_at IS NULL);

DROP INDEX platform.outbox_deliveries_pending_idx;
-- What a consumer claims next.
CREATE INDEX outbox_deliveries_due_idx ON platform.outbox_deliveries (consumer, seq)
    WHERE delivered_at IS NULL AND dead_at IS NULL;
-- "Is an earlier event of this aggregate still undelivered?"
CREATE INDEX outbox_deliveries_aggregate_idx ON platform.outbox_deliveries (consumer, aggregate_id, seq)
    WHERE delivered_at IS NULL;
CREATE INDEX outbox_deliveries_dead_idx ON platform.outbox_deliveries (dead_at) WHERE dead_at IS NOT NULL;

-- The returns service's subscription, by the new topic names.
UPDATE platform.outbox_consumers
SET topics = '{aftercare.orders.events.v1.OrderRecorded,aftercare.orders.events.v1.OrderDelivered,aftercare.orders.events.v1.OrderCanceled}'
WHERE name = 'returns.orders';
