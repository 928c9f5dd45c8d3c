//! Centres, slots and visits: requests into the domain.

use aftercare_kernel::{DateTime, Datelike, Duration, Utc, Violations, validate, zone};
use aftercare_platform::error::Error;
use aftercare_platform::wire::from_timestamp;
use aftercare_proto::maintenance as pb;
use prost_types::Timestamp;

use super::{MAX_NAME_LEN, hour};
use crate::app::appointments::Target;
use crate::domain::{AppointmentId, Centre, Opening, ScheduleId};

/// The longest span ListSlots answers for.
pub const MAX_SLOT_DAYS: i64 = 31;
const MAX_OPENINGS: usize = 70;

pub fn appointment_id(value: &str) -> Result<AppointmentId, Error> {
    match value {
        "" => Err(Error::invalid("appointment_id", "is required")),
        id => AppointmentId::parse(id).ok_or_else(|| Error::invalid("appointment_id", "is not a valid id")),
    }
}

/// What a visit is booked for: a schedule's occurrence or a claim, one.
pub fn target(v: &mut Violations, schedule_id: &str, claim_id: &str) -> Option<Target> {
    match (schedule_id, claim_id) {
        ("", "") => {
            v.add("schedule_id", "one of schedule_id and claim_id is required");
            None
        }
        (_, "") => super::id(v, "schedule_id", schedule_id, ScheduleId::parse).map(Target::Schedule),
        // Warranty's claim ids are UUIDs, kept in their canonical form.
        ("", _) => super::id(v, "claim_id", claim_id, |s| uuid::Uuid::parse_str(s).ok())
            .map(|id| Target::Claim(id.to_string())),
        _ => {
            v.add("claim_id", "give schedule_id or claim_id, not both");
            None
        }
    }
}

pub fn centre_id(v: &mut Violations, field: &str, value: &str) {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !ok {
        v.add(field, "must be 1-64 lower-case letters, digits, '-' or '_'");
    }
}

/// An instant in 2000-2200: later arithmetic on it cannot overflow.
pub fn instant(v: &mut Violations, field: &str, ts: Option<&Timestamp>) -> Option<DateTime<Utc>> {
    v.take(
        field,
        ts.ok_or("is required")
            .and_then(|t| from_timestamp(t).ok_or("is not a valid timestamp"))
            .and_then(|t| {
                if (2000..=2200).contains(&t.year()) {
                    Ok(t)
                } else {
                    Err("must be in the years 2000-2200")
                }
            }),
    )
}

/// A span of at most [`MAX_SLOT_DAYS`], `from` before `to`.
pub fn span(from: Option<&Timestamp>, to: Option<&Timestamp>) -> Result<(DateTime<Utc>, DateTime<Utc>), Error> {
    let mut v = Violations::new();
    let from = instant(&mut v, "from", from);
    let to = instant(&mut v, "to", to);
    if let (Some(f), Some(t)) = (from, to)
        && (t <= f || t - f > Duration::days(MAX_SLOT_DAYS))
    {
        v.add("to", format!("must be after from, by {MAX_SLOT_DAYS} days at most"));
    }
    v.finish()?;
    from.zip(to).ok_or_else(|| Error::invalid("from", "is required"))
}

fn in_range(v: &mut Violations, field: &str, value: i32, range: std::ops::RangeInclusive<i32>) -> u32 {
    if !range.contains(&value) {
        v.add(field, format!("must be {} to {}", range.start(), range.end()));
    }
    value.unsigned_abs()
}

pub fn centre(c: Option<&pb::Centre>) -> Result<Centre, Error> {
    let c = c.ok_or_else(|| Error::invalid("centre", "is required"))?;
    let mut v = Violations::new();
    centre_id(&mut v, "centre.centre_id", &c.centre_id);
    validate::required_text(&mut v, "centre.name", &c.name, MAX_NAME_LEN);
    let time_zone = v.take(
        "centre.time_zone",
        zone::parse(&c.time_zone).ok_or("must be an IANA time zone such as \"Europe/Istanbul\""),
    );
    let slot_minutes = in_range(&mut v, "centre.slot_minutes", c.slot_minutes, 15..=480);
    let capacity = in_range(&mut v, "centre.capacity", c.capacity, 1..=1000);
    let cancel_cutoff_hours = in_range(&mut v, "centre.cancel_cutoff_hours", c.cancel_cutoff_hours, 0..=168);
    if c.opening.len() > MAX_OPENINGS {
        v.add("centre.opening", format!("at most {MAX_OPENINGS} spans"));
    }
    let mut opening: Vec<Opening> = Vec::new();
    for (i, o) in c.opening.iter().enumerate().take(MAX_OPENINGS) {
        let f = |name: &str| format!("centre.opening[{i}].{name}");
        let weekday = in_range(&mut v, &f("weekday"), o.weekday, 1..=7);
        let open = hour(&mut v, &f("open"), &o.open);
        let close = hour(&mut v, &f("close"), &o.close);
        let (Some(open), Some(close)) = (open, close) else {
            continue;
        };
        if close <= open {
            v.add(f("close"), "must be after open");
            continue;
        }
        let span = Opening { weekday, open, close };
        if opening
            .iter()
            .any(|p| p.weekday == span.weekday && p.open < span.close && span.open < p.close)
        {
            v.add(f("open"), "overlaps another span of the same weekday");
            continue;
        }
        opening.push(span);
    }
    v.finish()?;
    Ok(Centre {
        centre_id: c.centre_id.clone(),
        name: c.name.clone(),
        time_zone: time_zone.ok_or_else(|| Error::invalid("centre.time_zone", "is required"))?,
        opening,
        slot_minutes,
        capacity,
        cancel_cutoff_hours,
        updated_at: DateTime::UNIX_EPOCH,
    })
}
