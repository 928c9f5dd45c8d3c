-- Service-level clocks count working time. A calendar may keep business
-- hours (local, on working days): a claim's first response then counts
-- only those. Each target is kept as it stands (moved by the pauses), with
-- the moment it goes at risk, so that a pause moves a working-day target
-- by the working time it covered, not by the wall time.
ALTER TABLE warranty.calendars
    ADD COLUMN business_hours_start time,
    ADD COLUMN business_hours_end   time,
    ADD CONSTRAINT business_hours_both_or_neither
        CHECK ((business_hours_start IS NULL) = (business_hours_end IS NULL)),
    ADD CONSTRAINT business_hours_start_before_end
        CHECK (business_hours_start < business_hours_end);

-- Until now a due moment was the target fixed at filing, moved by the
-- closed pauses' wall time when read: store it moved, and the at-risk
-- moments (80% of the way) beside it, as they were computed.
ALTER TABLE warranty.claims
    ADD COLUMN first_response_risk_at timestamptz,
    ADD COLUMN resolution_risk_at     timestamptz;
UPDATE warranty.claims SET
    first_response_risk_at = filed_at + (first_response_due - filed_at) * 0.8
                             + paused_micros * interval '1 microsecond',
    resolution_risk_at     = filed_at + (resolution_due - filed_at) * 0.8
                             + paused_micros * interval '1 microsecond',
    first_response_due     = first_response_due + paused_micros * interval '1 microsecond',
    resolution_due         = resolution_due + paused_micros * interval '1 microsecond';
ALTER TABLE warranty.claims
    ALTER COLUMN first_response_risk_at SET NOT NULL,
    ALTER COLUMN resolution_risk_at SET NOT NULL;
