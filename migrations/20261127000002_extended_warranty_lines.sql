-- An extended-warranty plan is sold as an order line linked to the line it
-- extends (in the same order).
ALTER TABLE orders.order_lines ADD COLUMN extends_line_id text
    CHECK (extends_line_id IS NULL OR extends_line_id <> line_id);

-- Returns keeps which lines are plans: a plan is canceled (and paid back)
-- through warranty, never returned, so it is never paid back twice.
ALTER TABLE returns.order_lines ADD COLUMN is_plan boolean NOT NULL DEFAULT false;
