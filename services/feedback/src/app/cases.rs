//! A survey per resolved case, made from the case's event in the
//! delivery's transaction; and the job that sends each scheduled survey
//! once its moment comes. Sending is writing `SurveyRequested` in the
//! transaction that marks the survey sent, so each goes out once across
//! replicas; the notifier delivers it at least once. Whether the customer
//! may be contacted is asked again as it goes: they may have opted out or
//! changed their hours since it was scheduled.

use std::sync::Arc;

use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::context::ServiceContext;
use aftercare_platform::error::Error;
use aftercare_platform::jobs::{Job, JobFuture};
use aftercare_platform::uow::UnitOfWork;
use sqlx::PgConnection;

use crate::domain::survey::Sending;
use crate::domain::{Case, Survey};
use crate::{events, store};

/// Surveys per transaction; a full batch runs again at once.
pub const BATCH: i64 = 200;

/// Makes the case's survey unless it has one (a repeated event changes
/// nothing). A survey whose moment is now goes out in this transaction.
pub async fn case_resolved(conn: &mut PgConnection, case: Case, now: DateTime<Utc>) -> Result<(), Error> {
    if store::surveys::exists_for(conn, case.case_type, &case.case_id).await? {
        return Ok(());
    }
    let mut uow = UnitOfWork::within(conn, now).await?;
    let settings = store::settings::get(uow.conn()).await?;
    let contact = store::contacts::get(uow.conn(), &case.customer_id).await?;
    // Locked: two cases of one customer resolved at once make one survey
    // that is sent and one that waits for the interval.
    let last = store::contacts::lock_last_survey(uow.conn(), &case.customer_id).await?;
    let mut survey = Survey::new(case, &contact, last, &settings, now);
    if !store::surveys::insert(uow.conn(), &survey).await? {
        return Ok(()); // made by a concurrent delivery of the same case
    }
    if let Some(send_at) = survey.send_at {
        store::contacts::set_last_survey(uow.conn(), &survey.case.customer_id, Some(send_at)).await?;
        if send_at <= now {
            send(&mut uow, &mut survey).await?;
        }
    }
    uow.commit().await
}

/// Sends a scheduled survey now if the customer may be contacted now;
/// holds it back if they opted out since, or moves it to their next
/// allowed moment.
async fn send(uow: &mut UnitOfWork<'_>, survey: &mut Survey) -> Result<(), Error> {
    let now = uow.now();
    let customer = survey.case.customer_id.clone();
    let contact = store::contacts::get(uow.conn(), &customer).await?;
    let planned = survey.send_at;
    match survey.send(&contact, now) {
        Sending::Now => {
            store::surveys::update(uow.conn(), survey).await?;
            let requested = events::survey_requested(survey, &contact);
            uow.emit(&survey.survey_id.to_string(), &requested).await
        }
        Sending::Later => {
            store::surveys::reschedule(uow.conn(), survey).await?;
            store::contacts::move_last_survey(uow.conn(), &customer, planned, survey.send_at).await
        }
        Sending::Never => {
            store::surveys::suppress(uow.conn(), survey).await?;
            // Not asked after all: the interval does not count from it.
            store::contacts::move_last_survey(uow.conn(), &customer, planned, None).await
        }
    }
}

/// The job sending scheduled surveys whose moment has come.
pub struct SurveySender {
    ctx: ServiceContext,
}

impl SurveySender {
    pub fn new(ctx: ServiceContext) -> Arc<SurveySender> {
        Arc::new(SurveySender { ctx })
    }

    /// Sends up to [`BATCH`] due surveys; whether the batch was full.
    pub async fn run(&self) -> Result<bool, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let due = store::surveys::due(uow.conn(), now, BATCH).await?;
        for mut survey in due.iter().cloned() {
            send(&mut uow, &mut survey).await?;
        }
        uow.commit().await?;
        Ok(due.len() as i64 == BATCH)
    }
}

impl Job for SurveySender {
    fn name(&self) -> &'static str {
        "feedback.surveys"
    }

    fn run_once(&self) -> JobFuture<'_> {
        Box::pin(self.run())
    }
}
