-- Maintenance: service plans per category or SKU (versioned), a schedule
-- per owned product and task, reminders sent once per occurrence and kind,
-- and each customer's contact preferences.
CREATE SCHEMA maintenance;

-- Plans per category ('' = every category) and SKU override ('' = the
-- category's own), one row per version; a schedule keeps the version it
-- was made from.
CREATE TABLE maintenance.plans (
    category   text        NOT NULL CHECK (length(category) <= 100),
    sku        text        NOT NULL CHECK (length(sku) <= 100),
    version    integer     NOT NULL CHECK (version >= 1),
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (category, sku, version)
);

CREATE TABLE maintenance.plan_tasks (
    category          text    NOT NULL,
    sku               text    NOT NULL,
    version           integer NOT NULL,
    task_id           text    NOT NULL CHECK (task_id ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    name              text    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    interval_days     integer CHECK (interval_days BETWEEN 1 AND 3660),
    interval_months   integer CHECK (interval_months BETWEEN 1 AND 120),
    anchor            text    NOT NULL CHECK (anchor IN ('fixed', 'completion')),
    lead_days         integer NOT NULL CHECK (lead_days BETWEEN 0 AND 90),
    overdue_days      integer NOT NULL CHECK (overdue_days BETWEEN 0 AND 90),
    max_reminders     integer NOT NULL CHECK (max_reminders BETWEEN 1 AND 3),
    PRIMARY KEY (category, sku, version, task_id),
    FOREIGN KEY (category, sku, version) REFERENCES maintenance.plans (category, sku, version),
    CHECK ((interval_days IS NULL) <> (interval_months IS NULL))
);

-- A customer's contact preferences; none stored means the defaults (the
-- default zone, quiet 21:00-09:00, any other hour, not opted out).
CREATE TABLE maintenance.preferences (
    customer_id     text        PRIMARY KEY CHECK (length(customer_id) BETWEEN 1 AND 128),
    -- "" for the product's own zone.
    time_zone       text        NOT NULL CHECK (length(time_zone) <= 64),
    quiet_start     time        NOT NULL,
    quiet_end       time        NOT NULL,
    preferred_start time,
    preferred_end   time,
    channels        text[]      NOT NULL CHECK (channels <@ '{push,email,sms}'),
    opted_out       boolean     NOT NULL,
    updated_at      timestamptz NOT NULL,
    CHECK ((preferred_start IS NULL) = (preferred_end IS NULL))
);

-- Consent as given: when, from where, by whom, what.
CREATE TABLE maintenance.consents (
    id          bigserial   PRIMARY KEY,
    customer_id text        NOT NULL,
    at          timestamptz NOT NULL,
    source      text        NOT NULL CHECK (length(source) BETWEEN 1 AND 64),
    by_role     text        NOT NULL,
    by_subject  text        NOT NULL,
    opted_out   boolean     NOT NULL
);
CREATE INDEX consents_customer_idx ON maintenance.consents (customer_id, id);

-- Registered products as warranty's events told them: what plans apply
-- to, now and when a plan is written later. A replaced unit is inactive
-- (its replacement carries its schedules on).
CREATE TABLE maintenance.products (
    registration_id uuid        PRIMARY KEY,
    customer_id     text        NOT NULL,
    sku             text        NOT NULL,
    category        text        NOT NULL,
    product_name    text        NOT NULL,
    starts_at       timestamptz NOT NULL,
    time_zone       text        NOT NULL,
    replaces        uuid,
    active          boolean     NOT NULL,
    registered_at   timestamptz NOT NULL
);
CREATE INDEX products_category_idx ON maintenance.products (category, sku) WHERE active;

-- One schedule per registered product and task: the occurrence it is on
-- (slot) and its due date in the customer's zone, and when its next
-- reminder goes out (NULL: none pending).
CREATE TABLE maintenance.schedules (
    schedule_id      uuid        PRIMARY KEY,
    registration_id  uuid        NOT NULL,
    customer_id      text        NOT NULL,
    sku              text        NOT NULL,
    product_name     text        NOT NULL,
    plan_category    text        NOT NULL,
    plan_sku         text        NOT NULL,
    plan_version     integer     NOT NULL,
    task_id          text        NOT NULL,
    -- The product's zone (its registration's): the customer's own, from
    -- their preferences, wins when set.
    time_zone        text        NOT NULL,
    start_date       date        NOT NULL,
    slot             integer     NOT NULL CHECK (slot >= 1),
    due_date         date        NOT NULL,
    last_done_on     date,
    status           text        NOT NULL CHECK (status IN ('active', 'ended')),
    next_reminder_at timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    UNIQUE (registration_id, task_id),
    FOREIGN KEY (plan_category, plan_sku, plan_version, task_id)
        REFERENCES maintenance.plan_tasks (category, sku, version, task_id)
);
CREATE INDEX schedules_customer_idx ON maintenance.schedules (customer_id, due_date, schedule_id);
-- The reminder job's scan: pending reminders only, so schedules with
-- nothing due cost it nothing.
CREATE INDEX schedules_reminder_idx ON maintenance.schedules (next_reminder_at)
    WHERE next_reminder_at IS NOT NULL;

-- Every reminder sent: once per schedule, occurrence and kind, whatever
-- number of servers run the job.
CREATE TABLE maintenance.reminders (
    reminder_id uuid        PRIMARY KEY,
    schedule_id uuid        NOT NULL REFERENCES maintenance.schedules (schedule_id),
    slot        integer     NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('lead', 'due', 'overdue')),
    due_date    date        NOT NULL,
    sent_at     timestamptz NOT NULL,
    UNIQUE (schedule_id, slot, kind)
);

-- Completed occurrences, as recorded.
CREATE TABLE maintenance.services (
    id          bigserial   PRIMARY KEY,
    schedule_id uuid        NOT NULL REFERENCES maintenance.schedules (schedule_id),
    slot        integer     NOT NULL,
    done_on     date        NOT NULL,
    by_role     text        NOT NULL,
    by_subject  text        NOT NULL,
    notes       text        NOT NULL CHECK (length(notes) <= 2000),
    recorded_at timestamptz NOT NULL,
    UNIQUE (schedule_id, slot)
);

-- Registered products from warranty's events (never its tables): those
-- registered before this service existed are delivered too (events are
-- kept), so every product is known when its plan is written.
INSERT INTO platform.outbox_consumers (name, topics)
VALUES ('maintenance.products', '{aftercare.warranty.events.v1.ProductRegistered}')
ON CONFLICT (name) DO NOTHING;
INSERT INTO platform.outbox_deliveries (consumer, event_id, aggregate_id, seq, next_attempt_at)
SELECT 'maintenance.products', e.id, e.aggregate_id, e.seq, now()
FROM platform.outbox_events e
WHERE e.topic = 'aftercare.warranty.events.v1.ProductRegistered'
ON CONFLICT DO NOTHING;
