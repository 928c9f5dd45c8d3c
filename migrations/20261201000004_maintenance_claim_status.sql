-- A claim's status as warranty last told it: visits are booked for
-- approved claims (APPROVED, IN_SERVICE) only, so a claim filed is not a
-- seat taken.
ALTER TABLE maintenance.claims
    ADD COLUMN status text NOT NULL DEFAULT 'SUBMITTED' CHECK (length(status) <= 32);
UPDATE maintenance.claims SET status = 'CLOSED' WHERE NOT open;
