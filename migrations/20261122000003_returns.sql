-- Returns and exchanges.
CREATE SCHEMA IF NOT EXISTS returns;

-- Policies, one row per version; the highest version of a category is in
-- force. Amounts per currency are JSON objects {"EUR": "4.99"}.
CREATE TABLE returns.policies (
    category                   text        NOT NULL CHECK (length(category) <= 100),
    version                    integer     NOT NULL CHECK (version >= 1),
    return_window_days         integer     NOT NULL CHECK (return_window_days BETWEEN 0 AND 3650),
    final_sale                 boolean     NOT NULL,
    allowed_resolutions        text[]      NOT NULL,
    restocking_fee_percent     numeric(5,2) NOT NULL CHECK (restocking_fee_percent BETWEEN 0 AND 100),
    return_shipping_fees       jsonb       NOT NULL,
    auto_approve_max_refund    jsonb       NOT NULL,
    keep_item_max_refund       jsonb       NOT NULL,
    auto_refund_on_receipt     boolean     NOT NULL,
    manual_review_return_count integer     NOT NULL CHECK (manual_review_return_count >= 0),
    manual_review_refund_limit jsonb       NOT NULL,
    exchange_bonus_percent     numeric(5,2) NOT NULL CHECK (exchange_bonus_percent BETWEEN 0 AND 100),
    advance_exchange           boolean     NOT NULL,
    created_at                 timestamptz NOT NULL,
    PRIMARY KEY (category, version)
);

INSERT INTO returns.policies VALUES
    ('', 1, 14, false, '{refund,store_credit,exchange}', 0, '{}', '{}', '{}', false, 0, '{}', 0, false, now());

CREATE TABLE returns.customer_flags (
    customer_id text        PRIMARY KEY,
    flagged     boolean     NOT NULL,
    note        text        NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- What this service knows of orders, kept from order events.
CREATE TABLE returns.orders (
    order_id      text        PRIMARY KEY,
    customer_id   text        NOT NULL,
    currency_code text        NOT NULL,
    canceled_at   timestamptz
);

CREATE TABLE returns.order_lines (
    order_id           text          NOT NULL REFERENCES returns.orders (order_id),
    line_id            text          NOT NULL,
    position           integer       NOT NULL,
    sku                text          NOT NULL,
    product_name       text          NOT NULL,
    category           text          NOT NULL,
    quantity           integer       NOT NULL CHECK (quantity >= 1),
    paid_amount        numeric(20,4) NOT NULL CHECK (paid_amount >= 0),
    delivered_at       timestamptz,
    -- Units in live returns: never more than was delivered, however many
    -- requests race.
    requested_quantity integer       NOT NULL DEFAULT 0,
    -- Units refunded and their amount: never more than was paid.
    refunded_units     integer       NOT NULL DEFAULT 0,
    refunded_amount    numeric(20,4) NOT NULL DEFAULT 0,
    PRIMARY KEY (order_id, line_id),
    CONSTRAINT returned_at_most_delivered CHECK (
        requested_quantity >= 0
        AND requested_quantity <= CASE WHEN delivered_at IS NULL THEN 0 ELSE quantity END),
    CONSTRAINT refunded_units_at_most_quantity CHECK (refunded_units BETWEEN 0 AND quantity),
    CONSTRAINT refunded_at_most_paid CHECK (refunded_amount >= 0 AND refunded_amount <= paid_amount)
);

CREATE TABLE returns.returns (
    return_id           uuid          PRIMARY KEY,
    order_id            text          NOT NULL REFERENCES returns.orders (order_id),
    customer_id         text          NOT NULL,
    status              text          NOT NULL CHECK (status IN
                            ('requested','approved','rejected','in_transit','received','completed','canceled')),
    channel             text          NOT NULL,
    resolution          text          NOT NULL CHECK (resolution IN ('refund','store_credit','exchange')),
    currency_code       text          NOT NULL,
    policy_category     text          NOT NULL,
    policy_version      integer       NOT NULL,
    keep_items          boolean       NOT NULL,
    manual_review       boolean       NOT NULL,
    items_refund        numeric(20,4) NOT NULL CHECK (items_refund >= 0),
    shipping_fee        numeric(20,4) NOT NULL CHECK (shipping_fee >= 0),
    bonus               numeric(20,4) NOT NULL CHECK (bonus >= 0),
    refund_total        numeric(20,4) NOT NULL CHECK (refund_total >= 0),
    exchange_difference numeric(20,4) NOT NULL,
    rejection_reason    text,
    return_carrier      text,
    return_tracking     text,
    return_shipped_at   timestamptz,
    exchange_carrier    text,
    exchange_tracking   text,
    exchange_shipped_at timestamptz,
    ship_by             timestamptz,
    created_at          timestamptz   NOT NULL,
    updated_at          timestamptz   NOT NULL
);
CREATE INDEX returns_customer_idx ON returns.returns (customer_id, created_at DESC, return_id DESC);
CREATE INDEX returns_status_idx ON returns.returns (status, created_at, return_id);
CREATE INDEX returns_order_idx ON returns.returns (order_id);

CREATE TABLE returns.return_items (
    return_id         uuid          NOT NULL REFERENCES returns.returns (return_id),
    position          integer       NOT NULL,
    line_id           text          NOT NULL,
    sku               text          NOT NULL,
    product_name      text          NOT NULL,
    quantity          integer       NOT NULL CHECK (quantity >= 1),
    reason            text          NOT NULL,
    note              text          NOT NULL,
    photo_urls        text[]        NOT NULL,
    resolution        text          NOT NULL,
    replacement_sku   text,
    replacement_price numeric(20,4) CHECK (replacement_price >= 0),
    received_quantity integer,
    grade             text,
    refund_amount     numeric(20,4) NOT NULL CHECK (refund_amount >= 0),
    PRIMARY KEY (return_id, line_id),
    CHECK (received_quantity BETWEEN 0 AND quantity)
);

CREATE TABLE returns.refunds (
    refund_id          uuid          PRIMARY KEY,
    return_id          uuid          NOT NULL REFERENCES returns.returns (return_id),
    status             text          NOT NULL CHECK (status IN ('pending','succeeded','failed')),
    method             text          NOT NULL CHECK (method IN ('original_payment','store_credit')),
    amount             numeric(20,4) NOT NULL CHECK (amount > 0),
    currency_code      text          NOT NULL,
    provider_reference text,
    failure_reason     text,
    created_at         timestamptz   NOT NULL,
    updated_at         timestamptz   NOT NULL
);
-- A return is refunded at most once: one pending or succeeded refund each.
CREATE UNIQUE INDEX refunds_one_live_per_return ON returns.refunds (return_id)
    WHERE status IN ('pending', 'succeeded');

CREATE TABLE returns.timeline (
    id               bigserial   PRIMARY KEY,
    return_id        uuid        NOT NULL REFERENCES returns.returns (return_id),
    at               timestamptz NOT NULL,
    kind             text        NOT NULL CHECK (kind IN ('status', 'message')),
    status           text,
    text             text        NOT NULL,
    actor_role       text        NOT NULL,
    channel          text,
    customer_visible boolean     NOT NULL
);
CREATE INDEX timeline_return_idx ON returns.timeline (return_id, id);

-- Subscribe to order events from the start, so none is missed between this
-- migration and the first start of the returns service.
INSERT INTO platform.outbox_consumers (name, topics)
VALUES ('returns.orders', '{orders.OrderRecorded,orders.OrderDelivered,orders.OrderCanceled}')
ON CONFLICT (name) DO NOTHING;
