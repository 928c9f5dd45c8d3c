-- Maintenance appointments: service centres with weekly opening hours in
-- their own zone, seats per slot, and visits booked for an occurrence.
CREATE TABLE maintenance.centres (
    centre_id           text        PRIMARY KEY CHECK (centre_id ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    name                text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    time_zone           text        NOT NULL CHECK (length(time_zone) BETWEEN 1 AND 64),
    slot_minutes        integer     NOT NULL CHECK (slot_minutes BETWEEN 15 AND 480),
    capacity            integer     NOT NULL CHECK (capacity BETWEEN 1 AND 1000),
    cancel_cutoff_hours integer     NOT NULL CHECK (cancel_cutoff_hours BETWEEN 0 AND 168),
    updated_at          timestamptz NOT NULL
);

CREATE TABLE maintenance.centre_opening (
    centre_id text    NOT NULL REFERENCES maintenance.centres (centre_id) ON DELETE CASCADE,
    weekday   integer NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    open      time    NOT NULL,
    close     time    NOT NULL CHECK (close > open),
    PRIMARY KEY (centre_id, weekday, open)
);

-- A slot's seats, written by its first booking: a booking takes a seat
-- by one conditional update of the slot's row (booked < capacity), whose
-- lock orders concurrent bookings, so 20 of a 5-seat slot take exactly 5.
-- An admin may cut the seats below what is booked: those bookings stand,
-- and no new one is taken until cancellations bring it under.
CREATE TABLE maintenance.slots (
    centre_id text        NOT NULL REFERENCES maintenance.centres (centre_id),
    starts_at timestamptz NOT NULL,
    capacity  integer     NOT NULL CHECK (capacity >= 1),
    booked    integer     NOT NULL CHECK (booked >= 0),
    PRIMARY KEY (centre_id, starts_at)
);

CREATE TABLE maintenance.appointments (
    appointment_id uuid        PRIMARY KEY,
    centre_id      text        NOT NULL REFERENCES maintenance.centres (centre_id),
    starts_at      timestamptz NOT NULL,
    schedule_id    uuid        NOT NULL REFERENCES maintenance.schedules (schedule_id),
    occurrence     integer     NOT NULL,
    customer_id    text        NOT NULL,
    status         text        NOT NULL CHECK (status IN ('booked', 'canceled', 'no_show', 'completed')),
    late           boolean     NOT NULL,
    reschedules    integer     NOT NULL CHECK (reschedules >= 0),
    -- When its reminder goes out (NULL: sent, or none will).
    remind_at      timestamptz,
    -- The last reminder sent (its stable id) and the start it was for: a
    -- visit moved afterwards is reminded again.
    reminder_id    uuid        UNIQUE,
    reminded_for   timestamptz,
    booked_at      timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    FOREIGN KEY (centre_id, starts_at) REFERENCES maintenance.slots (centre_id, starts_at)
);
-- One booked visit per occurrence.
CREATE UNIQUE INDEX appointments_one_booked_idx ON maintenance.appointments (schedule_id, occurrence)
    WHERE status = 'booked';
CREATE INDEX appointments_customer_idx ON maintenance.appointments (customer_id, starts_at, appointment_id);
CREATE INDEX appointments_centre_idx ON maintenance.appointments (centre_id, starts_at, appointment_id);
-- The reminder job's scan: pending reminders only.
CREATE INDEX appointments_remind_idx ON maintenance.appointments (remind_at) WHERE remind_at IS NOT NULL;
