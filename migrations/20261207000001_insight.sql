-- Service insight: a read model fed by every service's events, never their
-- tables. Every row is keyed by what it is about, so an event delivered
-- twice, or the whole history replayed (a rebuild), changes nothing more.
CREATE SCHEMA insight;

CREATE TABLE insight.order_lines (
    order_id  text        NOT NULL,
    line_id   text        NOT NULL,
    category  text        NOT NULL,
    quantity  integer     NOT NULL,
    placed_at timestamptz NOT NULL,
    PRIMARY KEY (order_id, line_id)
);
CREATE INDEX order_lines_placed_idx ON insight.order_lines (placed_at);

CREATE TABLE insight.returns (
    return_id         text        PRIMARY KEY,
    order_id          text        NOT NULL,
    channel           text        NOT NULL,
    requested_at      timestamptz NOT NULL,
    first_response_at timestamptz,
    resolved_at       timestamptz,
    -- 'completed', 'rejected' or 'canceled' once over.
    outcome           text
);
CREATE INDEX returns_requested_idx ON insight.returns (requested_at);

CREATE TABLE insight.return_lines (
    return_id text    NOT NULL,
    line_id   text    NOT NULL,
    quantity  integer NOT NULL,
    reason    text    NOT NULL,
    PRIMARY KEY (return_id, line_id)
);

CREATE TABLE insight.registrations (
    registration_id text PRIMARY KEY,
    sku             text NOT NULL
);

CREATE TABLE insight.claims (
    claim_id                text        PRIMARY KEY,
    registration_id         text        NOT NULL,
    channel                 text        NOT NULL,
    fault_category          text        NOT NULL,
    filed_at                timestamptz NOT NULL,
    first_response_at       timestamptz,
    resolved_at             timestamptz,
    paused_micros           bigint      NOT NULL DEFAULT 0,
    first_response_breached boolean     NOT NULL DEFAULT false,
    resolution_breached     boolean     NOT NULL DEFAULT false
);
CREATE INDEX claims_filed_idx ON insight.claims (filed_at);

CREATE TABLE insight.follow_up_breaches (
    follow_up_id text        PRIMARY KEY,
    breached_at  timestamptz NOT NULL
);
CREATE INDEX follow_up_breaches_at_idx ON insight.follow_up_breaches (breached_at);

-- A survey's latest answer.
CREATE TABLE insight.answers (
    survey_id         text        PRIMARY KEY,
    csat              integer     NOT NULL,
    nps               integer,
    survey_created_at timestamptz NOT NULL,
    -- The answer's event's place in the outbox: the latest wins.
    seq               bigint      NOT NULL
);
CREATE INDEX answers_created_idx ON insight.answers (survey_created_at);

CREATE TABLE insight.refunds (
    refund_id     text        PRIMARY KEY,
    currency      text        NOT NULL,
    amount        numeric     NOT NULL,
    succeeded_at  timestamptz NOT NULL
);
CREATE INDEX refunds_at_idx ON insight.refunds (succeeded_at);

CREATE TABLE insight.points (
    entry_id text        PRIMARY KEY,
    kind     text        NOT NULL CHECK (kind IN ('issued', 'redeemed')),
    points   bigint      NOT NULL,
    at       timestamptz NOT NULL
);
CREATE INDEX points_at_idx ON insight.points (at);

INSERT INTO platform.outbox_consumers (name, topics)
VALUES ('insight.events', '{aftercare.orders.events.v1.OrderRecorded,aftercare.returns.events.v1.ReturnRequested,aftercare.returns.events.v1.ReturnApproved,aftercare.returns.events.v1.ReturnRejected,aftercare.returns.events.v1.ReturnCanceled,aftercare.returns.events.v1.ReturnCompleted,aftercare.returns.events.v1.RefundSucceeded,aftercare.warranty.events.v1.ProductRegistered,aftercare.warranty.events.v1.ClaimFiled,aftercare.warranty.events.v1.ClaimStatusChanged,aftercare.warranty.events.v1.ClaimResponded,aftercare.warranty.events.v1.ClaimSlaBreached,aftercare.feedback.events.v1.FeedbackSubmitted,aftercare.feedback.events.v1.FollowUpSlaBreached,aftercare.loyalty.events.v1.PointsEarned,aftercare.loyalty.events.v1.PointsRedeemed,aftercare.loyalty.events.v1.RewardRedeemed}')
ON CONFLICT (name) DO NOTHING;
