//! Other services' events in: resolved cases become surveys, and
//! maintenance's contact preferences are kept for timing them. Never reads
//! another service's schema.

use aftercare_kernel::clock::SharedClock;
use aftercare_kernel::contact_hours::{ContactHours, DailySpan};
use aftercare_kernel::{NaiveTime, zone};
use aftercare_platform::outbox::{Event, EventHandler, HandlerFuture, required, required_time, topic};
use aftercare_proto::maintenance_events::{ContactPreferencesChanged, MaintenanceCompleted};
use aftercare_proto::return_events::{ReturnCanceled, ReturnCompleted, ReturnSummary};
use aftercare_proto::warranty_events::ClaimResolved;
use sqlx::PgConnection;

use crate::app::cases::case_resolved;
use crate::domain::{Case, CaseType, Contact};
use crate::store;

/// Subscribed by the migrations too, so no case resolved before the
/// service first starts is missed.
pub const CASES: &str = "feedback.cases";
pub const CONTACTS: &str = "feedback.contacts";

pub struct CaseSurveys {
    pub clock: SharedClock,
}

fn return_case(summary: Option<ReturnSummary>) -> Result<Case, String> {
    let s = summary.ok_or("summary missing")?;
    Ok(Case {
        customer_id: required(&s.customer_id, "customer_id")?.to_owned(),
        case_type: CaseType::Return,
        case_id: required(&s.return_id, "return_id")?.to_owned(),
        reason: s.reason,
        agent: String::new(),
    })
}

impl CaseSurveys {
    /// The resolved case an event tells of; `None` for one that asks for
    /// no survey (a skipped occurrence).
    fn case(event: &Event) -> Result<Option<Case>, String> {
        if let Some(e) = event.decode::<ReturnCompleted>()? {
            return return_case(e.summary).map(Some);
        }
        if let Some(e) = event.decode::<ReturnCanceled>()? {
            return return_case(e.summary).map(Some);
        }
        if let Some(e) = event.decode::<ClaimResolved>()? {
            return Ok(Some(Case {
                customer_id: required(&e.customer_id, "customer_id")?.to_owned(),
                case_type: CaseType::Claim,
                case_id: required(&e.claim_id, "claim_id")?.to_owned(),
                reason: e.fault_category,
                agent: e.reviewer,
            }));
        }
        if let Some(e) = event.decode::<MaintenanceCompleted>()? {
            if e.skipped {
                return Ok(None);
            }
            return Ok(Some(Case {
                customer_id: required(&e.customer_id, "customer_id")?.to_owned(),
                case_type: CaseType::Maintenance,
                case_id: format!("{}:{}", required(&e.schedule_id, "schedule_id")?, e.occurrence),
                reason: e.task_id,
                agent: String::new(),
            }));
        }
        Err(format!("unexpected topic {}", event.topic))
    }

    async fn apply(&self, tx: &mut PgConnection, event: &Event) -> Result<(), String> {
        let Some(case) = Self::case(event)? else {
            return Ok(());
        };
        case_resolved(tx, case, self.clock.now())
            .await
            .map_err(|e| e.to_string())
    }
}

impl EventHandler for CaseSurveys {
    fn name(&self) -> &str {
        CASES
    }

    fn topics(&self) -> Vec<String> {
        vec![
            topic::<ReturnCompleted>(),
            topic::<ReturnCanceled>(),
            topic::<ClaimResolved>(),
            topic::<MaintenanceCompleted>(),
        ]
    }

    fn handle<'a>(&'a self, tx: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(self.apply(tx, event))
    }
}

/// Maintenance's contact preferences, kept as announced.
pub struct Contacts;

fn time(value: &str, field: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(value, "%H:%M").map_err(|_| format!("{field} {value:?} is not HH:MM"))
}

impl Contacts {
    async fn apply(tx: &mut PgConnection, event: &Event) -> Result<(), String> {
        let Some(e) = event.decode::<ContactPreferencesChanged>()? else {
            return Err(format!("unexpected topic {}", event.topic));
        };
        let customer = required(&e.customer_id, "customer_id")?;
        let at = required_time(e.updated_at.as_ref(), "updated_at")?;
        let time_zone = match e.time_zone.as_str() {
            "" => None,
            name => Some(zone::parse(name).ok_or_else(|| format!("time zone {name:?} unknown"))?),
        };
        let preferred = match (e.preferred_start.as_str(), e.preferred_end.as_str()) {
            ("", "") => None,
            (s, end) => Some(DailySpan::new(time(s, "preferred_start")?, time(end, "preferred_end")?)),
        };
        let contact = Contact {
            time_zone,
            hours: ContactHours {
                quiet: DailySpan::new(time(&e.quiet_start, "quiet_start")?, time(&e.quiet_end, "quiet_end")?),
                preferred,
            },
            channels: e.channels,
            opted_out: e.opted_out,
            locale: e.locale,
        };
        store::contacts::put(tx, customer, &contact, at)
            .await
            .map_err(|e| e.to_string())
    }
}

impl EventHandler for Contacts {
    fn name(&self) -> &str {
        CONTACTS
    }

    fn topics(&self) -> Vec<String> {
        vec![topic::<ContactPreferencesChanged>()]
    }

    fn handle<'a>(&'a self, tx: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(Self::apply(tx, event))
    }
}
