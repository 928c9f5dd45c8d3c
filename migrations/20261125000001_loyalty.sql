-- Loyalty points: a ledger of immutable entries over lots of points.
--
-- Balances are kept on the account row (locked by every change of the
-- account, so changes of one customer serialize) and are always the sum of
-- the account's entries; the checks below make an overdraft impossible
-- whatever the code does.
CREATE SCHEMA loyalty;

-- The program: one row.
CREATE TABLE loyalty.program (
    singleton             boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    version               integer     NOT NULL CHECK (version > 0),
    return_window_days    integer     NOT NULL CHECK (return_window_days BETWEEN 0 AND 3650),
    undelivered_max_days  integer     NOT NULL CHECK (undelivered_max_days BETWEEN 0 AND 3650),
    expiry_months         integer     NOT NULL CHECK (expiry_months BETWEEN 0 AND 1200),
    min_redeem_points     bigint      NOT NULL CHECK (min_redeem_points > 0),
    max_redeem_percent    integer     NOT NULL CHECK (max_redeem_percent BETWEEN 1 AND 100),
    hold_ttl_seconds      integer     NOT NULL CHECK (hold_ttl_seconds BETWEEN 1 AND 86400),
    grant_limit           bigint      NOT NULL CHECK (grant_limit > 0),
    tier_grace_days       integer     NOT NULL CHECK (tier_grace_days BETWEEN 0 AND 3650),
    updated_at            timestamptz NOT NULL
);

CREATE TABLE loyalty.currency_rates (
    currency_code    text          PRIMARY KEY CHECK (currency_code ~ '^[A-Z]{3}$'),
    points_per_unit  numeric(12,4) NOT NULL CHECK (points_per_unit >= 0),
    point_value      numeric(20,6) NOT NULL CHECK (point_value > 0)
);

-- Tiers, lowest first (position 0 starts at 0 qualifying points).
CREATE TABLE loyalty.tiers (
    position               integer       PRIMARY KEY CHECK (position >= 0),
    name                   text          NOT NULL UNIQUE,
    min_qualifying_points  bigint        NOT NULL CHECK (min_qualifying_points >= 0),
    earn_multiplier        numeric(6,3)  NOT NULL CHECK (earn_multiplier >= 1),
    extra_return_days      integer       NOT NULL CHECK (extra_return_days BETWEEN 0 AND 365),
    free_return_shipping   boolean       NOT NULL,
    early_access           boolean       NOT NULL
);

INSERT INTO loyalty.program (version, return_window_days, undelivered_max_days, expiry_months,
    min_redeem_points, max_redeem_percent, hold_ttl_seconds, grant_limit, tier_grace_days, updated_at)
VALUES (1, 30, 90, 24, 100, 50, 900, 5000, 30, now());
INSERT INTO loyalty.tiers VALUES
    (0, 'Bronze', 0, 1, 0, false, false),
    (1, 'Silver', 1000, 1.25, 0, false, false),
    (2, 'Gold', 5000, 1.5, 15, true, true);
INSERT INTO loyalty.currency_rates VALUES ('TRY', 1, 0.01), ('EUR', 10, 0.001), ('USD', 10, 0.001);

CREATE TABLE loyalty.accounts (
    customer_id      text        PRIMARY KEY,
    available        bigint      NOT NULL DEFAULT 0 CHECK (available >= 0),
    pending          bigint      NOT NULL DEFAULT 0 CHECK (pending >= 0),
    held             bigint      NOT NULL DEFAULT 0 CHECK (held >= 0),
    debt             bigint      NOT NULL DEFAULT 0 CHECK (debt >= 0),
    lifetime_earned  bigint      NOT NULL DEFAULT 0 CHECK (lifetime_earned >= 0),
    -- NULL: the lowest tier. Below its threshold since (the grace period
    -- runs from then); when the job last reviewed it.
    tier             text,
    tier_below_since timestamptz,
    tier_checked_at  timestamptz,
    -- The perks TierChanged last announced (NULL: none), so a change of the
    -- tier's perks in the program is announced too.
    announced_perks  text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
-- Accounts above the lowest tier, for the job's daily review; accounts not
-- reviewed yet; accounts in a grace period.
CREATE INDEX accounts_tier_review_idx ON loyalty.accounts (tier_checked_at) WHERE tier IS NOT NULL;
CREATE INDEX accounts_unreviewed_idx ON loyalty.accounts (customer_id) WHERE tier_checked_at IS NULL;
CREATE INDEX accounts_grace_idx ON loyalty.accounts (tier_below_since) WHERE tier_below_since IS NOT NULL;

-- Points live in lots. A pending lot waits for `matures_at`; an available
-- one spends and expires; a closed one is done (voided, or used up).
-- `remaining` excludes points reserved by open holds.
CREATE TABLE loyalty.lots (
    lot_id       uuid        PRIMARY KEY,
    customer_id  text        NOT NULL REFERENCES loyalty.accounts (customer_id),
    source       text        NOT NULL CHECK (source IN ('order', 'bonus', 'grant', 'adjustment')),
    order_id     text,
    line_id      text,
    earned       bigint      NOT NULL CHECK (earned > 0),
    remaining    bigint      NOT NULL CHECK (remaining >= 0 AND remaining <= earned),
    -- An order lot's line quantity, its points before the tier's
    -- multiplier (qualifying spend), and how many of its units and points
    -- refunds took back so far.
    units           integer  CHECK (units > 0),
    base            bigint   CHECK (base > 0 AND base <= earned),
    -- When the order was placed (order and bonus lots): qualifying spend
    -- counts from it, not from when its event happened to be applied.
    placed_at       timestamptz,
    reversed_units  integer  NOT NULL DEFAULT 0 CHECK (reversed_units >= 0 AND reversed_units <= COALESCE(units, 0)),
    reversed        bigint   NOT NULL DEFAULT 0 CHECK (reversed >= 0 AND reversed <= earned),
    state        text        NOT NULL CHECK (state IN ('pending', 'available', 'closed')),
    matures_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    -- PointsExpiringSoon was sent for this lot's points.
    expiry_notified boolean  NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL,
    CHECK (source <> 'bonus' OR (order_id IS NOT NULL AND line_id IS NOT NULL AND units = 1 AND base IS NULL)),
    CHECK ((source = 'order') = (order_id IS NOT NULL AND line_id IS NOT NULL AND units IS NOT NULL
                                 AND base IS NOT NULL AND placed_at IS NOT NULL)),
    CHECK (state <> 'pending' OR expires_at IS NULL)
);
-- One lot per order line, one campaign bonus per order: a replayed
-- OrderRecorded earns nothing twice. A bonus lot's line_id is its campaign.
CREATE UNIQUE INDEX lots_order_line_key ON loyalty.lots (order_id, line_id) WHERE source = 'order';
CREATE UNIQUE INDEX lots_order_bonus_key ON loyalty.lots (order_id) WHERE source = 'bonus';
-- Spending order: earliest expiry first (never-expiring last).
CREATE INDEX lots_spendable_idx ON loyalty.lots (customer_id, expires_at NULLS LAST, created_at)
    WHERE state = 'available' AND remaining > 0;
CREATE INDEX lots_maturing_idx ON loyalty.lots (matures_at) WHERE state = 'pending';
-- A customer's order lots of the last 12 months (qualifying spend).
CREATE INDEX lots_qualifying_idx ON loyalty.lots (customer_id, placed_at) WHERE source = 'order';
-- A customer's lots due to mature (checkout settles what fell due).
CREATE INDEX lots_customer_maturing_idx ON loyalty.lots (customer_id, matures_at) WHERE state = 'pending';
CREATE INDEX lots_expiring_idx ON loyalty.lots (expires_at)
    WHERE state = 'available' AND remaining > 0 AND expires_at IS NOT NULL;
-- Lots to warn about before they expire.
CREATE INDEX lots_to_notify_idx ON loyalty.lots (expires_at)
    WHERE state = 'available' AND remaining > 0 AND expires_at IS NOT NULL AND NOT expiry_notified;

-- Holds reserve points for a checkout and resolve once.
CREATE TABLE loyalty.holds (
    hold_id      uuid        PRIMARY KEY,
    customer_id  text        NOT NULL REFERENCES loyalty.accounts (customer_id),
    points       bigint      NOT NULL CHECK (points > 0),
    captured     bigint      NOT NULL DEFAULT 0 CHECK (captured >= 0 AND captured <= points),
    order_ref    text        NOT NULL,
    status       text        NOT NULL CHECK (status IN ('held', 'captured', 'released', 'expired')),
    expires_at   timestamptz NOT NULL,
    created_at   timestamptz NOT NULL,
    resolved_at  timestamptz,
    CHECK ((status = 'held') = (resolved_at IS NULL)),
    CHECK (status = 'captured' OR captured = 0)
);
CREATE INDEX holds_open_idx ON loyalty.holds (expires_at) WHERE status = 'held';
CREATE INDEX holds_customer_open_idx ON loyalty.holds (customer_id, expires_at) WHERE status = 'held';

-- Which lots a hold reserved points from, so a release gives back exactly
-- those and a capture spends exactly those.
CREATE TABLE loyalty.hold_lots (
    hold_id  uuid   NOT NULL REFERENCES loyalty.holds (hold_id),
    lot_id   uuid   NOT NULL REFERENCES loyalty.lots (lot_id),
    points   bigint NOT NULL CHECK (points > 0),
    PRIMARY KEY (hold_id, lot_id)
);

-- The ledger. Each entry carries the change of every balance; an account's
-- balances (and lifetime earned) are the sums of its entries' changes.
CREATE TABLE loyalty.entries (
    entry_id          uuid        PRIMARY KEY,
    customer_id       text        NOT NULL REFERENCES loyalty.accounts (customer_id),
    kind              text        NOT NULL CHECK (kind IN ('earned', 'matured', 'voided', 'held', 'redeemed',
                                                           'released', 'expired', 'granted', 'adjusted',
                                                           'reversed', 'debt_repaid')),
    available_change  bigint      NOT NULL DEFAULT 0,
    pending_change    bigint      NOT NULL DEFAULT 0,
    held_change       bigint      NOT NULL DEFAULT 0,
    debt_change       bigint      NOT NULL DEFAULT 0,
    -- Lifetime earned is not a balance, but is kept the same way.
    lifetime_change   bigint      NOT NULL DEFAULT 0,
    order_id          text,
    hold_id           uuid        REFERENCES loyalty.holds (hold_id),
    reason            text        NOT NULL DEFAULT '',
    actor             text        NOT NULL,
    at                timestamptz NOT NULL
);
CREATE INDEX entries_customer_idx ON loyalty.entries (customer_id, at DESC, entry_id DESC);

-- The lots each entry touched, and by how many points.
CREATE TABLE loyalty.entry_lots (
    entry_id  uuid   NOT NULL REFERENCES loyalty.entries (entry_id),
    lot_id    uuid   NOT NULL REFERENCES loyalty.lots (lot_id),
    points    bigint NOT NULL CHECK (points > 0),
    PRIMARY KEY (entry_id, lot_id)
);
CREATE INDEX entry_lots_lot_idx ON loyalty.entry_lots (lot_id);

-- Campaigns: time-boxed earn multipliers and fixed bonuses, scoped to
-- categories, SKUs and channels (empty: all).
CREATE TABLE loyalty.campaigns (
    campaign_id      text          PRIMARY KEY,
    name             text          NOT NULL,
    trigger          text          NOT NULL CHECK (trigger IN ('order', 'first_order')),
    starts_at        timestamptz   NOT NULL,
    ends_at          timestamptz   NOT NULL CHECK (ends_at > starts_at),
    earn_multiplier  numeric(6,3)  NOT NULL CHECK (earn_multiplier >= 1),
    bonus_points     bigint        NOT NULL CHECK (bonus_points >= 0),
    categories       text[]        NOT NULL,
    skus             text[]        NOT NULL,
    channels         text[]        NOT NULL,
    active           boolean       NOT NULL,
    updated_at       timestamptz   NOT NULL
);
CREATE INDEX campaigns_running_idx ON loyalty.campaigns (starts_at, ends_at) WHERE active;

-- The rewards catalogue. A coupon reward hands out codes from its pool.
CREATE TABLE loyalty.rewards (
    reward_id          text          PRIMARY KEY,
    name               text          NOT NULL,
    kind               text          NOT NULL CHECK (kind IN ('coupon_code', 'free_shipping', 'fixed_discount')),
    points_cost        bigint        NOT NULL CHECK (points_cost > 0),
    discount_amount    numeric(20,4) CHECK (discount_amount > 0),
    discount_currency  text          CHECK (discount_currency ~ '^[A-Z]{3}$'),
    active             boolean       NOT NULL,
    updated_at         timestamptz   NOT NULL,
    CHECK ((kind = 'fixed_discount') = (discount_amount IS NOT NULL AND discount_currency IS NOT NULL))
);

CREATE TABLE loyalty.reward_redemptions (
    redemption_id  uuid        PRIMARY KEY,
    reward_id      text        NOT NULL REFERENCES loyalty.rewards (reward_id),
    customer_id    text        NOT NULL REFERENCES loyalty.accounts (customer_id),
    points         bigint      NOT NULL CHECK (points > 0),
    code           text,
    entry_id       uuid        NOT NULL REFERENCES loyalty.entries (entry_id),
    at             timestamptz NOT NULL,
    UNIQUE (reward_id, code)
);

-- A code goes to one redemption at most (the unique key), whatever races.
CREATE TABLE loyalty.reward_codes (
    reward_id      text NOT NULL REFERENCES loyalty.rewards (reward_id),
    code           text NOT NULL,
    redemption_id  uuid UNIQUE REFERENCES loyalty.reward_redemptions (redemption_id) DEFERRABLE INITIALLY DEFERRED,
    PRIMARY KEY (reward_id, code)
);
CREATE INDEX reward_codes_free_idx ON loyalty.reward_codes (reward_id, code) WHERE redemption_id IS NULL;
-- A redemption's code is one of its reward's pool.
ALTER TABLE loyalty.reward_redemptions
    ADD FOREIGN KEY (reward_id, code) REFERENCES loyalty.reward_codes (reward_id, code);

-- Refunds whose points were taken back: a refund's event applies once.
CREATE TABLE loyalty.refunds (
    refund_id    text        PRIMARY KEY,
    customer_id  text        NOT NULL REFERENCES loyalty.accounts (customer_id),
    order_id     text        NOT NULL,
    entry_id     uuid        REFERENCES loyalty.entries (entry_id),
    at           timestamptz NOT NULL
);

-- Subscribe to order events and succeeded refunds from the start, so none
-- is missed between this migration and the first start of the service.
INSERT INTO platform.outbox_consumers (name, topics)
VALUES ('loyalty.orders', '{aftercare.orders.events.v1.OrderRecorded,aftercare.orders.events.v1.OrderDelivered,aftercare.orders.events.v1.OrderCanceled}')
ON CONFLICT (name) DO NOTHING;
INSERT INTO platform.outbox_consumers (name, topics)
VALUES ('loyalty.returns', '{aftercare.returns.events.v1.RefundSucceeded}')
ON CONFLICT (name) DO NOTHING;
