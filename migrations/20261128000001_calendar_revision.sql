-- A revision per calendar, moved by every change, so a server may keep the
-- default calendar in memory and re-read it only when the revision it sees
-- beside a registration has moved (the clock's time cannot serve: two
-- changes may share it).
ALTER TABLE warranty.calendars ADD COLUMN revision bigint NOT NULL DEFAULT 1;
