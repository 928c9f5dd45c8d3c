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
-- moments (80% of the way) beside it, as they were computed. Intervals in
-- plain seconds: an interval with a days part would be added in the
-- session's time zone, an hour off across a daylight-saving change.
ALTER TABLE warranty.claims
    ADD COLUMN first_response_risk_at timestamptz,
    ADD COLUMN resolution_risk_at     timestamptz;
UPDATE warranty.claims SET
    first_response_risk_at = filed_at + make_interval(secs => extract(epoch FROM first_response_due - filed_at) * 0.8
                                                             + paused_micros / 1e6),
    resolution_risk_at     = filed_at + make_interval(secs => extract(epoch FROM resolution_due - filed_at) * 0.8
                                                             + paused_micros / 1e6),
    first_response_due     = first_response_due + make_interval(secs => paused_micros / 1e6),
    resolution_due         = resolution_due + make_interval(secs => paused_micros / 1e6);
ALTER TABLE warranty.claims
    ALTER COLUMN first_response_risk_at SET NOT NULL,
    ALTER COLUMN resolution_risk_at SET NOT NULL;
