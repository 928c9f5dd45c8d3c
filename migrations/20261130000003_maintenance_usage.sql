-- Usage thresholds: a task may also fall due when a meter of the product
-- (hours, cycles, km) has run a set amount since the occurrence began,
-- whichever comes first.
ALTER TABLE maintenance.plan_tasks
    ADD COLUMN usage_meter text CHECK (usage_meter ~ '^[a-z][a-z0-9_-]{0,31}$'),
    ADD COLUMN usage_every bigint CHECK (usage_every BETWEEN 1 AND 1000000000000),
    ADD CHECK ((usage_meter IS NULL) = (usage_every IS NULL));

-- The reading the current occurrence counts from (NULL: zero).
ALTER TABLE maintenance.schedules
    ADD COLUMN usage_base bigint;

-- Each product's meters, as last reported: a reading never goes down.
CREATE TABLE maintenance.meters (
    registration_id uuid        NOT NULL,
    meter           text        NOT NULL CHECK (meter ~ '^[a-z][a-z0-9_-]{0,31}$'),
    value           bigint      NOT NULL CHECK (value >= 0),
    reported_at     timestamptz NOT NULL,
    PRIMARY KEY (registration_id, meter)
);
