-- The language a customer's messages are written in (a BCP 47 tag; empty:
-- English).
ALTER TABLE maintenance.preferences
    ADD COLUMN locale text NOT NULL DEFAULT '' CHECK (length(locale) <= 35);
