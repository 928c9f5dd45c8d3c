//! The events feedback emits (`aftercare.feedback.events.v1`).

use aftercare_platform::wire::{channel_to_proto, timestamp};
use aftercare_proto::feedback_events as pb;

use crate::domain::{Contact, FollowUp, Survey};
use crate::wire::case_type;

pub fn survey_requested(s: &Survey, contact: &Contact) -> pb::SurveyRequested {
    pb::SurveyRequested {
        survey_id: s.survey_id.to_string(),
        customer_id: s.case.customer_id.clone(),
        case_type: case_type(s.case.case_type),
        case_id: s.case.case_id.clone(),
        expires_at: Some(timestamp(s.expires_at)),
        channels: contact.channels.clone(),
        locale: contact.locale.clone(),
    }
}

pub fn feedback_submitted(s: &Survey, changed: bool) -> pb::FeedbackSubmitted {
    let a = s.answer.as_ref();
    pb::FeedbackSubmitted {
        survey_id: s.survey_id.to_string(),
        customer_id: s.case.customer_id.clone(),
        case_type: case_type(s.case.case_type),
        case_id: s.case.case_id.clone(),
        csat: a.map_or(0, |a| a.csat),
        nps: a.and_then(|a| a.nps),
        channel: a.and_then(|a| a.channel).map_or(0, channel_to_proto),
        answered_at: a.map(|a| timestamp(a.answered_at)),
        survey_created_at: Some(timestamp(s.created_at)),
        changed,
    }
}

pub fn follow_up_opened(f: &FollowUp) -> pb::FollowUpOpened {
    pb::FollowUpOpened {
        follow_up_id: f.follow_up_id.to_string(),
        survey_id: f.survey.survey_id.to_string(),
        customer_id: f.survey.case.customer_id.clone(),
        respond_by: Some(timestamp(f.respond_by)),
    }
}

pub fn follow_up_breached(f: &FollowUp) -> pb::FollowUpSlaBreached {
    pb::FollowUpSlaBreached {
        follow_up_id: f.follow_up_id.to_string(),
        customer_id: f.survey.case.customer_id.clone(),
        respond_by: Some(timestamp(f.respond_by)),
    }
}

pub fn follow_up_closed(f: &FollowUp) -> pb::FollowUpClosed {
    pb::FollowUpClosed {
        follow_up_id: f.follow_up_id.to_string(),
        customer_id: f.survey.case.customer_id.clone(),
        closed_by: f.closed_by.clone().unwrap_or_default(),
        goodwill_points: f.goodwill_points,
        closed_at: f.closed_at.map(timestamp),
    }
}

pub fn goodwill_requested(f: &FollowUp) -> pb::GoodwillRequested {
    pb::GoodwillRequested {
        follow_up_id: f.follow_up_id.to_string(),
        customer_id: f.survey.case.customer_id.clone(),
        points: f.goodwill_points,
        reason: format!("feedback follow-up {}", f.follow_up_id),
    }
}
