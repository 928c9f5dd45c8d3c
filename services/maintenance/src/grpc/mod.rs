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
use crate::app::schedules::Completion;
use Role::{Admin, Agent, Customer, Service};

/// Who may call what. Customers additionally act on their own schedules
/// and preferences only.
pub const ROLES: RoleTable = &[
    ("UpsertPlan", &[Admin]),
    ("ListPlans", &[Agent, Admin, Service]),
    ("GetSchedule", &[Customer, Agent, Admin, Service]),
    ("ListSchedules", &[Customer, Agent, Admin, Service]),
    ("RecordService", &[Customer, Agent, Service]),
    ("GetPreferences", &[Customer, Agent, Service]),
    ("UpdatePreferences", &[Customer, Service]),
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
            schedules: page.schedules.iter().map(convert::schedule).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn record_service(&self, request: Request<pb::RecordServiceRequest>) -> Answer<pb::Schedule> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let id = v.take(
            "schedule_id",
            parse::schedule_id(&r.schedule_id).map_err(|_| "is not a valid id"),
        );
        let done_on = parse::date(&mut v, "done_on", &r.done_on);
        parse::notes(&mut v, &r.notes);
        parse::request_id(&mut v, &r.request_id);
        v.finish().map_err(Error::from)?;
        let (id, done_on) = id
            .zip(done_on)
            .ok_or_else(|| Error::invalid("schedule_id", "is required"))?;
        let completion = Completion {
            done_on,
            notes: r.notes.clone(),
            request_id: r.request_id.clone(),
        };
        Ok(Response::new(convert::schedule(
            &self.app.record_service(&caller, id, completion).await?,
        )))
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
}
