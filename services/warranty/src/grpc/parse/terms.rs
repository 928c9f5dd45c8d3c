//! Terms and business calendars as an admin writes them, checked.

use aftercare_kernel::zone::WorkingDays;
use aftercare_kernel::{DateTime, Datelike, NaiveDate, NaiveTime, Violations};
use aftercare_platform::error::Error;
use aftercare_proto::warranty as pb;

use super::{MAX_HOLIDAYS, MAX_YEAR, MIN_YEAR, exclusion, remedy, time_zone};
use crate::domain::*;
use crate::store::calendars::Calendar;

pub fn terms(t: Option<&pb::WarrantyTerms>) -> Result<Terms, Error> {
    let t = t.ok_or_else(|| Error::invalid("terms", "is required"))?;
    let mut v = Violations::new();
    let mut exclusions = Vec::new();
    for (i, e) in t.exclusions.iter().enumerate() {
        match exclusion(*e) {
            Some(e) if !exclusions.contains(&e) => exclusions.push(e),
            Some(_) => v.add(format!("terms.exclusions[{i}]"), "is listed twice"),
            None => v.add(format!("terms.exclusions[{i}]"), "must be an exclusion"),
        }
    }
    let mut remedies = Vec::new();
    for (i, r) in t.remedies.iter().enumerate() {
        match remedy(*r) {
            Some(r) if !remedies.contains(&r) => remedies.push(r),
            Some(_) => v.add(format!("terms.remedies[{i}]"), "is listed twice"),
            None => v.add(format!("terms.remedies[{i}]"), "must be a remedy"),
        }
    }
    let repeat = t.repeat_failure.unwrap_or_default();
    let terms = Terms {
        category: t.category.clone(),
        sku: t.sku.clone(),
        version: 0,
        duration_months: t.duration_months,
        covers_parts: t.covers_parts,
        covers_labour: t.covers_labour,
        covers_shipping: t.covers_shipping,
        exclusions,
        remedies,
        max_repair_working_days: t.max_repair_working_days,
        repair_time_extends: t.repair_time_extends,
        repeat_failure: RepeatFailureRule {
            window_months: repeat.window_months,
            same_fault_max: repeat.same_fault_max,
            different_faults_max: repeat.different_faults_max,
            total_faults_max: repeat.total_faults_max,
        },
        first_response_hours: t.first_response_hours,
        updated_at: DateTime::UNIX_EPOCH,
    };
    terms.check(&mut v);
    v.finish()?;
    Ok(terms)
}

pub fn country(v: &mut Violations, value: &str) {
    if value.len() != 2 || !value.chars().all(|c| c.is_ascii_uppercase()) {
        v.add("country_code", "must be an ISO 3166-1 alpha-2 code such as \"TR\"");
    }
}

pub fn calendar(c: Option<&pb::BusinessCalendar>) -> Result<Calendar, Error> {
    let c = c.ok_or_else(|| Error::invalid("calendar", "is required"))?;
    let mut v = Violations::new();
    country(&mut v, &c.country_code);
    let tz = time_zone(&mut v, "calendar.time_zone", &c.time_zone);
    if c.working_weekdays.is_empty() || c.working_weekdays.iter().any(|d| !(1..=7).contains(d)) {
        v.add(
            "calendar.working_weekdays",
            "must be ISO weekdays 1 (Monday) to 7, at least one",
        );
    }
    if c.holidays.len() > MAX_HOLIDAYS {
        v.add("calendar.holidays", format!("at most {MAX_HOLIDAYS}"));
    }
    let mut holidays = Vec::new();
    for (i, h) in c.holidays.iter().enumerate().take(MAX_HOLIDAYS) {
        match h.parse::<NaiveDate>() {
            Ok(d) if (MIN_YEAR..=MAX_YEAR).contains(&d.year()) => holidays.push(d),
            _ => v.add(
                format!("calendar.holidays[{i}]"),
                format!("must be a date \"YYYY-MM-DD\" in {MIN_YEAR}-{MAX_YEAR}"),
            ),
        }
    }
    let hour = |v: &mut Violations, field: &str, s: &str| match NaiveTime::parse_from_str(s, "%H:%M") {
        Ok(t) => Some(t),
        Err(_) => {
            v.add(field, "must be a local time \"HH:MM\"");
            None
        }
    };
    let business_hours = match (c.business_hours_start.as_str(), c.business_hours_end.as_str()) {
        ("", "") => None,
        (start, end) => {
            let start = hour(&mut v, "calendar.business_hours_start", start);
            let end = hour(&mut v, "calendar.business_hours_end", end);
            match start.zip(end) {
                Some((s, e)) if s < e => Some((s, e)),
                Some(_) => {
                    v.add("calendar.business_hours_end", "must be after business_hours_start");
                    None
                }
                None => None,
            }
        }
    };
    v.finish()?;
    Ok(Calendar {
        business_hours,
        country_code: c.country_code.clone(),
        time_zone: tz.ok_or_else(|| Error::invalid("calendar.time_zone", "is required"))?,
        days: WorkingDays::new(c.working_weekdays.iter().map(|d| *d as u32), holidays),
        updated_at: DateTime::UNIX_EPOCH,
        revision: 0,
    })
}
