//! Domain to wire. The app decides who sees a survey (its customer and
//! staff); they all see the same message, answer and comment included.

use aftercare_platform::wire::{channel_to_proto, timestamp};
use aftercare_proto::feedback as pb;

use crate::app::answers::Shown;
use crate::app::figures::Summary;
use crate::domain::figures::{Counts, text};
use crate::domain::{FollowUp, FollowUpStatus, Settings, Survey, SurveyStatus};
use crate::wire::case_type;

fn status(s: SurveyStatus) -> i32 {
    match s {
        SurveyStatus::Scheduled => pb::SurveyStatus::Scheduled,
        SurveyStatus::Sent => pb::SurveyStatus::Sent,
        SurveyStatus::Answered => pb::SurveyStatus::Answered,
        SurveyStatus::Suppressed => pb::SurveyStatus::Suppressed,
    }
    .into()
}

pub fn follow_up_status(s: FollowUpStatus) -> i32 {
    match s {
        FollowUpStatus::Open => pb::FollowUpStatus::Open,
        FollowUpStatus::Closed => pb::FollowUpStatus::Closed,
    }
    .into()
}

pub fn survey(s: &Survey, follow_up: Option<String>) -> pb::Survey {
    pb::Survey {
        survey_id: s.survey_id.to_string(),
        customer_id: s.case.customer_id.clone(),
        case_type: case_type(s.case.case_type),
        case_id: s.case.case_id.clone(),
        status: status(s.status),
        suppressed_reason: s.suppressed.map(|r| r.as_str().to_owned()).unwrap_or_default(),
        created_at: Some(timestamp(s.created_at)),
        send_at: s.send_at.map(timestamp),
        expires_at: Some(timestamp(s.expires_at)),
        answer: s.answer.as_ref().map(|a| pb::Answer {
            csat: a.csat,
            nps: a.nps,
            comment: a.comment.clone(),
            comment_deleted: a.comment_deleted,
            channel: a.channel.map_or(0, channel_to_proto),
            answered_at: Some(timestamp(a.answered_at)),
            updated_at: Some(timestamp(a.updated_at)),
            follow_up_id: follow_up.unwrap_or_default(),
        }),
    }
}

pub fn shown(s: &Shown) -> pb::Survey {
    survey(&s.survey, s.follow_up.map(|f| f.to_string()))
}

pub fn follow_up(f: &FollowUp) -> pb::FollowUp {
    pb::FollowUp {
        follow_up_id: f.follow_up_id.to_string(),
        survey_id: f.survey.survey_id.to_string(),
        customer_id: f.survey.case.customer_id.clone(),
        case_type: case_type(f.survey.case.case_type),
        case_id: f.survey.case.case_id.clone(),
        status: follow_up_status(f.status),
        csat: f.csat,
        nps: f.nps,
        // As it is now: a comment the customer deleted is gone here too.
        comment: f.survey.answer.as_ref().map(|a| a.comment.clone()).unwrap_or_default(),
        opened_at: Some(timestamp(f.opened_at)),
        respond_by: Some(timestamp(f.respond_by)),
        breached: f.breached,
        closed_at: f.closed_at.map(timestamp),
        closed_by: f.closed_by.clone().unwrap_or_default(),
        note: f.note.clone(),
        goodwill_points: f.goodwill_points,
    }
}

pub fn settings(s: &Settings) -> pb::FeedbackSettings {
    pb::FeedbackSettings {
        min_days_between_surveys: s.min_days_between_surveys,
        low_csat: s.low_csat,
        low_nps: s.low_nps,
        follow_up_hours: s.follow_up_hours,
        max_goodwill_points: s.max_goodwill_points,
        answer_days: s.answer_days,
        updated_at: s.updated_at.map(timestamp),
    }
}

fn csat_percent(c: &Counts) -> String {
    text(c.figures().csat_percent)
}

pub fn summary(s: &Summary) -> pb::FeedbackSummary {
    let f = s.total.figures();
    pb::FeedbackSummary {
        sent: s.total.sent,
        answered: s.total.answered,
        response_rate: text(f.response_rate),
        csat_percent: text(f.csat_percent),
        csat_average: text(f.csat_average),
        nps: text(f.nps),
        nps_answers: f.nps_answers,
        csat_distribution: s
            .total
            .csat
            .iter()
            .zip(1..)
            .map(|(count, score)| pb::ScoreCount { score, count: *count })
            .collect(),
        weeks: s
            .weeks
            .iter()
            .map(|(week, c)| pb::WeekFigures {
                week: week.to_string(),
                answers: c.csat_answers(),
                csat_percent: csat_percent(c),
            })
            .collect(),
        agents: s
            .agents
            .iter()
            .map(|(agent, c)| pb::AgentFigures {
                agent: agent.clone(),
                answers: c.csat_answers(),
                csat_percent: csat_percent(c),
                csat_average: text(c.figures().csat_average),
            })
            .collect(),
    }
}
