//! Requests into the domain: every field checked, every bad one named.

use aftercare_kernel::channel::Channel;
use aftercare_kernel::{DateTime, Utc, Violations, validate};
use aftercare_platform::error::Error;
use aftercare_platform::wire::{channel_from_proto, from_timestamp};
use aftercare_proto::feedback as pb;

use crate::app::figures::Query;
use crate::domain::follow_up::Closing;
use crate::domain::survey::{Given, MAX_COMMENT};
use crate::domain::{FollowUpId, FollowUpStatus, Settings, SurveyId};
use crate::wire::case_type_from_proto;

/// Customer ids and request ids, as elsewhere.
const MAX_ID_LEN: usize = 128;
const MAX_NOTE: usize = 2000;
const MAX_REASON: usize = 100;
/// A link token is about 80 characters; anything much longer is not one.
const MAX_LINK_TOKEN: usize = 128;

fn uuid_id<T>(field: &str, value: &str, parse: fn(&str) -> Option<T>) -> Result<T, Error> {
    match value {
        "" => Err(Error::invalid(field, "is required")),
        id => parse(id).ok_or_else(|| Error::invalid(field, "is not a valid id")),
    }
}

pub fn survey_id(value: &str) -> Result<SurveyId, Error> {
    uuid_id("survey_id", value, SurveyId::parse)
}

pub fn follow_up_id(value: &str) -> Result<FollowUpId, Error> {
    uuid_id("follow_up_id", value, FollowUpId::parse)
}

pub fn customer_id(value: &str) -> Result<(), Error> {
    let mut v = Violations::new();
    validate::id(&mut v, "customer_id", value, MAX_ID_LEN);
    Ok(v.finish()?)
}

/// An enum value the contract does not define is refused, not ignored.
fn channel(v: &mut Violations, value: i32) -> Option<Channel> {
    match value {
        0 => None,
        c => v.take("channel", channel_from_proto(c).ok_or("is not a known channel")),
    }
}

pub fn submission(r: &pb::SubmitFeedbackRequest) -> Result<(SurveyId, Given), Error> {
    let mut v = Violations::new();
    let id = v.take(
        "survey_id",
        survey_id(&r.survey_id).map_err(|_| "is required and must be a valid id"),
    );
    if !(1..=5).contains(&r.csat) {
        v.add("csat", "must be 1 to 5");
    }
    if r.nps.is_some_and(|n| !(0..=10).contains(&n)) {
        v.add("nps", "must be 0 to 10, or absent");
    }
    validate::text(&mut v, "comment", &r.comment, MAX_COMMENT);
    let channel = channel(&mut v, r.channel);
    if r.link_token.len() > MAX_LINK_TOKEN {
        v.add("link_token", "is not a survey link's token");
    }
    let given = Given {
        csat: r.csat,
        nps: r.nps,
        comment: r.comment.clone(),
        channel,
    };
    Ok((v.finish_with(id)?, given))
}

pub fn closing(r: &pb::CloseFollowUpRequest) -> Result<(FollowUpId, Closing), Error> {
    let mut v = Violations::new();
    let id = v.take(
        "follow_up_id",
        follow_up_id(&r.follow_up_id).map_err(|_| "is required and must be a valid id"),
    );
    validate::required_text(&mut v, "note", &r.note, MAX_NOTE);
    if r.goodwill_points < 0 {
        v.add("goodwill_points", "must not be negative");
    }
    validate::id(&mut v, "request_id", &r.request_id, MAX_ID_LEN);
    let closing = Closing {
        note: r.note.clone(),
        goodwill_points: r.goodwill_points,
    };
    Ok((v.finish_with(id)?, closing))
}

pub fn follow_up_status(value: i32) -> Result<FollowUpStatus, Error> {
    match pb::FollowUpStatus::try_from(value) {
        Ok(pb::FollowUpStatus::Unspecified | pb::FollowUpStatus::Open) => Ok(FollowUpStatus::Open),
        Ok(pb::FollowUpStatus::Closed) => Ok(FollowUpStatus::Closed),
        Err(_) => Err(Error::invalid("status", "is not a known follow-up status")),
    }
}

fn time(v: &mut Violations, field: &str, ts: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    match ts {
        None => {
            v.add(field, "is required");
            None
        }
        Some(ts) => v.take(field, from_timestamp(ts).ok_or("is not a valid time")),
    }
}

pub fn summary(r: &pb::GetFeedbackSummaryRequest) -> Result<Query, Error> {
    let mut v = Violations::new();
    let from = time(&mut v, "from", r.from.as_ref());
    let to = time(&mut v, "to", r.to.as_ref());
    let case_type = match r.case_type {
        0 => None,
        c => v.take("case_type", case_type_from_proto(c).ok_or("is not a known case type")),
    };
    let channel = channel(&mut v, r.channel);
    validate::text(&mut v, "reason", &r.reason, MAX_REASON);
    let query = from.zip(to).map(|(from, to)| Query {
        from,
        to,
        case_type,
        channel: channel.map(|c| c.as_str().to_owned()),
        reason: (!r.reason.is_empty()).then(|| r.reason.clone()),
    });
    let query = v.finish_with(query)?;
    let mut v = Violations::new();
    query.check(&mut v);
    v.finish()?;
    Ok(query)
}

pub fn settings(s: Option<&pb::FeedbackSettings>) -> Result<Settings, Error> {
    let s = s.ok_or_else(|| Error::invalid("settings", "is required"))?;
    let settings = Settings {
        min_days_between_surveys: s.min_days_between_surveys,
        low_csat: s.low_csat,
        low_nps: s.low_nps,
        follow_up_hours: s.follow_up_hours,
        max_goodwill_points: s.max_goodwill_points,
        answer_days: s.answer_days,
        updated_at: None,
    };
    let mut v = Violations::new();
    settings.check(&mut v);
    v.finish()?;
    Ok(settings)
}
