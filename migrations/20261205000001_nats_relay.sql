-- The NATS JetStream relay's place in the event stream: the position of
-- the last event JetStream acknowledged. One row per relay, claimed
-- FOR UPDATE SKIP LOCKED so one server relays at a time; it starts at the
-- first event kept.
CREATE TABLE events.relay_cursors (
    name text PRIMARY KEY,
    after_position bigint NOT NULL CHECK (after_position >= 0)
);
INSERT INTO events.relay_cursors (name, after_position) VALUES ('nats', 0);
