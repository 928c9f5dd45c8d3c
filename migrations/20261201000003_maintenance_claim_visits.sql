-- Warranty claims a visit can be booked for, from warranty's events (never
-- its tables): open until rejected, canceled, resolved or closed.
CREATE TABLE maintenance.claims (
    claim_id        text        PRIMARY KEY CHECK (length(claim_id) <= 128),
    registration_id uuid        NOT NULL,
    customer_id     text        NOT NULL,
    open            boolean     NOT NULL,
    updated_at      timestamptz NOT NULL
);

-- A visit is for a schedule's occurrence or for a claim; one booked visit
-- per claim.
ALTER TABLE maintenance.appointments
    ALTER COLUMN schedule_id DROP NOT NULL,
    ALTER COLUMN occurrence DROP NOT NULL,
    ADD COLUMN claim_id text REFERENCES maintenance.claims (claim_id),
    ADD CONSTRAINT appointments_for_check CHECK (
        (schedule_id IS NOT NULL AND occurrence IS NOT NULL AND claim_id IS NULL)
        OR (schedule_id IS NULL AND occurrence IS NULL AND claim_id IS NOT NULL));
CREATE UNIQUE INDEX appointments_one_booked_claim_idx ON maintenance.appointments (claim_id)
    WHERE status = 'booked';

-- Claims filed from now on (and those whose events are still kept).
INSERT INTO platform.outbox_consumers (name, topics)
VALUES ('maintenance.claims', '{aftercare.warranty.events.v1.ClaimFiled,aftercare.warranty.events.v1.ClaimStatusChanged,aftercare.warranty.events.v1.ClaimResolved}')
ON CONFLICT (name) DO NOTHING;
INSERT INTO platform.outbox_deliveries (consumer, event_id, aggregate_id, seq, next_attempt_at)
SELECT 'maintenance.claims', e.id, e.aggregate_id, e.seq, now()
FROM platform.outbox_events e
WHERE e.topic IN ('aftercare.warranty.events.v1.ClaimFiled', 'aftercare.warranty.events.v1.ClaimStatusChanged',
                  'aftercare.warranty.events.v1.ClaimResolved')
ON CONFLICT DO NOTHING;
