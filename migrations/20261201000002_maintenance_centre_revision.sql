-- A centre's revision, new at each write: servers keep centres in memory
-- and book against the revision they hold (a booking finding another
-- revision reads the centre again). From a sequence, so a centre written
-- again (or made anew under its old id) never gets a revision it had.
CREATE SEQUENCE maintenance.centre_revisions;
ALTER TABLE maintenance.centres
    ADD COLUMN revision bigint NOT NULL DEFAULT nextval('maintenance.centre_revisions');
