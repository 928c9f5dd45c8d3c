-- Warranty: terms (versioned), business calendars, registered products,
-- and claims with their timeline.
CREATE SCHEMA warranty;

-- Terms per category ('' = the default) and per SKU override ('' = the
-- category's own), one row per version: a product keeps the version it was
-- registered under.
CREATE TABLE warranty.terms (
    category                    text        NOT NULL CHECK (length(category) <= 100),
    sku                         text        NOT NULL CHECK (length(sku) <= 100),
    version                     integer     NOT NULL CHECK (version >= 1),
    duration_months             integer     NOT NULL CHECK (duration_months BETWEEN 1 AND 600),
    covers_parts                boolean     NOT NULL,
    covers_labour               boolean     NOT NULL,
    covers_shipping             boolean     NOT NULL,
    exclusions                  text[]      NOT NULL,
    remedies                    text[]      NOT NULL CHECK (cardinality(remedies) > 0),
    max_repair_working_days     integer     NOT NULL CHECK (max_repair_working_days BETWEEN 1 AND 365),
    repair_time_extends         boolean     NOT NULL,
    repeat_window_months        integer     NOT NULL CHECK (repeat_window_months BETWEEN 1 AND 600),
    repeat_same_fault_max       integer     NOT NULL CHECK (repeat_same_fault_max BETWEEN 1 AND 100),
    repeat_different_faults_max integer     NOT NULL CHECK (repeat_different_faults_max BETWEEN 1 AND 100),
    repeat_total_faults_max     integer     NOT NULL CHECK (repeat_total_faults_max BETWEEN 1 AND 100),
    first_response_hours        integer     NOT NULL CHECK (first_response_hours BETWEEN 1 AND 720),
    created_at                  timestamptz NOT NULL,
    PRIMARY KEY (category, sku, version),
    CHECK (sku = '' OR category <> '')
);
-- The consumer minimum in Turkey: 24 months, every remedy, 20 working days
-- of repair at most.
INSERT INTO warranty.terms VALUES
    ('', '', 1, 24, true, true, true, '{physical_damage,liquid,misuse,unauthorised_repair}',
     '{repair,replacement,price_reduction,refund}', 20, true, 12, 2, 4, 6, 24, now());

-- Business calendars per country: working weekdays (ISO, 1 = Monday) and
-- public holidays, in the country's time zone. One is the default, whose
-- zone order registrations take.
CREATE TABLE warranty.calendars (
    country_code     text        PRIMARY KEY CHECK (country_code ~ '^[A-Z]{2}$'),
    time_zone        text        NOT NULL CHECK (length(time_zone) BETWEEN 1 AND 64),
    working_weekdays integer[]   NOT NULL CHECK (working_weekdays <@ '{1,2,3,4,5,6,7}'),
    holidays         date[]      NOT NULL CHECK (cardinality(holidays) <= 400),
    is_default       boolean     NOT NULL DEFAULT false,
    updated_at       timestamptz NOT NULL
);
CREATE UNIQUE INDEX calendars_one_default ON warranty.calendars (is_default) WHERE is_default;
INSERT INTO warranty.calendars VALUES
    ('TR', 'Europe/Istanbul', '{1,2,3,4,5}',
     '{2026-01-01,2026-03-20,2026-04-23,2026-05-01,2026-05-19,2026-05-27,2026-05-28,2026-05-29,2026-07-15,2026-10-29,
       2027-01-01,2027-03-10,2027-03-11,2027-04-23,2027-05-01,2027-05-17,2027-05-18,2027-05-19,2027-07-15,2027-10-29}',
     true, now());

-- Order lines as order events told them (this service never reads the
-- orders schema).
CREATE TABLE warranty.order_lines (
    order_id      text        NOT NULL,
    line_id       text        NOT NULL,
    customer_id   text        NOT NULL,
    sku           text        NOT NULL,
    product_name  text        NOT NULL,
    category      text        NOT NULL,
    quantity      integer     NOT NULL CHECK (quantity >= 1),
    placed_at     timestamptz NOT NULL,
    paid_amount   numeric(20,4) NOT NULL CHECK (paid_amount >= 0),
    currency_code text        NOT NULL CHECK (currency_code ~ '^[A-Z]{3}$'),
    -- An extended-warranty plan: the line it extends.
    extends_line_id text,
    serial_numbers text[]     NOT NULL DEFAULT '{}',
    PRIMARY KEY (order_id, line_id)
);

CREATE TABLE warranty.registrations (
    registration_id        uuid        PRIMARY KEY,
    customer_id            text        NOT NULL,
    source                 text        NOT NULL CHECK (source IN ('order', 'manual', 'replacement')),
    status                 text        NOT NULL CHECK (status IN ('pending_verification', 'active', 'rejected',
                                                                  'replaced', 'refunded')),
    sku                    text        NOT NULL,
    category               text        NOT NULL,
    product_name           text        NOT NULL,
    serial_number          text,
    -- The serial as compared: letters and digits, upper case.
    serial_key             text,
    order_id               text,
    line_id                text,
    unit                   integer     CHECK (unit >= 1),
    purchased_at           timestamptz NOT NULL,
    proof_of_purchase_ref  text,
    coverage_starts_at     timestamptz NOT NULL,
    terms_category         text        NOT NULL,
    terms_sku              text        NOT NULL,
    terms_version          integer     NOT NULL,
    duration_months        integer     NOT NULL CHECK (duration_months BETWEEN 1 AND 600),
    time_zone              text        NOT NULL,
    repair_extension_days  integer     NOT NULL DEFAULT 0 CHECK (repair_extension_days >= 0),
    -- Months an extended-warranty plan adds after the base warranty.
    extended_months        integer     NOT NULL DEFAULT 0 CHECK (extended_months BETWEEN 0 AND 600),
    verification_note      text        NOT NULL DEFAULT '',
    -- What one unit cost (an order unit's share of its line), when known:
    -- the most a refund or price reduction pays back.
    unit_price             numeric(20,4) CHECK (unit_price >= 0),
    currency_code          text        CHECK (currency_code ~ '^[A-Z]{3}$'),
    -- A replacement unit continues the coverage of the one it replaced.
    replaces               uuid        REFERENCES warranty.registrations (registration_id),
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    CHECK ((unit_price IS NULL) = (currency_code IS NULL)),
    FOREIGN KEY (terms_category, terms_sku, terms_version) REFERENCES warranty.terms (category, sku, version),
    CHECK ((source = 'order') = (unit IS NOT NULL)),
    CHECK (source <> 'order' OR (order_id IS NOT NULL AND line_id IS NOT NULL)),
    CHECK ((serial_number IS NULL) = (serial_key IS NULL) AND serial_key <> ''),
    CHECK (source <> 'manual' OR (serial_number IS NOT NULL AND proof_of_purchase_ref IS NOT NULL)),
    CHECK ((source = 'replacement') = (replaces IS NOT NULL AND serial_number IS NOT NULL))
);
-- A serial number is registered once (a rejected registration frees it for
-- its real owner); an order line's unit once.
CREATE UNIQUE INDEX registrations_serial_key ON warranty.registrations (serial_key)
    WHERE serial_key IS NOT NULL AND status <> 'rejected';
CREATE UNIQUE INDEX registrations_order_unit_key ON warranty.registrations (order_id, line_id, unit)
    WHERE source = 'order';
CREATE INDEX registrations_customer_idx ON warranty.registrations (customer_id, created_at DESC, registration_id DESC);

CREATE TABLE warranty.claims (
    claim_id          uuid        PRIMARY KEY,
    registration_id   uuid        NOT NULL REFERENCES warranty.registrations (registration_id),
    customer_id       text        NOT NULL,
    status            text        NOT NULL CHECK (status IN ('submitted', 'in_review', 'awaiting_customer',
                                                             'approved', 'rejected', 'canceled', 'in_service',
                                                             'resolved', 'closed')),
    fault_category    text        NOT NULL,
    description       text        NOT NULL,
    photo_urls        text[]      NOT NULL,
    channel           text        NOT NULL,
    -- The coverage on the day it was filed.
    coverage_reason   text        NOT NULL,
    covered_through   date,
    offered_remedies  text[]      NOT NULL,
    covers_parts      boolean     NOT NULL,
    covers_labour     boolean     NOT NULL,
    covers_shipping   boolean     NOT NULL,
    remedy            text,
    -- An out-of-warranty repair the customer pays for, after a quote.
    paid_repair       boolean     NOT NULL DEFAULT false,
    -- What earlier failures entitle the customer to instead of a repair.
    entitlement_trigger  text,
    entitlement_remedies text[],
    rejection_reason  text,
    appealed          boolean     NOT NULL DEFAULT false,
    reviewer          text,
    rejected_by       text,
    filed_at          timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    -- Service-level clocks: the targets fixed at filing (before pauses),
    -- the pauses (closed ones summed; every interval in claim_pauses), when
    -- each target was met, and the alarms raised (each once).
    first_response_due timestamptz NOT NULL,
    resolution_due     timestamptz NOT NULL,
    paused_micros      bigint      NOT NULL DEFAULT 0 CHECK (paused_micros >= 0),
    paused_since       timestamptz,
    first_response_at  timestamptz,
    resolved_at        timestamptz,
    alarms_sent        text[]      NOT NULL DEFAULT '{}',
    -- When the job next has something to raise (NULL: nothing), and the
    -- earliest target still to meet (the queue's order): both kept by every
    -- write, so neither the job nor the queue reads a closed claim.
    next_alarm_at      timestamptz,
    next_due_at        timestamptz,
    CHECK (status NOT IN ('approved', 'in_service', 'resolved', 'closed') OR remedy IS NOT NULL),
    CHECK (remedy IS NULL OR coverage_reason = 'covered' OR (paid_repair AND remedy = 'repair'))
);
CREATE INDEX claims_customer_idx ON warranty.claims (customer_id, filed_at DESC, claim_id DESC);
CREATE INDEX claims_queue_idx ON warranty.claims (status, filed_at DESC, claim_id DESC);
CREATE INDEX claims_alarm_idx ON warranty.claims (next_alarm_at) WHERE next_alarm_at IS NOT NULL;
CREATE INDEX claims_due_idx ON warranty.claims (next_due_at, claim_id) WHERE next_due_at IS NOT NULL;

-- Every time a claim's clocks stopped (waiting for the customer).
CREATE TABLE warranty.claim_pauses (
    id          bigserial   PRIMARY KEY,
    claim_id    uuid        NOT NULL REFERENCES warranty.claims (claim_id),
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz NOT NULL CHECK (ended_at >= started_at)
);
CREATE INDEX claim_pauses_claim_idx ON warranty.claim_pauses (claim_id);
CREATE INDEX claims_registration_idx ON warranty.claims (registration_id);

CREATE TABLE warranty.claim_timeline (
    id               bigserial   PRIMARY KEY,
    claim_id         uuid        NOT NULL REFERENCES warranty.claims (claim_id),
    at               timestamptz NOT NULL,
    status           text,
    text             text        NOT NULL,
    actor_role       text        NOT NULL,
    channel          text,
    customer_visible boolean     NOT NULL
);
CREATE INDEX claim_timeline_claim_idx ON warranty.claim_timeline (claim_id, id);

-- Service centres: the store's workshop and authorised partners (a
-- partner's token subject is its centre id).
CREATE TABLE warranty.service_centres (
    centre_id   text        PRIMARY KEY CHECK (length(centre_id) BETWEEN 1 AND 128),
    name        text        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('internal', 'partner')),
    active      boolean     NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE warranty.service_orders (
    service_order_id  uuid          PRIMARY KEY,
    claim_id          uuid          NOT NULL REFERENCES warranty.claims (claim_id),
    centre_id         text          NOT NULL REFERENCES warranty.service_centres (centre_id),
    status            text          NOT NULL CHECK (status IN ('created', 'received', 'diagnosed', 'quoted',
                                        'quote_accepted', 'quote_declined', 'repaired', 'unrepairable',
                                        'shipped_back')),
    paid              boolean       NOT NULL,
    inbound_tracking  text          NOT NULL,
    diagnosis         text          NOT NULL DEFAULT '',
    parts             text          NOT NULL DEFAULT '',
    labour_minutes    integer       NOT NULL DEFAULT 0 CHECK (labour_minutes >= 0),
    quote_amount      numeric(20,4) CHECK (quote_amount > 0),
    quote_currency    text,
    result_notes      text          NOT NULL DEFAULT '',
    repaired          boolean,
    outbound_carrier  text          NOT NULL DEFAULT '',
    outbound_tracking text          NOT NULL DEFAULT '',
    created_at        timestamptz   NOT NULL,
    received_at       timestamptz,
    shipped_back_at   timestamptz,
    updated_at        timestamptz   NOT NULL,
    CHECK ((quote_amount IS NULL) = (quote_currency IS NULL)),
    CHECK (paid OR quote_amount IS NULL)
);
-- One open service order per claim.
CREATE UNIQUE INDEX service_orders_open_key ON warranty.service_orders (claim_id) WHERE status <> 'shipped_back';
CREATE INDEX service_orders_centre_idx ON warranty.service_orders (centre_id, created_at DESC, service_order_id DESC);

-- Extended-warranty plans the store sells, by SKU (admin).
CREATE TABLE warranty.plans (
    sku               text        PRIMARY KEY CHECK (length(sku) BETWEEN 1 AND 128),
    name              text        NOT NULL,
    months            integer     NOT NULL CHECK (months BETWEEN 1 AND 120),
    cooling_off_days  integer     NOT NULL CHECK (cooling_off_days BETWEEN 0 AND 365),
    active            boolean     NOT NULL,
    updated_at        timestamptz NOT NULL
);

-- A plan sold on an order line, extending another line's units.
CREATE TABLE warranty.extensions (
    extension_id     uuid          PRIMARY KEY,
    order_id         text          NOT NULL,
    plan_line_id     text          NOT NULL,
    extends_line_id  text          NOT NULL,
    customer_id      text          NOT NULL,
    sku              text          NOT NULL,
    months           integer       NOT NULL CHECK (months BETWEEN 1 AND 120),
    price            numeric(20,4) NOT NULL CHECK (price >= 0),
    currency_code    text          NOT NULL CHECK (currency_code ~ '^[A-Z]{3}$'),
    delivered_at     timestamptz   NOT NULL,
    cooling_off_until timestamptz  NOT NULL,
    status           text          NOT NULL CHECK (status IN ('active', 'canceled')),
    canceled_at      timestamptz,
    -- What canceling it pays back, fixed when canceled.
    refund_amount    numeric(20,4) CHECK (refund_amount >= 0),
    created_at       timestamptz   NOT NULL,
    UNIQUE (order_id, plan_line_id),
    CHECK ((status = 'canceled') = (canceled_at IS NOT NULL AND refund_amount IS NOT NULL))
);
CREATE INDEX extensions_line_idx ON warranty.extensions (order_id, extends_line_id);
CREATE INDEX extensions_customer_idx ON warranty.extensions (customer_id);

-- Money paid back on a claim (a refund or a price reduction) or on a
-- canceled plan. One live (pending or succeeded) per claim and per plan,
-- whatever races: a failed one may be issued again.
CREATE TABLE warranty.refunds (
    refund_id          uuid          PRIMARY KEY,
    claim_id           uuid          REFERENCES warranty.claims (claim_id),
    extension_id       uuid          REFERENCES warranty.extensions (extension_id),
    kind               text          NOT NULL CHECK (kind IN ('refund', 'price_reduction', 'plan_cancellation')),
    amount             numeric(20,4) NOT NULL CHECK (amount > 0),
    currency_code      text          NOT NULL CHECK (currency_code ~ '^[A-Z]{3}$'),
    status             text          NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    provider_reference text,
    failure_reason     text,
    created_at         timestamptz   NOT NULL,
    updated_at         timestamptz   NOT NULL,
    CHECK ((claim_id IS NULL) <> (extension_id IS NULL))
);
CREATE UNIQUE INDEX refunds_live_key ON warranty.refunds (claim_id) WHERE status <> 'failed';
CREATE UNIQUE INDEX refunds_live_plan_key ON warranty.refunds (extension_id) WHERE status <> 'failed';

-- Order events from the start, so no delivery is missed before the
-- service first starts.
INSERT INTO platform.outbox_consumers (name, topics)
VALUES ('warranty.orders', '{aftercare.orders.events.v1.OrderRecorded,aftercare.orders.events.v1.OrderDelivered}')
ON CONFLICT (name) DO NOTHING;
