-- Feedback: a survey per resolved case, the customer's answer, follow-ups
-- of unhappy answers, and customers' contact preferences as maintenance
-- announces them (its ContactPreferencesChanged events; never its tables).
CREATE SCHEMA feedback;

-- One row: the admin's settings.
CREATE TABLE feedback.settings (
    id                       boolean     PRIMARY KEY DEFAULT true CHECK (id),
    min_days_between_surveys integer     NOT NULL CHECK (min_days_between_surveys BETWEEN 0 AND 365),
    low_csat                 integer     NOT NULL CHECK (low_csat BETWEEN 0 AND 5),
    low_nps                  integer     NOT NULL CHECK (low_nps BETWEEN -1 AND 10),
    follow_up_hours          integer     NOT NULL CHECK (follow_up_hours BETWEEN 1 AND 720),
    max_goodwill_points      bigint      NOT NULL CHECK (max_goodwill_points BETWEEN 0 AND 1000000),
    answer_days              integer     NOT NULL CHECK (answer_days BETWEEN 1 AND 90),
    updated_at               timestamptz NOT NULL
);
INSERT INTO feedback.settings (min_days_between_surveys, low_csat, low_nps, follow_up_hours,
                               max_goodwill_points, answer_days, updated_at)
VALUES (30, 2, 6, 24, 1000, 30, now());

-- The key survey links are signed with: random, made once, shared by
-- every replica.
CREATE TABLE feedback.link_key (
    id     boolean PRIMARY KEY DEFAULT true CHECK (id),
    secret bytea   NOT NULL CHECK (length(secret) = 32)
);
INSERT INTO feedback.link_key (secret)
VALUES (sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text || clock_timestamp()::text, 'UTF8')));

-- Contact preferences as last announced; no row: maintenance's defaults.
CREATE TABLE feedback.contacts (
    customer_id     text        PRIMARY KEY CHECK (length(customer_id) BETWEEN 1 AND 128),
    time_zone       text        NOT NULL CHECK (length(time_zone) <= 64),
    quiet_start     time        NOT NULL,
    quiet_end       time        NOT NULL,
    preferred_start time,
    preferred_end   time,
    channels        text[]      NOT NULL,
    opted_out       boolean     NOT NULL,
    locale          text        NOT NULL CHECK (length(locale) <= 35),
    -- When maintenance saved it.
    updated_at      timestamptz NOT NULL,
    CHECK ((preferred_start IS NULL) = (preferred_end IS NULL))
);
-- The preferences saved before this schema existed, copied once as it is
-- made (their events were written before feedback listened); from here on
-- maintenance's events keep them.
INSERT INTO feedback.contacts (customer_id, time_zone, quiet_start, quiet_end, preferred_start, preferred_end,
                               channels, opted_out, locale, updated_at)
SELECT customer_id, time_zone, quiet_start, quiet_end, preferred_start, preferred_end,
       channels, opted_out, locale, updated_at
  FROM maintenance.preferences;

-- A customer's last survey sent or scheduled: the row two cases resolved
-- at once lock, so "one survey per N days" holds across replicas.
CREATE TABLE feedback.customers (
    customer_id    text        PRIMARY KEY CHECK (length(customer_id) BETWEEN 1 AND 128),
    last_survey_at timestamptz
);

CREATE TABLE feedback.surveys (
    survey_id         uuid        PRIMARY KEY,
    customer_id       text        NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 128),
    case_type         text        NOT NULL CHECK (case_type IN ('return', 'claim', 'maintenance')),
    case_id           text        NOT NULL CHECK (length(case_id) BETWEEN 1 AND 200),
    -- The case's reason (a return reason, a claim's fault category) and
    -- the agent who handled it, for the figures.
    reason            text        NOT NULL CHECK (length(reason) <= 100),
    agent             text        NOT NULL CHECK (length(agent) <= 128),
    status            text        NOT NULL CHECK (status IN ('scheduled', 'sent', 'answered', 'suppressed')),
    suppressed_reason text        CHECK (suppressed_reason IN ('OPTED_OUT', 'RECENT_SURVEY')),
    created_at        timestamptz NOT NULL,
    send_at           timestamptz,
    sent_at           timestamptz,
    expires_at        timestamptz NOT NULL,
    csat              integer     CHECK (csat BETWEEN 1 AND 5),
    nps               integer     CHECK (nps BETWEEN 0 AND 10),
    comment           text        NOT NULL DEFAULT '' CHECK (length(comment) <= 2000),
    comment_deleted   boolean     NOT NULL DEFAULT false,
    answer_channel    text        NOT NULL DEFAULT '' CHECK (length(answer_channel) <= 20),
    answered_at       timestamptz,
    answer_updated_at timestamptz,
    -- One survey per case, whatever repeats its event.
    UNIQUE (case_type, case_id),
    CHECK ((status = 'answered') = (csat IS NOT NULL)),
    CHECK ((status = 'suppressed') = (suppressed_reason IS NOT NULL)),
    CHECK (status NOT IN ('sent', 'answered') OR sent_at IS NOT NULL)
);
-- The send job's scan: scheduled surveys only.
CREATE INDEX surveys_due_idx ON feedback.surveys (send_at) WHERE status = 'scheduled';
CREATE INDEX surveys_customer_idx ON feedback.surveys (customer_id, created_at DESC, survey_id DESC);
CREATE INDEX surveys_created_idx ON feedback.surveys (created_at);

CREATE TABLE feedback.follow_ups (
    follow_up_id    uuid        PRIMARY KEY,
    -- One per survey.
    survey_id       uuid        NOT NULL UNIQUE REFERENCES feedback.surveys (survey_id),
    customer_id     text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('open', 'closed')),
    csat            integer     NOT NULL CHECK (csat BETWEEN 1 AND 5),
    nps             integer     CHECK (nps BETWEEN 0 AND 10),
    opened_at       timestamptz NOT NULL,
    respond_by      timestamptz NOT NULL,
    breached        boolean     NOT NULL DEFAULT false,
    closed_at       timestamptz,
    closed_by       text        CHECK (length(closed_by) <= 200),
    note            text        NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    goodwill_points bigint      NOT NULL DEFAULT 0 CHECK (goodwill_points BETWEEN 0 AND 1000000),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
CREATE INDEX follow_ups_open_idx ON feedback.follow_ups (respond_by, follow_up_id) WHERE status = 'open';
-- The breach job's scan: open follow-ups not yet breached.
CREATE INDEX follow_ups_alarm_idx ON feedback.follow_ups (respond_by) WHERE status = 'open' AND NOT breached;
CREATE INDEX follow_ups_closed_idx ON feedback.follow_ups (closed_at DESC, follow_up_id DESC) WHERE status = 'closed';

-- Subscribed from the start, so no resolved case is missed before the
-- service first runs.
INSERT INTO platform.outbox_consumers (name, topics)
VALUES ('feedback.cases', '{aftercare.returns.events.v1.ReturnCompleted,aftercare.returns.events.v1.ReturnCanceled,aftercare.warranty.events.v1.ClaimResolved,aftercare.maintenance.events.v1.MaintenanceCompleted}'),
       ('feedback.contacts', '{aftercare.maintenance.events.v1.ContactPreferencesChanged}'),
       ('loyalty.feedback', '{aftercare.feedback.events.v1.GoodwillRequested}')
ON CONFLICT (name) DO NOTHING;
