-- Returns and orders made safe with money.

-- Idempotency keys belong to their caller: the same request_id from two
-- callers is two keys, so nobody can squat or probe another caller's keys.
ALTER TABLE platform.idempotency_keys ADD COLUMN owner text NOT NULL DEFAULT ''
    CHECK (length(owner) <= 300);
ALTER TABLE platform.idempotency_keys ALTER COLUMN owner DROP DEFAULT;
ALTER TABLE platform.idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE platform.idempotency_keys ADD PRIMARY KEY (scope, owner, key);

-- Each item is decided under its own category's policy, and remembers which
-- (returns decided before this kept their first item's policy for all).
ALTER TABLE returns.return_items
    ADD COLUMN policy_category text,
    ADD COLUMN policy_version integer,
    -- Units of the line this item holds as refunded (kept, or received and
    -- accepted), given back with `refund_amount` if the return is canceled.
    ADD COLUMN refunded_units integer NOT NULL DEFAULT 0 CHECK (refunded_units >= 0);
UPDATE returns.return_items i
SET policy_category = r.policy_category,
    policy_version = r.policy_version,
    refunded_units = CASE
        WHEN r.status IN ('canceled', 'rejected') THEN 0
        WHEN r.keep_items THEN i.quantity
        WHEN i.grade IN ('resellable', 'opened', 'damaged') THEN i.received_quantity
        ELSE 0 END
FROM returns.returns r WHERE r.return_id = i.return_id;
ALTER TABLE returns.return_items
    ALTER COLUMN policy_category SET NOT NULL,
    ALTER COLUMN policy_version SET NOT NULL,
    ADD CONSTRAINT refunded_at_most_requested CHECK (refunded_units <= quantity);

-- Canceled returns whose kept items had been refunded on the ledger before
-- a refund failed: their units and money were never given back. Give them
-- back now, so those units can be returned again.
UPDATE returns.order_lines l
SET refunded_units = l.refunded_units - x.units,
    refunded_amount = l.refunded_amount - x.amount
FROM (SELECT r.order_id, i.line_id, sum(i.quantity) AS units, sum(i.refund_amount) AS amount
      FROM returns.return_items i JOIN returns.returns r USING (return_id)
      WHERE r.status = 'canceled' AND r.keep_items
      GROUP BY r.order_id, i.line_id) x
WHERE l.order_id = x.order_id AND l.line_id = x.line_id;

-- Triage decides once whether approved items may be kept; approval, by
-- anyone, honours it.
ALTER TABLE returns.returns ADD COLUMN keep_allowed boolean NOT NULL DEFAULT false;
UPDATE returns.returns SET keep_allowed = keep_items;

-- Exchange differences are settled: what the customer owes is charged
-- (pending -> succeeded / failed) before the replacement ships.
CREATE TABLE returns.charges (
    charge_id          uuid          PRIMARY KEY,
    return_id          uuid          NOT NULL REFERENCES returns.returns (return_id),
    status             text          NOT NULL CHECK (status IN ('pending','succeeded','failed')),
    amount             numeric(20,4) NOT NULL CHECK (amount > 0),
    currency_code      text          NOT NULL,
    provider_reference text,
    failure_reason     text,
    created_at         timestamptz   NOT NULL,
    updated_at         timestamptz   NOT NULL
);
CREATE UNIQUE INDEX charges_one_pending_per_return ON returns.charges (return_id) WHERE status = 'pending';
CREATE INDEX charges_return_idx ON returns.charges (return_id, created_at);

-- Every list query's filter and order has an index (staff queues unfiltered,
-- by order, by reason; by customer and by status existed).
CREATE INDEX returns_created_idx ON returns.returns (created_at, return_id);
DROP INDEX returns.returns_order_idx;
CREATE INDEX returns_order_idx ON returns.returns (order_id, created_at, return_id);
CREATE INDEX return_items_reason_idx ON returns.return_items (reason, return_id);

-- Until now customers priced their own exchanges. Every exchange still open
-- (its replacement not shipped) loses that price and is priced again by the
-- store before it can ship; what it showed as owed either way is void.
UPDATE returns.return_items i SET replacement_price = NULL
FROM returns.returns r
WHERE r.return_id = i.return_id AND r.resolution = 'exchange'
  AND r.status NOT IN ('completed', 'canceled', 'rejected') AND r.exchange_shipped_at IS NULL;
UPDATE returns.returns SET exchange_difference = 0, refund_total = 0
WHERE resolution = 'exchange' AND status NOT IN ('completed', 'canceled', 'rejected')
  AND exchange_shipped_at IS NULL;

-- The ledger keeps what refunded units were worth (before restocking fees),
-- so the next units are priced from what is left of the line and a unit
-- given back by a canceled return is worth exactly what it took.
ALTER TABLE returns.order_lines ADD COLUMN refunded_value numeric(20,4) NOT NULL DEFAULT 0;
ALTER TABLE returns.return_items ADD COLUMN refunded_value numeric(20,4) NOT NULL DEFAULT 0
    CHECK (refunded_value >= 0);
-- Lines refunded so far took the first units, split by largest remainder.
UPDATE returns.order_lines l
SET refunded_value = (
    floor(l.paid_amount * p.scale / l.quantity) * l.refunded_units
    + LEAST(l.refunded_units, (l.paid_amount * p.scale) % l.quantity)) / p.scale
FROM (SELECT o.order_id,
             CASE WHEN o.currency_code IN ('CLP','ISK','JPY','KRW','VND') THEN 1
                  WHEN o.currency_code IN ('BHD','JOD','KWD','OMR','TND') THEN 1000
                  ELSE 100 END AS scale
      FROM returns.orders o) p
WHERE p.order_id = l.order_id AND l.refunded_units > 0;
-- Items holding refunded units: at least what they refund (exact without a fee).
UPDATE returns.return_items SET refunded_value = refund_amount WHERE refunded_units > 0;
ALTER TABLE returns.order_lines ADD CONSTRAINT refunded_value_at_most_paid
    CHECK (refunded_value >= 0 AND refunded_value <= paid_amount);
