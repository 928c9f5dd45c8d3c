//! `aftercare.maintenance.v1.MaintenanceService`: parse, call the app,
//! convert. Who may call what is the role table below.

mod convert;
mod errors;
mod parse;

use aftercare_kernel::Violations;
use aftercare_platform::auth::{Role, RoleTable, caller};
use aftercare_platform::error::Error;
use aftercare_proto::maintenance as pb;
use aftercare_proto::maintenance::maintenance_service_server::{MaintenanceService, MaintenanceServiceServer};
use tonic::{Request, Response, Status};

use crate::app::Maintenance;
use crate::app::appointments::Booking;
use crate::app::controls::Snooze;
use crate::app::schedules::Completion;
use crate::domain::{AppointmentId, ReminderId, ScheduleId};
use crate::store::appointments::Of;
use Role::{Admin, Agent, Customer, Partner, Service};
use parse::appointments as visits;

/// Who may call what. Customers additionally act on their own schedules
/// and preferences only.
pub const ROLES: RoleTable = &[
    ("UpsertPlan", &[Admin]),
    ("ListPlans", &[Agent, Admin, Service]),
    ("GetSchedule", &[Customer, Agent, Admin, Service]),
    ("ListSchedules", &[Customer, Agent, Admin, Service]),
    ("RecordService", &[Customer, Agent, Service]),
    ("SnoozeReminder", &[Customer, Agent, Service]),
    ("DismissReminder", &[Customer, Agent, Service]),
    ("SkipOccurrence", &[Customer, Agent, Service]),
    ("ReportUsage", &[Customer, Agent, Service]),
    ("GetPreferences", &[Customer, Agent, Service]),
    ("UpdatePreferences", &[Customer, Service]),
    ("UpsertCentre", &[Admin]),
    ("ListCentres", &[Customer, Agent, Admin, Service, Partner]),
    ("ListSlots", &[Customer, Agent, Admin, Service, Partner]),
    ("BookAppointment", &[Customer, Agent, Service]),
    ("RescheduleAppointment", &[Customer, Agent, Service]),
    ("CancelAppointment", &[Customer, Agent, Service, Partner]),
    ("MarkNoShow", &[Agent, Partner]),
    ("CompleteAppointment", &[Agent, Service, Partner]),
    ("GetAppointment", &[Customer, Agent, Admin, Service, Partner]),
    ("ListAppointments", &[Customer, Agent, Admin, Service, Partner]),
];

pub const SERVICE_NAME: &str = pb::maintenance_service_server::SERVICE_NAME;

type Answer<T> = Result<Response<T>, Status>;

pub struct MaintenanceGrpc {
    app: Maintenance,
}

impl MaintenanceGrpc {
    pub fn server(app: Maintenance) -> MaintenanceServiceServer<MaintenanceGrpc> {
        MaintenanceServiceServer::new(MaintenanceGrpc { app })
    }
}

#[tonic::async_trait]
impl MaintenanceService for MaintenanceGrpc {
    async fn upsert_plan(&self, request: Request<pb::UpsertPlanRequest>) -> Answer<pb::MaintenancePlan> {
        caller(&request)?;
        let plan = parse::plan(request.get_ref().plan.as_ref())?;
        Ok(Response::new(convert::plan(&self.app.upsert_plan(plan).await?)))
    }

    async fn list_plans(&self, request: Request<pb::ListPlansRequest>) -> Answer<pb::ListPlansResponse> {
        caller(&request)?;
        Ok(Response::new(pb::ListPlansResponse {
            plans: self.app.plans().await?.iter().map(convert::plan).collect(),
        }))
    }

    async fn get_schedule(&self, request: Request<pb::GetScheduleRequest>) -> Answer<pb::Schedule> {
        let caller = caller(&request)?;
        let id = parse::schedule_id(&request.get_ref().schedule_id)?;
        Ok(Response::new(convert::schedule(&self.app.schedule(&caller, id).await?)))
    }

    async fn list_schedules(&self, request: Request<pb::ListSchedulesRequest>) -> Answer<pb::ListSchedulesResponse> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let mut v = Violations::new();
        parse::customer(&mut v, &r.customer_id);
        v.finish().map_err(Error::from)?;
        let page = self
            .app
            .schedules(&caller, &r.customer_id, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListSchedulesResponse {
            schedules: page.schedules.into_iter().map(convert::summary).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn record_service(&self, request: Request<pb::RecordServiceRequest>) -> Answer<pb::Schedule> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let id = parse::id(&mut v, "schedule_id", &r.schedule_id, ScheduleId::parse);
        let done_on = parse::date(&mut v, "done_on", &r.done_on);
        parse::notes(&mut v, &r.notes);
        parse::request_id(&mut v, &r.request_id);
        let (id, done_on) = v.finish_with(id.zip(done_on)).map_err(Error::from)?;
        let completion = Completion {
            done_on,
            notes: r.notes.clone(),
            request_id: r.request_id.clone(),
        };
        Ok(Response::new(convert::schedule(
            &self.app.record_service(&caller, id, completion).await?,
        )))
    }

    async fn snooze_reminder(&self, request: Request<pb::SnoozeReminderRequest>) -> Answer<pb::Schedule> {
        use pb::snooze_reminder_request::Length;
        let caller = caller(&request)?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let id = parse::id(&mut v, "reminder_id", &r.reminder_id, ReminderId::parse);
        let how = match &r.length {
            Some(Length::Until(t)) => visits::instant(&mut v, "until", Some(t)).map(Snooze::Until),
            Some(Length::Days(d)) if (1..=30).contains(d) => Some(Snooze::Days(i64::from(*d))),
            Some(Length::Days(_)) => {
                v.add("days", "must be 1 to 30");
                None
            }
            None => {
                v.add("until", "until or days is required");
                None
            }
        };
        let (id, how) = v.finish_with(id.zip(how)).map_err(Error::from)?;
        Ok(Response::new(convert::schedule(
            &self.app.snooze(&caller, id, how).await?,
        )))
    }

    async fn dismiss_reminder(&self, request: Request<pb::DismissReminderRequest>) -> Answer<pb::Schedule> {
        let caller = caller(&request)?;
        let id = parse::reminder_id(&request.get_ref().reminder_id)?;
        Ok(Response::new(convert::schedule(&self.app.dismiss(&caller, id).await?)))
    }

    async fn skip_occurrence(&self, request: Request<pb::SkipOccurrenceRequest>) -> Answer<pb::Schedule> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let id = parse::id(&mut v, "schedule_id", &r.schedule_id, ScheduleId::parse);
        parse::request_id(&mut v, &r.request_id);
        let id = v.finish_with(id).map_err(Error::from)?;
        Ok(Response::new(convert::schedule(
            &self.app.skip(&caller, id, &r.request_id).await?,
        )))
    }

    async fn report_usage(&self, request: Request<pb::ReportUsageRequest>) -> Answer<pb::ReportUsageResponse> {
        let caller = caller(&request)?;
        let reading = parse::reading(request.get_ref())?;
        let schedules = self.app.report_usage(&caller, reading).await?;
        Ok(Response::new(pb::ReportUsageResponse {
            schedules: schedules.iter().map(convert::schedule).collect(),
        }))
    }

    async fn get_preferences(&self, request: Request<pb::GetPreferencesRequest>) -> Answer<pb::Preferences> {
        let caller = caller(&request)?;
        let customer_id = &request.get_ref().customer_id;
        let mut v = Violations::new();
        parse::customer(&mut v, customer_id);
        v.finish().map_err(Error::from)?;
        Ok(Response::new(convert::preferences(
            &self.app.preferences(&caller, customer_id).await?,
        )))
    }

    async fn update_preferences(&self, request: Request<pb::UpdatePreferencesRequest>) -> Answer<pb::Preferences> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let prefs = parse::preferences(r.preferences.as_ref(), &r.source)?;
        Ok(Response::new(convert::preferences(
            &self.app.update_preferences(&caller, prefs, &r.source).await?,
        )))
    }

    async fn upsert_centre(&self, request: Request<pb::UpsertCentreRequest>) -> Answer<pb::Centre> {
        caller(&request)?;
        let centre = visits::centre(request.get_ref().centre.as_ref())?;
        Ok(Response::new(convert::centre(&self.app.upsert_centre(centre).await?)))
    }

    async fn list_centres(&self, request: Request<pb::ListCentresRequest>) -> Answer<pb::ListCentresResponse> {
        caller(&request)?;
        Ok(Response::new(pb::ListCentresResponse {
            centres: self.app.centres().await?.iter().map(convert::centre).collect(),
        }))
    }

    async fn list_slots(&self, request: Request<pb::ListSlotsRequest>) -> Answer<pb::ListSlotsResponse> {
        caller(&request)?;
        let r = request.get_ref();
        let mut v = Violations::new();
        visits::centre_id(&mut v, "centre_id", &r.centre_id);
        v.finish().map_err(Error::from)?;
        let (from, to) = visits::span(r.from.as_ref(), r.to.as_ref())?;
        let slots = self.app.slots(&r.centre_id, from, to).await?;
        Ok(Response::new(pb::ListSlotsResponse {
            slots: slots
                .into_iter()
                .map(|(at, left)| pb::Slot {
                    starts_at: Some(aftercare_platform::wire::timestamp(at)),
                    seats_left: left as i32,
                })
                .collect(),
        }))
    }

    async fn book_appointment(&self, request: Request<pb::BookAppointmentRequest>) -> Answer<pb::Appointment> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let target = visits::target(&mut v, &r.schedule_id, &r.claim_id);
        visits::centre_id(&mut v, "centre_id", &r.centre_id);
        let starts_at = visits::instant(&mut v, "starts_at", r.starts_at.as_ref());
        parse::request_id(&mut v, &r.request_id);
        let (target, starts_at) = v.finish_with(target.zip(starts_at)).map_err(Error::from)?;
        let booking = Booking {
            target,
            centre_id: r.centre_id.clone(),
            starts_at,
            request_id: r.request_id.clone(),
        };
        Ok(Response::new(convert::appointment(
            &self.app.book(&caller, booking).await?,
        )))
    }

    async fn reschedule_appointment(
        &self,
        request: Request<pb::RescheduleAppointmentRequest>,
    ) -> Answer<pb::Appointment> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let id = parse::id(&mut v, "appointment_id", &r.appointment_id, AppointmentId::parse);
        let starts_at = visits::instant(&mut v, "starts_at", r.starts_at.as_ref());
        parse::request_id(&mut v, &r.request_id);
        let (id, starts_at) = v.finish_with(id.zip(starts_at)).map_err(Error::from)?;
        let a = self.app.reschedule(&caller, id, starts_at, &r.request_id).await?;
        Ok(Response::new(convert::appointment(&a)))
    }

    async fn cancel_appointment(&self, request: Request<pb::CancelAppointmentRequest>) -> Answer<pb::Appointment> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let id = parse::id(&mut v, "appointment_id", &r.appointment_id, AppointmentId::parse);
        parse::request_id(&mut v, &r.request_id);
        let id = v.finish_with(id).map_err(Error::from)?;
        let a = self.app.cancel(&caller, id, &r.request_id).await?;
        Ok(Response::new(convert::appointment(&a)))
    }

    async fn mark_no_show(&self, request: Request<pb::MarkNoShowRequest>) -> Answer<pb::Appointment> {
        let caller = caller(&request)?;
        let id = visits::appointment_id(&request.get_ref().appointment_id)?;
        Ok(Response::new(convert::appointment(
            &self.app.no_show(&caller, id).await?,
        )))
    }

    async fn complete_appointment(&self, request: Request<pb::CompleteAppointmentRequest>) -> Answer<pb::Appointment> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let id = parse::id(&mut v, "appointment_id", &r.appointment_id, AppointmentId::parse);
        parse::notes(&mut v, &r.notes);
        parse::request_id(&mut v, &r.request_id);
        let id = v.finish_with(id).map_err(Error::from)?;
        let a = self.app.complete_visit(&caller, id, &r.notes, &r.request_id).await?;
        Ok(Response::new(convert::appointment(&a)))
    }

    async fn get_appointment(&self, request: Request<pb::GetAppointmentRequest>) -> Answer<pb::Appointment> {
        let caller = caller(&request)?;
        let id = visits::appointment_id(&request.get_ref().appointment_id)?;
        Ok(Response::new(convert::appointment(
            &self.app.appointment(&caller, id).await?,
        )))
    }

    async fn list_appointments(
        &self,
        request: Request<pb::ListAppointmentsRequest>,
    ) -> Answer<pb::ListAppointmentsResponse> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let of = match (r.customer_id.as_str(), r.centre_id.as_str()) {
            (c, "") => {
                parse::customer(&mut v, c);
                Of::Customer(c)
            }
            ("", c) => {
                visits::centre_id(&mut v, "centre_id", c);
                Of::Centre(c)
            }
            _ => {
                v.add("centre_id", "exactly one of customer_id and centre_id");
                Of::Customer("")
            }
        };
        v.finish().map_err(Error::from)?;
        let page = self.app.appointments(&caller, of, r.page_size, &r.page_token).await?;
        Ok(Response::new(pb::ListAppointmentsResponse {
            appointments: page.appointments.iter().map(convert::appointment).collect(),
            next_page_token: page.next_page_token,
        }))
    }
}
