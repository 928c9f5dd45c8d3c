-- Webhooks: endpoints an admin registers, each posted the event stream's
-- events of its topics, in stream order, from its own cursor (the position
-- of the last event delivered or given up on). The delivery job claims a
-- due webhook with SKIP LOCKED, so replicas share the webhooks and one
-- webhook's events are posted by one server at a time, in order.
CREATE SCHEMA events;

CREATE TABLE events.webhooks (
    webhook_id uuid PRIMARY KEY,
    url text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    -- The HMAC-SHA256 key of the signatures (shown once, at registration).
    secret text NOT NULL CHECK (length(secret) >= 32),
    -- Empty: every topic.
    topics text[] NOT NULL,
    after_position bigint NOT NULL CHECK (after_position >= 0),
    failed_attempts int NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    last_error text,
    next_attempt_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    deleted_at timestamptz
);

-- The job's scan: live webhooks, the longest-waiting first.
CREATE INDEX webhooks_due_idx ON events.webhooks (next_attempt_at) WHERE deleted_at IS NULL;

-- Events a webhook gave up on after its attempts; replayed on request.
CREATE TABLE events.webhook_dead_letters (
    webhook_id uuid NOT NULL REFERENCES events.webhooks,
    position bigint NOT NULL,
    event_id uuid NOT NULL,
    topic text NOT NULL,
    attempts int NOT NULL CHECK (attempts > 0),
    last_error text NOT NULL,
    dead_at timestamptz NOT NULL,
    replay_requested_at timestamptz,
    PRIMARY KEY (webhook_id, position)
);
