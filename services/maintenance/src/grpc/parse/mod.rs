//! Requests into the domain: every field checked, every bad one named.
//! Centres and visits are in [`appointments`].

pub mod appointments;

use aftercare_kernel::zone;
use aftercare_kernel::{NaiveDate, NaiveTime, Violations, validate};
use aftercare_platform::error::Error;
use aftercare_proto::maintenance as pb;

use crate::app::usage::Reading;
use crate::domain::{
    Anchor, ContactHours, DailySpan, Interval, MAX_ID_LEN, MAX_NOTE_LEN, Plan, ReminderId, ReminderRule, ScheduleId,
    Task,
};
use crate::domain::{Usage, UsageThreshold, message};
use crate::store::preferences::Preferences;

/// Plans and tasks are few and admin-written; this bounds a request.
const MAX_TASKS: usize = 20;
const MAX_KEY_LEN: usize = 100;
pub(super) const MAX_NAME_LEN: usize = 200;
const CHANNELS: [&str; 3] = ["push", "email", "sms"];
const MAX_MUTED: usize = 100;

/// An id field among others: "is required" when empty, else parsed.
pub fn id<T>(v: &mut Violations, field: &str, value: &str, parse: fn(&str) -> Option<T>) -> Option<T> {
    let parsed = match value {
        "" => Err("is required"),
        id => parse(id).ok_or("is not a valid id"),
    };
    v.take(field, parsed)
}

pub fn schedule_id(value: &str) -> Result<ScheduleId, Error> {
    match value {
        "" => Err(Error::invalid("schedule_id", "is required")),
        id => ScheduleId::parse(id).ok_or_else(|| Error::invalid("schedule_id", "is not a valid id")),
    }
}

pub fn customer(v: &mut Violations, value: &str) {
    validate::id(v, "customer_id", value, MAX_ID_LEN);
}

fn task(v: &mut Violations, i: usize, t: &pb::MaintenanceTask) -> Option<Task> {
    let f = |name: &str| format!("plan.tasks[{i}].{name}");
    if !task_id_ok(&t.task_id) {
        v.add(f("task_id"), "must be 1-64 lower-case letters, digits, '-' or '_'");
    }
    validate::required_text(v, &f("name"), &t.name, MAX_NAME_LEN);
    let interval = match (t.interval_days, t.interval_months) {
        (d, 0) if (1..=3660).contains(&d) => Some(Interval::Days(d.unsigned_abs())),
        (0, m) if (1..=120).contains(&m) => Some(Interval::Months(m.unsigned_abs())),
        _ => {
            v.add(
                f("interval_days"),
                "exactly one of interval_days (1-3660) and interval_months (1-120)",
            );
            None
        }
    };
    let anchor = match t.anchor.as_str() {
        "fixed" => Some(Anchor::Fixed),
        "completion" => Some(Anchor::Completion),
        _ => {
            v.add(f("anchor"), "must be \"fixed\" or \"completion\"");
            None
        }
    };
    let mut days = |name: &str, value: i32, range: std::ops::RangeInclusive<i32>| {
        if !range.contains(&value) {
            v.add(f(name), format!("must be {} to {}", range.start(), range.end()));
        }
        value.unsigned_abs()
    };
    let reminders = ReminderRule {
        lead_days: days("lead_days", t.lead_days, 0..=90),
        overdue_days: days("overdue_days", t.overdue_days, 0..=90),
        max_per_occurrence: days("max_reminders", t.max_reminders, 1..=3),
    };
    let usage = match (t.usage_meter.as_str(), t.usage_every) {
        ("", 0) => None,
        (meter, every) => {
            if !meter_ok(meter) {
                v.add(f("usage_meter"), METER_RULE);
            }
            if !(1..=1_000_000_000_000).contains(&every) {
                v.add(f("usage_every"), "must be 1 to 10^12 with a usage_meter");
            }
            Some(Usage {
                meter: meter.to_owned(),
                threshold: UsageThreshold { every },
            })
        }
    };
    Some(Task {
        task_id: t.task_id.clone(),
        name: t.name.clone(),
        interval: interval?,
        anchor: anchor?,
        reminders,
        usage,
    })
}

pub fn plan(p: Option<&pb::MaintenancePlan>) -> Result<Plan, Error> {
    let p = p.ok_or_else(|| Error::invalid("plan", "is required"))?;
    let mut v = Violations::new();
    validate::text(&mut v, "plan.category", &p.category, MAX_KEY_LEN);
    validate::text(&mut v, "plan.sku", &p.sku, MAX_KEY_LEN);
    validate::required_text(&mut v, "plan.name", &p.name, MAX_NAME_LEN);
    if p.tasks.is_empty() || p.tasks.len() > MAX_TASKS {
        v.add("plan.tasks", format!("1 to {MAX_TASKS} tasks"));
    }
    let tasks: Vec<Option<Task>> = p
        .tasks
        .iter()
        .take(MAX_TASKS)
        .enumerate()
        .map(|(i, t)| task(&mut v, i, t))
        .collect();
    let mut ids: Vec<&str> = p.tasks.iter().map(|t| t.task_id.as_str()).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|w| w[0] == w[1]) {
        v.add("plan.tasks", "task ids must be unique");
    }
    v.finish()?;
    Ok(Plan {
        category: p.category.clone(),
        sku: p.sku.clone(),
        version: 0,
        name: p.name.clone(),
        tasks: tasks.into_iter().flatten().collect(),
        created_at: aftercare_kernel::DateTime::UNIX_EPOCH,
    })
}

pub fn date(v: &mut Violations, field: &str, value: &str) -> Option<NaiveDate> {
    v.take(
        field,
        value
            .parse::<NaiveDate>()
            .ok()
            .filter(|d| (2000..=2200).contains(&aftercare_kernel::Datelike::year(d)))
            .ok_or("must be a date \"YYYY-MM-DD\" in 2000-2200"),
    )
}

pub fn notes(v: &mut Violations, value: &str) {
    validate::text(v, "notes", value, MAX_NOTE_LEN);
}

pub fn request_id(v: &mut Violations, value: &str) {
    validate::id(v, "request_id", value, MAX_ID_LEN);
}

pub(super) fn hour(v: &mut Violations, field: &str, value: &str) -> Option<NaiveTime> {
    v.take(
        field,
        NaiveTime::parse_from_str(value, "%H:%M").map_err(|_| "must be a local time \"HH:MM\""),
    )
}

pub fn preferences(p: Option<&pb::Preferences>, source: &str) -> Result<Preferences, Error> {
    let p = p.ok_or_else(|| Error::invalid("preferences", "is required"))?;
    let mut v = Violations::new();
    validate::id(&mut v, "preferences.customer_id", &p.customer_id, MAX_ID_LEN);
    validate::id(&mut v, "source", source, 64);
    let time_zone = match p.time_zone.as_str() {
        "" => None,
        name => v.take(
            "preferences.time_zone",
            zone::parse(name).ok_or("must be an IANA time zone such as \"Europe/Istanbul\""),
        ),
    };
    let defaults = ContactHours::default_hours();
    let quiet = match (p.quiet_start.as_str(), p.quiet_end.as_str()) {
        ("", "") => Some(defaults.quiet),
        (s, e) => {
            let s = hour(&mut v, "preferences.quiet_start", s);
            let e = hour(&mut v, "preferences.quiet_end", e);
            s.zip(e).map(|(s, e)| DailySpan::new(s, e))
        }
    };
    let preferred = match (p.preferred_start.as_str(), p.preferred_end.as_str()) {
        ("", "") => None,
        (s, e) => {
            let s = hour(&mut v, "preferences.preferred_start", s);
            let e = hour(&mut v, "preferences.preferred_end", e);
            s.zip(e).map(|(s, e)| DailySpan::new(s, e))
        }
    };
    let hours = quiet.map(|quiet| ContactHours { quiet, preferred });
    if hours.is_some_and(|h| !h.allows_any()) {
        v.add(
            "preferences.preferred_start",
            "the preferred hours fall wholly in the quiet hours",
        );
    }
    let mut channels = Vec::new();
    for (i, c) in p.channels.iter().enumerate().take(CHANNELS.len() + 1) {
        if !CHANNELS.contains(&c.as_str()) || channels.contains(c) {
            v.add(
                format!("preferences.channels[{i}]"),
                "must be \"push\", \"email\" or \"sms\", once each",
            );
        } else {
            channels.push(c.clone());
        }
    }
    if p.channels.len() > CHANNELS.len() {
        v.add("preferences.channels", "at most three");
    }
    if p.channels.is_empty() && !p.opted_out {
        v.add("preferences.channels", "at least one, unless opted out");
    }
    if !(0..=20).contains(&p.daily_cap) {
        v.add("preferences.daily_cap", "must be 0 (no cap) to 20");
    }
    if !p.locale.is_empty() && !message::is_locale(&p.locale) {
        v.add(
            "preferences.locale",
            "must be a BCP 47 language tag such as \"tr\" or \"en-GB\"",
        );
    }
    let (muted_products, muted_tasks) = muted(&mut v, p);
    v.finish()?;
    Ok(Preferences {
        customer_id: p.customer_id.clone(),
        time_zone,
        hours: hours.ok_or_else(|| Error::invalid("preferences.quiet_start", "is required"))?,
        channels,
        opted_out: p.opted_out,
        daily_cap: p.daily_cap.unsigned_abs(),
        muted_products,
        muted_tasks,
        locale: p.locale.clone(),
        updated_at: None,
    })
}

/// Muted products and tasks: ids, at most [`MAX_MUTED`] of each, once each.
fn muted(v: &mut Violations, p: &pb::Preferences) -> (Vec<uuid::Uuid>, Vec<String>) {
    let mut products = Vec::new();
    for (i, id) in p.muted_registration_ids.iter().enumerate().take(MAX_MUTED + 1) {
        match uuid::Uuid::parse_str(id) {
            Ok(u) if !products.contains(&u) => products.push(u),
            _ => v.add(
                format!("preferences.muted_registration_ids[{i}]"),
                "must be a registration id, once",
            ),
        }
    }
    let mut tasks: Vec<String> = Vec::new();
    for (i, t) in p.muted_task_ids.iter().enumerate().take(MAX_MUTED + 1) {
        if !task_id_ok(t) || tasks.contains(t) {
            v.add(format!("preferences.muted_task_ids[{i}]"), "must be a task id, once");
        } else {
            tasks.push(t.clone());
        }
    }
    for (field, n) in [
        ("preferences.muted_registration_ids", p.muted_registration_ids.len()),
        ("preferences.muted_task_ids", p.muted_task_ids.len()),
    ] {
        if n > MAX_MUTED {
            v.add(field, format!("at most {MAX_MUTED}"));
        }
    }
    (products, tasks)
}

fn task_id_ok(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
}

const METER_RULE: &str = "must be 1-32 lower-case letters, digits, '-' or '_', starting with a letter";

fn meter_ok(meter: &str) -> bool {
    !meter.is_empty()
        && meter.len() <= 32
        && meter.starts_with(|c: char| c.is_ascii_lowercase())
        && meter
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// A meter reading's fields.
pub fn reading(r: &pb::ReportUsageRequest) -> Result<Reading, Error> {
    let mut v = Violations::new();
    let registration_id = v.take(
        "registration_id",
        uuid::Uuid::parse_str(&r.registration_id).map_err(|_| "must be a registration id"),
    );
    if !meter_ok(&r.meter) {
        v.add("meter", METER_RULE);
    }
    if !(0..=1_000_000_000_000_000).contains(&r.value) {
        v.add("value", "must be 0 to 10^15");
    }
    v.finish()?;
    Ok(Reading {
        registration_id: registration_id.ok_or_else(|| Error::invalid("registration_id", "is required"))?,
        meter: r.meter.clone(),
        value: r.value,
    })
}

pub fn reminder_id(value: &str) -> Result<ReminderId, Error> {
    match value {
        "" => Err(Error::invalid("reminder_id", "is required")),
        id => ReminderId::parse(id).ok_or_else(|| Error::invalid("reminder_id", "is not a valid id")),
    }
}
