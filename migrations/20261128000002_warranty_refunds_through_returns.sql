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
    -- The unit as sold (its first registration); none for a plan.
    unit_id            uuid,
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

-- The units warranty took from their lines, on each unit's first warranty
-- money, at the value the line's next refunded unit was worth: no return
-- refunds them after, and the line's other units keep their price.
CREATE TABLE returns.warranty_units (
    unit_id  uuid          PRIMARY KEY,
    order_id text          NOT NULL,
    line_id  text          NOT NULL,
    value    numeric(20,4) NOT NULL CHECK (value >= 0),
    taken_at timestamptz   NOT NULL,
    FOREIGN KEY (order_id, line_id) REFERENCES returns.order_lines (order_id, line_id)
);

-- Returns pays what warranty asks; warranty learns how it went.
INSERT INTO platform.outbox_consumers (name, topics)
VALUES ('returns.warranty', '{aftercare.warranty.events.v1.ClaimRefundRequested}'),
       ('warranty.refunds', '{aftercare.returns.events.v1.RefundSucceeded,aftercare.returns.events.v1.RefundFailed}')
ON CONFLICT (name) DO NOTHING;

-- Units returns refunded before this release are no longer covered (from
-- now on a return's RefundSucceeded tells warranty). Returns counts units,
-- not serials: of each line's units as sold, followed to their live
-- registration, those warranty paid money on are left (no return refunds
-- them), then units with no claim go first, the last numbered first.
WITH RECURSIVE chain AS (
    SELECT r.registration_id AS unit, r.order_id, r.line_id, r.unit AS unit_no, r.registration_id, 0 AS depth
    FROM warranty.registrations r
    JOIN returns.order_lines l ON (l.order_id, l.line_id) = (r.order_id, r.line_id)
    WHERE r.source = 'order' AND l.refunded_units > 0
    UNION ALL
    SELECT c.unit, c.order_id, c.line_id, c.unit_no, r.registration_id, c.depth + 1
    FROM chain c JOIN warranty.registrations r ON r.replaces = c.registration_id
    WHERE c.depth < 1000
), units AS (
    SELECT c.unit, min(c.order_id) AS order_id, min(c.line_id) AS line_id, min(c.unit_no) AS unit_no,
        (array_agg(r.registration_id) FILTER (WHERE r.status = 'active'))[1] AS live,
        bool_or(EXISTS (SELECT 1 FROM warranty.claims k JOIN warranty.refunds f USING (claim_id)
                        WHERE k.registration_id = r.registration_id)) AS taken,
        bool_or(EXISTS (SELECT 1 FROM warranty.claims k WHERE k.registration_id = r.registration_id)) AS claimed
    FROM chain c JOIN warranty.registrations r USING (registration_id)
    GROUP BY c.unit
), ranked AS (
    SELECT u.live, l.refunded_units,
        row_number() OVER (PARTITION BY u.order_id, u.line_id ORDER BY u.claimed, u.unit_no DESC) AS n
    FROM units u JOIN returns.order_lines l USING (order_id, line_id)
    WHERE u.live IS NOT NULL AND NOT u.taken
)
UPDATE warranty.registrations SET status = 'refunded', updated_at = now()
WHERE registration_id IN (SELECT live FROM ranked WHERE n <= refunded_units);

-- Warranty refunds from before, pending or paid, move into returns as they
-- stand, each under its own id (so a payment tool that saw it requested
-- settles it with ConfirmRefund / FailRefund by the id it knows), on the
-- line of the unit as sold (a replacement's unit is the one it replaced).
WITH RECURSIVE chain AS (
    SELECT c.claim_id, r.registration_id, r.replaces, r.order_id, r.line_id, r.unit_price, 0 AS depth
    FROM warranty.claims c JOIN warranty.registrations r USING (registration_id)
    WHERE c.claim_id IN (SELECT claim_id FROM warranty.refunds WHERE status IN ('pending', 'succeeded'))
    UNION ALL
    SELECT ch.claim_id, r.registration_id, r.replaces, r.order_id, r.line_id, r.unit_price, ch.depth + 1
    FROM chain ch JOIN warranty.registrations r ON r.registration_id = ch.replaces
    WHERE ch.depth < 1000
), origin AS (
    SELECT DISTINCT ON (claim_id) claim_id, registration_id AS unit_id, order_id, line_id
    FROM chain ORDER BY claim_id, depth DESC
), moved AS (
    SELECT f.refund_id, f.kind, c.customer_id, l.order_id, l.line_id, o.unit_id,
           o.order_id IS NULL AS bought_elsewhere, f.status, f.amount, f.currency_code, f.provider_reference,
           f.created_at, f.updated_at
    FROM warranty.refunds f
    JOIN warranty.claims c USING (claim_id)
    JOIN origin o USING (claim_id)
    LEFT JOIN returns.order_lines l ON (l.order_id, l.line_id) = (o.order_id, o.line_id)
    WHERE f.status IN ('pending', 'succeeded')
    UNION ALL
    SELECT f.refund_id, f.kind, e.customer_id, l.order_id, l.line_id, NULL, false, f.status, f.amount,
           f.currency_code, f.provider_reference, f.created_at, f.updated_at
    FROM warranty.refunds f
    JOIN warranty.extensions e USING (extension_id)
    LEFT JOIN returns.order_lines l ON (l.order_id, l.line_id) = (e.order_id, e.plan_line_id)
    WHERE f.status IN ('pending', 'succeeded')
)
INSERT INTO returns.warranty_refunds (refund_id, warranty_refund_id, kind, customer_id, order_id, line_id,
    unit_id, units, status, method, amount, currency_code, provider_reference, created_at, updated_at)
SELECT refund_id, refund_id, kind, customer_id, order_id, line_id, unit_id,
       CASE WHEN kind = 'refund' AND order_id IS NOT NULL THEN 1 ELSE 0 END, status,
       CASE WHEN bought_elsewhere THEN 'store_credit' ELSE 'original_payment' END,
       amount, currency_code, provider_reference, created_at, updated_at
FROM moved;

-- Their units taken from their lines, at the unit's recorded price.
INSERT INTO returns.warranty_units (unit_id, order_id, line_id, value, taken_at)
SELECT DISTINCT ON (w.unit_id) w.unit_id, w.order_id, w.line_id, COALESCE(r.unit_price, 0), w.created_at
FROM returns.warranty_refunds w JOIN warranty.registrations r ON r.registration_id = w.unit_id
WHERE w.order_id IS NOT NULL
ORDER BY w.unit_id, w.created_at;

-- And their units and money counted on the lines. A line where a return
-- also holds or refunded what warranty paid for cannot be counted both
-- ways: the migration stops and names it, to be settled by hand first.
CREATE TEMP TABLE warranty_on_lines ON COMMIT DROP AS
SELECT order_id, line_id, COALESCE(u.units, 0) AS units, COALESCE(u.value, 0) AS value,
       COALESCE(m.amount, 0) AS amount
FROM (SELECT order_id, line_id, count(*)::integer AS units, sum(value) AS value
      FROM returns.warranty_units GROUP BY order_id, line_id) u
FULL JOIN (SELECT order_id, line_id, sum(amount) AS amount
           FROM returns.warranty_refunds WHERE order_id IS NOT NULL GROUP BY order_id, line_id) m
    USING (order_id, line_id);

DO $$
DECLARE
    conflicts text;
BEGIN
    SELECT string_agg(format('%s/%s', l.order_id, l.line_id), ', ') INTO conflicts
    FROM returns.order_lines l JOIN warranty_on_lines w USING (order_id, line_id)
    WHERE l.requested_quantity + w.units > CASE WHEN l.delivered_at IS NULL THEN 0 ELSE l.quantity END
       OR l.refunded_units + w.units > l.quantity
       OR l.refunded_value + w.value > l.paid_amount
       OR l.refunded_amount + w.amount > l.paid_amount;
    IF conflicts IS NOT NULL THEN
        RAISE EXCEPTION 'warranty refunds were paid on units a return also holds or refunded (order/line: %); '
            'settle those lines by hand, then migrate', conflicts;
    END IF;
END
$$;

UPDATE returns.order_lines l
SET requested_quantity = l.requested_quantity + w.units,
    refunded_units     = l.refunded_units + w.units,
    refunded_value     = l.refunded_value + w.value,
    refunded_amount    = l.refunded_amount + w.amount
FROM warranty_on_lines w
WHERE (l.order_id, l.line_id) = (w.order_id, w.line_id);

-- Returns' own refunds that warranty applied: a unit refunded by a return
-- is no longer covered. Once per returns refund, however often delivered.
CREATE TABLE warranty.returned_refunds (
    refund_id  uuid        PRIMARY KEY,
    applied_at timestamptz NOT NULL
);
