-- Loyalty tier perks in returns: each customer's perks, kept from
-- loyalty's TierChanged events (never read from the loyalty schema), and
-- the perks each return was decided with.
CREATE TABLE returns.customer_perks (
    customer_id           text        PRIMARY KEY,
    tier                  text        NOT NULL,
    extra_return_days     integer     NOT NULL CHECK (extra_return_days BETWEEN 0 AND 365),
    free_return_shipping  boolean     NOT NULL,
    changed_at            timestamptz NOT NULL
);

ALTER TABLE returns.returns
    ADD COLUMN perk_tier text,
    ADD COLUMN perk_extra_return_days integer NOT NULL DEFAULT 0 CHECK (perk_extra_return_days BETWEEN 0 AND 365),
    ADD COLUMN perk_free_return_shipping boolean NOT NULL DEFAULT false;

-- Subscribe from the start, so no tier change is missed before the
-- returns service first starts.
INSERT INTO platform.outbox_consumers (name, topics)
VALUES ('returns.loyalty', '{aftercare.loyalty.events.v1.TierChanged}')
ON CONFLICT (name) DO NOTHING;
