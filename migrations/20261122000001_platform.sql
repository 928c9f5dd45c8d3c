-- Shared runtime tables: idempotency keys and the transactional outbox.
CREATE SCHEMA IF NOT EXISTS platform;

-- One row per (scope, key): the effect a request_id (or business key) already
-- had. Written in the same transaction as the effect, so a replay sees either
-- nothing or the committed response.
CREATE TABLE platform.idempotency_keys (
    scope        text        NOT NULL CHECK (length(scope) BETWEEN 1 AND 100),
    key          text        NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    request_hash bytea       NOT NULL CHECK (length(request_hash) = 32),
    response     bytea,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);

-- Every event any service emits, written in the transaction of the change it
-- describes.
CREATE TABLE platform.outbox_events (
    id           uuid        PRIMARY KEY,
    topic        text        NOT NULL CHECK (length(topic) BETWEEN 1 AND 200),
    aggregate_id text        NOT NULL,
    payload      jsonb       NOT NULL,
    occurred_at  timestamptz NOT NULL
);
CREATE INDEX outbox_events_topic_idx ON platform.outbox_events (topic, occurred_at);

-- A consumer gets every event of its topics (all topics when `topics` is
-- empty) emitted after it was registered.
CREATE TABLE platform.outbox_consumers (
    name          text        PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 100),
    topics        text[]      NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now()
);

-- One delivery row per (consumer, event). Claimed with FOR UPDATE SKIP LOCKED,
-- so any number of dispatchers share the work, and a transaction that commits
-- late still gets its events delivered (no "id > cursor" gap).
CREATE TABLE platform.outbox_deliveries (
    consumer        text        NOT NULL REFERENCES platform.outbox_consumers (name) ON DELETE CASCADE,
    event_id        uuid        NOT NULL REFERENCES platform.outbox_events (id) ON DELETE CASCADE,
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL,
    delivered_at    timestamptz,
    last_error      text,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX outbox_deliveries_pending_idx
    ON platform.outbox_deliveries (consumer, next_attempt_at)
    WHERE delivered_at IS NULL;
