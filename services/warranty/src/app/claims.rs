//! Claims: filed on a registration with the coverage of that day, then
//! taken through their status graph by agents and the customer, every step
//! on the timeline and announced.

use aftercare_kernel::channel::Channel;
use aftercare_kernel::zone;
use aftercare_kernel::{DateTime, Duration, Utc};
use aftercare_platform::auth::{Caller, Role};
use aftercare_platform::error::Error;
use aftercare_platform::paging;
use aftercare_platform::uow::{Replay, UnitOfWork};
use uuid::Uuid;

use super::{Warranty, entry, visible};
use crate::domain::repeat;
use crate::domain::{
    Claim, ClaimId, ClaimStatus, ClaimStep, Clocks, MAX_PHOTOS, RegistrationId, RejectionReason, Remedy, Sla, Terms,
    WarrantyError,
};
use crate::events;
use crate::store;
use crate::store::calendars::Calendar;
pub use crate::store::claims::Order;

/// A claim as filed.
pub struct ClaimFiling {
    pub registration_id: RegistrationId,
    pub fault_category: String,
    pub description: String,
    pub photo_urls: Vec<String>,
    pub channel: Channel,
    pub request_id: String,
}

impl ClaimFiling {
    fn canonical(&self) -> Vec<u8> {
        let mut parts = vec![
            self.registration_id.to_string(),
            self.fault_category.clone(),
            self.description.clone(),
            self.channel.as_str().to_owned(),
        ];
        parts.extend(self.photo_urls.iter().cloned());
        parts.join("\u{0}").into_bytes()
    }
}

/// What a step carries besides the claim.
pub enum StepInput {
    Review,
    RequestInfo {
        question: String,
    },
    Answer {
        answer: String,
        photo_urls: Vec<String>,
        channel: Channel,
    },
    Approve {
        remedy: Remedy,
        note: String,
        /// Out of coverage: a repair the customer pays for.
        paid: bool,
        /// Required to approve a repair over an entitlement.
        override_reason: String,
    },
    Reject {
        reason: RejectionReason,
        note: String,
    },
    Appeal {
        message: String,
    },
    Cancel {
        reason: String,
    },
    Close,
}

impl StepInput {
    fn step(&self) -> ClaimStep {
        match self {
            StepInput::Review => ClaimStep::Review,
            StepInput::RequestInfo { .. } => ClaimStep::RequestInfo,
            StepInput::Answer { .. } => ClaimStep::Answer,
            StepInput::Approve { .. } => ClaimStep::Approve,
            StepInput::Reject { .. } => ClaimStep::Reject,
            StepInput::Appeal { .. } => ClaimStep::Appeal,
            StepInput::Cancel { .. } => ClaimStep::Cancel,
            StepInput::Close => ClaimStep::Close,
        }
    }
}

/// A page of claims.
pub struct ClaimPage {
    pub claims: Vec<Claim>,
    pub next_page_token: String,
}

impl Warranty {
    pub async fn file_claim(&self, caller: &Caller, f: ClaimFiling) -> Result<Claim, Error> {
        let mut uow = self.ctx.begin().await?;
        let id = ClaimId::new();
        let answer = *id.as_uuid().as_bytes();
        if let Replay::Stored(stored) = uow
            .claim_answered(
                "warranty.FileClaim",
                caller,
                "request_id",
                &f.request_id,
                &f.canonical(),
                &answer,
            )
            .await?
        {
            let id = ClaimId::from_uuid(Uuid::from_slice(&stored).map_err(Error::internal)?);
            return store::claims::get(uow.conn(), id, false)
                .await?
                .ok_or_else(|| Error::internal("a stored claim is gone"));
        }
        let now = uow.now();
        let found = store::registrations::with_history(uow.conn(), f.registration_id)
            .await?
            .ok_or_else(|| WarrantyError::not_found("registration", f.registration_id.to_string()))?;
        let registration = found.registration;
        visible(caller, &registration.customer_id, "registration", f.registration_id)?;
        let terms = self.cache.terms(uow.conn(), &registration.terms).await?;
        let coverage = registration.coverage(&terms, now, None)?;
        let calendar = self.cache.default_calendar(uow.conn(), &found.calendar).await?;
        let sla = targets(&terms, &calendar, now)?;
        // What earlier failures entitle the customer to.
        let (days, tz) = (&calendar.days, calendar.time_zone);
        let overran = repeat::repair_overran(&found.repairs, days, tz, terms.max_repair_working_days);
        let entitlement = coverage
            .covered()
            .then(|| {
                repeat::entitlement(
                    &terms.repeat_failure,
                    &found.past_faults,
                    overran,
                    &f.fault_category,
                    now,
                )
            })
            .flatten();
        let filed = entry(
            Some(caller),
            Some(ClaimStatus::Submitted),
            "Claim filed.".into(),
            Some(f.channel),
            true,
            now,
        );
        let claim = Claim {
            claim_id: id,
            registration_id: f.registration_id,
            customer_id: registration.customer_id,
            status: ClaimStatus::Submitted,
            fault_category: f.fault_category,
            description: f.description,
            photo_urls: f.photo_urls,
            channel: f.channel,
            coverage_at_filing: coverage,
            remedy: None,
            paid_repair: false,
            entitlement,
            rejection_reason: None,
            appealed: false,
            reviewer: None,
            rejected_by: None,
            timeline: vec![filed],
            filed_at: now,
            updated_at: now,
            sla,
        };
        store::claims::insert(uow.conn(), &claim).await?;
        uow.emit(&id.to_string(), &events::claim_filed(&claim)).await?;
        uow.commit().await?;
        Ok(claim)
    }

    pub async fn claim(&self, caller: &Caller, id: ClaimId) -> Result<Claim, Error> {
        let claim = store::claims::get(&mut *self.ctx.read().await?, id, false)
            .await?
            .ok_or_else(|| WarrantyError::not_found("claim", id.to_string()))?;
        visible(caller, &claim.customer_id, "claim", id)?;
        Ok(claim)
    }

    /// Claims, newest first: a customer's own (customers must name
    /// themselves), or any for staff.
    pub async fn claims(
        &self,
        caller: &Caller,
        customer_id: Option<&str>,
        status: Option<ClaimStatus>,
        order: Order,
        page_size: i32,
        page_token: &str,
    ) -> Result<ClaimPage, Error> {
        if caller.role == Role::Customer && customer_id != Some(caller.subject.as_str()) {
            return Err(Error::invalid("customer_id", "a customer lists their own claims"));
        }
        let limit = paging::page_size(page_size)?;
        let query = format!(
            "claims\u{0}{}\u{0}{}\u{0}{order:?}",
            customer_id.unwrap_or_default(),
            status.map_or("", |s| s.as_str())
        );
        let cursor = paging::decode("page_token", &query, page_token)?;
        let mut conn = self.ctx.read().await?;
        let mut claims = store::claims::list(&mut conn, customer_id, status, order, cursor.as_ref(), limit + 1).await?;
        let next_page_token = paging::next_token(&mut claims, limit, &query, |c| {
            let at = match order {
                Order::NewestFirst => c.filed_at,
                Order::TimeToBreach => c.sla.next_due().unwrap_or(c.filed_at),
            };
            (at, c.claim_id.to_string())
        });
        Ok(ClaimPage {
            claims,
            next_page_token,
        })
    }

    /// Takes a step of the claim's lifecycle: decided by the domain under
    /// the claim's lock, written on the timeline, announced.
    pub async fn step(&self, caller: &Caller, id: ClaimId, input: StepInput) -> Result<Claim, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let mut claim = store::claims::get(uow.conn(), id, true)
            .await?
            .ok_or_else(|| WarrantyError::not_found("claim", id.to_string()))?;
        visible(caller, &claim.customer_id, "claim", id)?;
        if claim.timeline.len() >= crate::domain::claim::MAX_ENTRIES {
            return Err(WarrantyError::TimelineFull.into());
        }
        let step = input.step();
        let mut internal = Vec::new();
        let (text, channel) = match input {
            StepInput::Review => ("An agent is reviewing your claim.".to_owned(), None),
            StepInput::RequestInfo { question } => (question, None),
            StepInput::Answer {
                answer,
                photo_urls,
                channel,
            } => {
                if claim.photo_urls.len() + photo_urls.len() > 2 * MAX_PHOTOS {
                    return Err(Error::invalid(
                        "photo_urls",
                        format!("a claim keeps at most {} photos", 2 * MAX_PHOTOS),
                    ));
                }
                claim.photo_urls.extend(photo_urls);
                (answer, Some(channel))
            }
            StepInput::Approve {
                remedy,
                note,
                paid,
                override_reason,
            } => {
                claim.check_remedy(remedy, paid, Some(&override_reason))?;
                claim.remedy = Some(remedy);
                claim.paid_repair = !claim.coverage_at_filing.covered();
                if let Some(e) = claim.entitlement.as_ref().filter(|_| remedy == Remedy::Repair) {
                    // The override is on the record, for staff.
                    let why = format!(
                        "Repair approved over the customer's entitlement ({}): {override_reason}",
                        e.trigger.as_str()
                    );
                    internal.push(entry(Some(caller), None, why, None, false, now));
                }
                (or(note, claim_approved(remedy)), None)
            }
            StepInput::Reject { reason, note } => {
                claim.rejection_reason = Some(reason);
                (note, None)
            }
            StepInput::Appeal { message } => (message, None),
            StepInput::Cancel { reason } => (or(reason, "Claim canceled.".into()), None),
            StepInput::Close => ("Claim closed.".to_owned(), None),
        };
        match step {
            ClaimStep::Cancel if store::service::live_refund(uow.conn(), id).await? => {
                return Err(WarrantyError::RefundLive.into());
            }
            ClaimStep::Approve
                if claim.status == ClaimStatus::InService && store::service::open_order(uow.conn(), id).await? =>
            {
                return Err(WarrantyError::ServiceOrderOpen.into());
            }
            _ => {}
        }
        let from = claim.apply(step, &caller.subject, now)?;
        // The calendar matters only to a pause being closed.
        let clocks = match claim.sla.paused_since {
            Some(_) => clocks(uow.conn()).await?,
            None => Clocks::wall(),
        };
        if let Some((started, ended)) = claim.clock(step, now, &clocks) {
            store::claims::add_pause(uow.conn(), id, started, ended).await?;
        }
        let e = entry(Some(caller), Some(claim.status), text, channel, true, now);
        store::claims::update(uow.conn(), &claim).await?;
        for e in internal.into_iter().chain([e]) {
            store::claims::add_timeline(uow.conn(), id, &e).await?;
            claim.timeline.push(e);
        }
        uow.emit(&id.to_string(), &events::status_changed(&claim, from, now))
            .await?;
        uow.commit().await?;
        Ok(claim)
    }

    /// Writes a message on the claim's timeline; customers' are always
    /// customer-visible.
    pub async fn add_message(
        &self,
        caller: &Caller,
        id: ClaimId,
        text: String,
        customer_visible: bool,
        channel: Option<Channel>,
    ) -> Result<Claim, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let mut claim = store::claims::get(uow.conn(), id, true)
            .await?
            .ok_or_else(|| WarrantyError::not_found("claim", id.to_string()))?;
        visible(caller, &claim.customer_id, "claim", id)?;
        claim.room_for(caller.role == Role::Customer)?;
        // Only staff write internal notes; a storefront writes for the
        // customer.
        let visible_to_customer = customer_visible || !is_staff(caller);
        let e = entry(Some(caller), None, text, channel, visible_to_customer, now);
        if visible_to_customer && is_staff(caller) && claim.sla.first_response_at.is_none() {
            // Staff answering the customer is the first response.
            claim.sla.responded(now);
            store::claims::update(uow.conn(), &claim).await?;
            uow.emit(&id.to_string(), &events::responded(&claim, now)).await?;
        }
        store::claims::add_timeline(uow.conn(), id, &e).await?;
        claim.timeline.push(e);
        uow.commit().await?;
        Ok(claim)
    }
}

/// Resolves a locked claim whose remedy was carried out, in the caller's
/// unit of work: the status step, the timeline, both events.
pub(crate) async fn resolve(
    uow: &mut UnitOfWork<'_>,
    claim: &mut Claim,
    by: Option<&Caller>,
    text: String,
) -> Result<(), Error> {
    let now = uow.now();
    let from = claim.apply(ClaimStep::Resolve, by.map_or("system", |c| c.subject.as_str()), now)?;
    claim.clock(ClaimStep::Resolve, now, &Clocks::wall());
    let e = entry(by, Some(claim.status), text, None, true, now);
    store::claims::update(uow.conn(), claim).await?;
    store::claims::add_timeline(uow.conn(), claim.claim_id, &e).await?;
    claim.timeline.push(e);
    let aggregate = claim.claim_id.to_string();
    uow.emit(&aggregate, &events::status_changed(claim, from, now)).await?;
    uow.emit(&aggregate, &events::claim_resolved(claim, now)).await?;
    Ok(())
}

/// Loads a claim the caller may see, locked.
pub(crate) async fn locked_claim(uow: &mut UnitOfWork<'_>, caller: &Caller, id: ClaimId) -> Result<Claim, Error> {
    let claim = store::claims::get(uow.conn(), id, true)
        .await?
        .ok_or_else(|| WarrantyError::not_found("claim", id.to_string()))?;
    visible(caller, &claim.customer_id, "claim", id)?;
    Ok(claim)
}

/// A new claim's clocks: the first response due within the terms' hours
/// (business hours when the default calendar has them), the resolution by
/// the end of the terms' last working day of repair in the default
/// calendar (its weekends and holidays not counted).
fn targets(terms: &Terms, calendar: &Calendar, now: DateTime<Utc>) -> Result<Sla, WarrantyError> {
    let first_response = Duration::hours(terms.first_response_hours.into());
    let filed_on = zone::local_date(now, calendar.time_zone);
    let last_day = calendar
        .days
        .add(filed_on, terms.max_repair_working_days.unsigned_abs())
        .and_then(|d| d.succ_opt())
        .ok_or_else(|| WarrantyError::Corrupt(format!("calendar {} has no working day", calendar.country_code)))?;
    Ok(Sla::new(
        now,
        &calendar.clocks(),
        first_response,
        zone::start_of_day(last_day, calendar.time_zone),
    ))
}

/// The clocks of the default calendar as it is now (to close a pause).
pub(crate) async fn clocks(conn: &mut sqlx::PgConnection) -> Result<Clocks, Error> {
    Ok(store::calendars::default(conn).await?.clocks())
}

/// Agents and admins; a service acts for the customer.
pub fn is_staff(caller: &Caller) -> bool {
    matches!(caller.role, Role::Agent | Role::Admin)
}

fn or(text: String, default: String) -> String {
    if text.is_empty() { default } else { text }
}

fn claim_approved(remedy: Remedy) -> String {
    format!("Claim approved: {}.", remedy.as_str().replace('_', " "))
}
