-- Survey campaigns: a bonus for a feedback survey answered while one runs,
-- credited once per survey from feedback's FeedbackSubmitted events.
ALTER TABLE loyalty.campaigns DROP CONSTRAINT campaigns_trigger_check;
ALTER TABLE loyalty.campaigns
    ADD CONSTRAINT campaigns_trigger_check CHECK (trigger IN ('order', 'first_order', 'survey'));

INSERT INTO platform.outbox_consumers (name, topics)
VALUES ('loyalty.surveys', '{aftercare.feedback.events.v1.FeedbackSubmitted}')
ON CONFLICT (name) DO NOTHING;
