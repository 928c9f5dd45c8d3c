-- Order intake: paid orders and their lines as the storefront reported them.
CREATE SCHEMA IF NOT EXISTS orders;

CREATE TABLE orders.orders (
    order_id        text          PRIMARY KEY CHECK (length(order_id) BETWEEN 1 AND 128),
    customer_id     text          NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 128),
    placed_at       timestamptz   NOT NULL,
    currency_code   text          NOT NULL CHECK (currency_code ~ '^[A-Z]{3}$'),
    channel         text          NOT NULL,
    subtotal        numeric(20,4) NOT NULL CHECK (subtotal >= 0),
    discount_total  numeric(20,4) NOT NULL CHECK (discount_total >= 0),
    order_discount  numeric(20,4) NOT NULL CHECK (order_discount >= 0),
    shipping_amount numeric(20,4) NOT NULL CHECK (shipping_amount >= 0),
    total           numeric(20,4) NOT NULL CHECK (total >= 0),
    -- Hash of the order as recorded: a second RecordOrder with the same id is a
    -- replay when it matches and a conflict when it does not.
    content_hash    bytea         NOT NULL CHECK (length(content_hash) = 32),
    canceled_at     timestamptz,
    cancel_reason   text,
    created_at      timestamptz   NOT NULL,
    updated_at      timestamptz   NOT NULL,
    CHECK (discount_total <= subtotal),
    CHECK (total = subtotal - discount_total + shipping_amount)
);
CREATE INDEX orders_customer_idx ON orders.orders (customer_id, placed_at DESC, order_id DESC);

CREATE TABLE orders.order_lines (
    order_id                  text          NOT NULL REFERENCES orders.orders (order_id) ON DELETE CASCADE,
    line_id                   text          NOT NULL CHECK (length(line_id) BETWEEN 1 AND 128),
    position                  integer       NOT NULL CHECK (position >= 0),
    sku                       text          NOT NULL CHECK (length(sku) BETWEEN 1 AND 128),
    product_name              text          NOT NULL,
    category                  text          NOT NULL,
    quantity                  integer       NOT NULL CHECK (quantity BETWEEN 1 AND 10000),
    unit_price                numeric(20,4) NOT NULL CHECK (unit_price >= 0),
    line_discount             numeric(20,4) NOT NULL CHECK (line_discount >= 0),
    order_discount_allocation numeric(20,4) NOT NULL CHECK (order_discount_allocation >= 0),
    paid_amount               numeric(20,4) NOT NULL CHECK (paid_amount >= 0),
    serial_numbers            text[]        NOT NULL DEFAULT '{}',
    delivered_at              timestamptz,
    PRIMARY KEY (order_id, line_id),
    UNIQUE (order_id, position),
    CHECK (cardinality(serial_numbers) <= quantity),
    -- What was paid for a line is exactly its price less its discounts; no
    -- discount can make it negative.
    CHECK (paid_amount = unit_price * quantity - line_discount - order_discount_allocation)
);
