-- A centre's revision, one more at each write: servers keep centres in
-- memory and book against the revision they hold (a booking finding
-- another revision reads the centre again).
ALTER TABLE maintenance.centres
    ADD COLUMN revision bigint NOT NULL DEFAULT 1;
