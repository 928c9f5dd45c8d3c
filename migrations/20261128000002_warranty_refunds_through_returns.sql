-- Warranty's refunds (a claim's refund or price reduction, a canceled
-- extended-warranty plan) are paid through returns' refund path. Returns
-- keeps what was paid back on every order line, so a unit refunded under
-- warranty is never refunded again by a return, nor the other way round;
-- and the payment tool settles every refund with the same two calls.
CREATE TABLE returns.warranty_refunds (
    -- Returns' refund id: the one the payment tool confirms or fails.
    refund_id          uuid          PRIMARY KEY,
    -- Warranty's refund: paid at most once, whatever is delivered twice.
    warranty_refund_id uuid          NOT NULL UNIQUE,
    kind               text          NOT NULL CHECK (kind IN ('refund', 'price_reduction', 'plan_cancellation')),
    customer_id        text          NOT NULL,
    -- The order line paid back on; none for a product bought elsewhere.
    order_id           text,
    line_id            text,
    units              integer       NOT NULL CHECK (units BETWEEN 0 AND 1),
    status             text          NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    method             text          NOT NULL CHECK (method IN ('original_payment', 'store_credit')),
    amount             numeric(20,4) NOT NULL CHECK (amount > 0),
    currency_code      text          NOT NULL CHECK (currency_code ~ '^[A-Z]{3}$'),
    provider_reference text,
    failure_reason     text,
    created_at         timestamptz   NOT NULL,
    updated_at         timestamptz   NOT NULL,
    CHECK ((order_id IS NULL) = (line_id IS NULL)),
    CHECK (units = 0 OR order_id IS NOT NULL),
    FOREIGN KEY (order_id, line_id) REFERENCES returns.order_lines (order_id, line_id)
);

-- Returns pays what warranty asks; warranty learns how it went.
INSERT INTO platform.outbox_consumers (name, topics)
VALUES ('returns.warranty', '{aftercare.warranty.events.v1.ClaimRefundRequested}'),
       ('warranty.refunds', '{aftercare.returns.events.v1.RefundSucceeded,aftercare.returns.events.v1.RefundFailed}')
ON CONFLICT (name) DO NOTHING;

-- Until now the payment tool settled warranty refunds with warranty's own
-- SettleClaimRefund, which is gone. A refund still pending has not been
-- paid as far as anything here knows: it fails, with why, so that it is
-- issued again and paid through returns.
UPDATE warranty.refunds
SET status = 'failed', updated_at = now(),
    failure_reason = 'withdrawn unpaid when warranty refunds moved to the returns refund path; issue it again'
WHERE status = 'pending';
