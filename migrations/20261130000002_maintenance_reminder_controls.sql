-- What customers control about reminders: snoozing or dismissing an
-- occurrence's, skipping an occurrence, muting a product or a task, and a
-- cap on reminders a day across all their products.
ALTER TABLE maintenance.schedules
    ADD COLUMN snoozed_until timestamptz,
    ADD COLUMN snoozes       integer NOT NULL DEFAULT 0 CHECK (snoozes BETWEEN 0 AND 3),
    ADD COLUMN dismissed     boolean NOT NULL DEFAULT false;

ALTER TABLE maintenance.preferences
    -- Reminders a day at most, across products (0: no cap).
    ADD COLUMN daily_cap      integer NOT NULL DEFAULT 0 CHECK (daily_cap BETWEEN 0 AND 20),
    ADD COLUMN muted_products uuid[]  NOT NULL DEFAULT '{}' CHECK (cardinality(muted_products) <= 100),
    ADD COLUMN muted_tasks    text[]  NOT NULL DEFAULT '{}' CHECK (cardinality(muted_tasks) <= 100);

-- A skipped occurrence is recorded like a done one, on its due date.
ALTER TABLE maintenance.services
    ADD COLUMN skipped boolean NOT NULL DEFAULT false;

-- Reminders sent to a customer on one of their local days, for the cap:
-- the row's lock orders servers sending to one customer at once, so the
-- cap holds across any number of them.
CREATE TABLE maintenance.daily_sends (
    customer_id text    NOT NULL,
    day         date    NOT NULL,
    sent        integer NOT NULL CHECK (sent >= 0),
    PRIMARY KEY (customer_id, day)
);
