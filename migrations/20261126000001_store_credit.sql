-- Store credit: a wallet per customer and currency, on the points ledger's
-- machinery. Credits are lots, a checkout's hold reserves from lots and
-- resolves once, every change is an immutable entry with the lots it moved,
-- and the wallet row (every change locks it first) carries balances that
-- are always the sums of its entries. Amounts are whole minor units of the
-- wallet's currency (cents for EUR): exact, and never below zero.

CREATE TABLE loyalty.wallets (
    customer_id    text        NOT NULL,
    currency_code  text        NOT NULL CHECK (currency_code ~ '^[A-Z]{3}$'),
    available      bigint      NOT NULL DEFAULT 0 CHECK (available >= 0),
    held           bigint      NOT NULL DEFAULT 0 CHECK (held >= 0),
    -- Everything ever credited; not a balance, kept the same way.
    credited       bigint      NOT NULL DEFAULT 0 CHECK (credited >= 0),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (customer_id, currency_code)
);

-- A refund credits one lot, once (the unique refund id).
CREATE TABLE loyalty.credit_lots (
    lot_id         uuid        PRIMARY KEY,
    customer_id    text        NOT NULL,
    currency_code  text        NOT NULL,
    refund_id      text        NOT NULL UNIQUE,
    return_id      text        NOT NULL,
    order_id       text        NOT NULL,
    amount         bigint      NOT NULL CHECK (amount > 0),
    -- Excludes what open holds reserved.
    remaining      bigint      NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
    -- NULL: never expires (store credit does not, by default).
    expires_at     timestamptz,
    created_at     timestamptz NOT NULL,
    FOREIGN KEY (customer_id, currency_code) REFERENCES loyalty.wallets (customer_id, currency_code)
);
CREATE INDEX credit_lots_spendable_idx ON loyalty.credit_lots (customer_id, currency_code, expires_at NULLS LAST, created_at)
    WHERE remaining > 0;

CREATE TABLE loyalty.credit_holds (
    hold_id        uuid        PRIMARY KEY,
    customer_id    text        NOT NULL,
    currency_code  text        NOT NULL,
    amount         bigint      NOT NULL CHECK (amount > 0),
    captured       bigint      NOT NULL DEFAULT 0 CHECK (captured >= 0 AND captured <= amount),
    order_ref      text        NOT NULL,
    status         text        NOT NULL CHECK (status IN ('held', 'captured', 'released', 'expired')),
    expires_at     timestamptz NOT NULL,
    created_at     timestamptz NOT NULL,
    resolved_at    timestamptz,
    CHECK ((status = 'held') = (resolved_at IS NULL)),
    CHECK (status = 'captured' OR captured = 0),
    FOREIGN KEY (customer_id, currency_code) REFERENCES loyalty.wallets (customer_id, currency_code)
);
CREATE INDEX credit_holds_open_idx ON loyalty.credit_holds (expires_at) WHERE status = 'held';
CREATE INDEX credit_holds_wallet_open_idx ON loyalty.credit_holds (customer_id, currency_code, expires_at)
    WHERE status = 'held';

CREATE TABLE loyalty.credit_hold_lots (
    hold_id  uuid   NOT NULL REFERENCES loyalty.credit_holds (hold_id),
    lot_id   uuid   NOT NULL REFERENCES loyalty.credit_lots (lot_id),
    amount   bigint NOT NULL CHECK (amount > 0),
    PRIMARY KEY (hold_id, lot_id)
);

CREATE TABLE loyalty.credit_entries (
    entry_id          uuid        PRIMARY KEY,
    customer_id       text        NOT NULL,
    currency_code     text        NOT NULL,
    kind              text        NOT NULL CHECK (kind IN ('credited', 'held', 'redeemed', 'released')),
    available_change  bigint      NOT NULL DEFAULT 0,
    held_change       bigint      NOT NULL DEFAULT 0,
    credited_change   bigint      NOT NULL DEFAULT 0,
    refund_id         text,
    hold_id           uuid        REFERENCES loyalty.credit_holds (hold_id),
    reason            text        NOT NULL DEFAULT '',
    actor             text        NOT NULL,
    at                timestamptz NOT NULL,
    FOREIGN KEY (customer_id, currency_code) REFERENCES loyalty.wallets (customer_id, currency_code)
);
CREATE INDEX credit_entries_wallet_idx ON loyalty.credit_entries (customer_id, at DESC, entry_id DESC);

CREATE TABLE loyalty.credit_entry_lots (
    entry_id  uuid   NOT NULL REFERENCES loyalty.credit_entries (entry_id),
    lot_id    uuid   NOT NULL REFERENCES loyalty.credit_lots (lot_id),
    amount    bigint NOT NULL CHECK (amount > 0),
    PRIMARY KEY (entry_id, lot_id)
);
CREATE INDEX credit_entry_lots_lot_idx ON loyalty.credit_entry_lots (lot_id);

-- Succeeded refunds: a store-credit one credits its wallet. Refunds that
-- succeeded before wallets existed are delivered too (events are kept), so
-- credit already granted reaches its wallet; the unique refund id credits
-- each once.
INSERT INTO platform.outbox_consumers (name, topics)
VALUES ('loyalty.store_credit', '{aftercare.returns.events.v1.RefundSucceeded}')
ON CONFLICT (name) DO NOTHING;
INSERT INTO platform.outbox_deliveries (consumer, event_id, aggregate_id, seq, next_attempt_at)
SELECT 'loyalty.store_credit', e.id, e.aggregate_id, e.seq, now()
FROM platform.outbox_events e
WHERE e.topic = 'aftercare.returns.events.v1.RefundSucceeded'
ON CONFLICT DO NOTHING;
