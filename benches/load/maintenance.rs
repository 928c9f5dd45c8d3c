//! The maintenance rows: ListSchedules (a customer's upcoming maintenance,
//! page 20) and BookAppointment, and the reminder job over a million
//! schedules of which a tenth are due.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aftercare_platform::auth::{Authenticator, Role};
use aftercare_proto::maintenance::maintenance_service_client::MaintenanceServiceClient;
use aftercare_proto::maintenance::{
    BookAppointmentRequest, Centre, ListSchedulesRequest, MaintenancePlan, MaintenanceTask, Opening,
    UpsertCentreRequest, UpsertPlanRequest,
};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::measure::CallResult;
use crate::workload::{Bearer, Call, failed};

type Maintenance = MaintenanceServiceClient<InterceptedService<Channel, Bearer>>;

/// Customers with schedules, and schedules each: ListSchedules reads a
/// full page of 20; BookAppointment books each schedule's occurrence once.
const CUSTOMERS: i64 = 1_000;
const PER_CUSTOMER: i64 = 40;

pub struct MaintenanceLoad {
    clients: Vec<Maintenance>,
    schedules: Arc<Vec<String>>,
    /// The next schedule to book for, across the peak and half-rate runs.
    next: Arc<AtomicUsize>,
    /// Slot starts to spread bookings over.
    slots: Arc<Vec<prost_types::Timestamp>>,
    run: String,
}

fn task() -> MaintenanceTask {
    MaintenanceTask {
        task_id: "descale".into(),
        name: "Descale".into(),
        interval_days: 0,
        interval_months: 6,
        anchor: "fixed".into(),
        lead_days: 7,
        overdue_days: 14,
        max_reminders: 3,
        ..Default::default()
    }
}

impl MaintenanceLoad {
    /// A plan, a centre open round the clock with 1,000 seats a slot, and
    /// [`CUSTOMERS`] x [`PER_CUSTOMER`] schedules written in one statement.
    pub async fn prepare(channels: &[Channel], auth: &Authenticator, pool: &sqlx::PgPool) -> MaintenanceLoad {
        let mut admin = write_plan(channels[0].clone(), auth).await;
        admin
            .upsert_centre(UpsertCentreRequest {
                centre: Some(Centre {
                    centre_id: "bench".into(),
                    name: "Bench centre".into(),
                    time_zone: "Europe/Istanbul".into(),
                    opening: (1..=7)
                        .map(|d| Opening {
                            weekday: d,
                            open: "00:00".into(),
                            close: "23:45".into(),
                        })
                        .collect(),
                    slot_minutes: 15,
                    capacity: 1000,
                    cancel_cutoff_hours: 24,
                    updated_at: None,
                }),
            })
            .await
            .expect("centre");
        let schedules: Vec<uuid::Uuid> =
            sqlx::query_scalar(&schedules_sql("'mc-' || (g % $1)", "now() + interval '60 days'"))
                .bind(CUSTOMERS)
                .bind(CUSTOMERS * PER_CUSTOMER)
                .fetch_all(pool)
                .await
                .expect("schedules");
        // Slots from the day after tomorrow on, every 15 minutes but the
        // last of each day (23:45 in Istanbul, which has no daylight
        // saving: UTC midnight is 03:00 there, so 23:45 is k = 83 of 96).
        let day = chrono::Utc::now().date_naive() + chrono::Days::new(2);
        let start = day.and_hms_opt(0, 0, 0).unwrap().and_utc();
        let slots = (0..96 * 7)
            .filter(|k| k % 96 != 83)
            .map(|k| aftercare_platform::wire::timestamp(start + chrono::Duration::minutes(15 * k)))
            .collect();
        let service = Bearer::new(auth, Role::Service, "bench");
        MaintenanceLoad {
            clients: channels
                .iter()
                .map(|c| MaintenanceServiceClient::with_interceptor(c.clone(), service.clone()))
                .collect(),
            schedules: Arc::new(schedules.into_iter().map(|u| u.to_string()).collect()),
            next: Arc::default(),
            slots: Arc::new(slots),
            run: uuid::Uuid::now_v7().simple().to_string(),
        }
    }

    /// One ListSchedules request, encoded, for h2load.
    pub fn list_schedules_body(&self) -> Vec<u8> {
        use prost::Message;
        ListSchedulesRequest {
            customer_id: "mc-0".into(),
            page_size: 20,
            page_token: String::new(),
        }
        .encode_to_vec()
    }

    pub fn call(&self, row: &str, peak: bool) -> Call {
        let (clients, n) = (self.clients.clone(), self.clients.len());
        let boxed = |f: Pin<Box<dyn Future<Output = CallResult> + Send>>| Some(f);
        match row {
            "ListSchedules" => Box::new(move |i: usize| {
                let mut c = clients[i % n].clone();
                boxed(Box::pin(async move {
                    c.list_schedules(ListSchedulesRequest {
                        customer_id: format!("mc-{}", i as i64 % CUSTOMERS),
                        page_size: 20,
                        page_token: String::new(),
                    })
                    .await
                    .map(drop)
                    .map_err(failed)
                }))
            }),
            "BookAppointment" => {
                let (schedules, next, slots) = (self.schedules.clone(), self.next.clone(), self.slots.clone());
                let run = format!("{}-{}", self.run, if peak { "peak" } else { "half" });
                Box::new(move |i: usize| {
                    // Each schedule's occurrence is booked once.
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let schedule_id = schedules.get(k)?.clone();
                    let mut c = clients[i % n].clone();
                    let request = BookAppointmentRequest {
                        schedule_id,
                        centre_id: "bench".into(),
                        starts_at: Some(slots[k % slots.len()]),
                        request_id: format!("{run}-{i}"),
                        ..Default::default()
                    };
                    boxed(Box::pin(async move {
                        c.book_appointment(request).await.map(drop).map_err(failed)
                    }))
                })
            }
            other => panic!("no row {other}"),
        }
    }
}

/// Schedules of the bench's plan: `$2` of them, customer by `customer`,
/// next reminder at `next`; their ids.
fn schedules_sql(customer: &str, next: &str) -> String {
    format!(
        "INSERT INTO maintenance.schedules (schedule_id, registration_id, customer_id, sku, product_name,
             plan_category, plan_sku, plan_version, task_id, time_zone, start_date, slot, due_date, status,
             next_reminder_at, created_at, updated_at, task_name)
         SELECT gen_random_uuid(), gen_random_uuid(), {customer}, 'KETTLE', 'Kettle', 'kitchen', '', 1, 'descale',
             'Europe/Istanbul', current_date - 180, 1, current_date, 'active', {next}, now(), now(), 'Descale'
         FROM generate_series(1, $2) g
         RETURNING schedule_id"
    )
}

pub const SCAN_SCHEDULES: i64 = 1_000_000;
/// Of those, the ones whose reminder is due when the scan starts.
pub const SCAN_DUE: i64 = 100_000;

/// The kitchen plan the schedules follow; the admin's client.
pub async fn write_plan(channel: Channel, auth: &Authenticator) -> Maintenance {
    let mut admin = MaintenanceServiceClient::with_interceptor(channel, Bearer::new(auth, Role::Admin, "bench-admin"));
    admin
        .upsert_plan(UpsertPlanRequest {
            plan: Some(MaintenancePlan {
                category: "kitchen".into(),
                name: "Kitchen care".into(),
                tasks: vec![task()],
                ..Default::default()
            }),
        })
        .await
        .expect("plan");
    admin
}

/// A million schedules in one transaction, a tenth of them due now (their
/// occurrence due today; their customers reachable at any hour, so that
/// the run does not depend on the time of day), the rest in two months.
pub async fn seed_schedules(pool: &sqlx::PgPool) {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO maintenance.preferences (customer_id, time_zone, quiet_start, quiet_end, channels, opted_out,
             updated_at)
         SELECT 'ms-' || g, '', '00:00', '00:00', '{push}', false, now() FROM generate_series(0, 9999) g",
    )
    .execute(&mut *tx)
    .await
    .expect("preferences");
    let due_ids: Vec<uuid::Uuid> = sqlx::query_scalar(&schedules_sql("'ms-' || (g % $1)", "now() - interval '1 hour'"))
        .bind(10_000i64)
        .bind(SCAN_DUE)
        .fetch_all(&mut *tx)
        .await
        .expect("due schedules");
    assert_eq!(due_ids.len() as i64, SCAN_DUE);
    sqlx::query(&schedules_sql("'mz-' || (g % $1)", "now() + interval '60 days'"))
        .bind(100_000i64)
        .bind(SCAN_SCHEDULES - SCAN_DUE)
        .execute(&mut *tx)
        .await
        .expect("other schedules");
    tx.commit().await.unwrap();
    sqlx::query("ANALYZE maintenance.schedules")
        .execute(pool)
        .await
        .unwrap();
}

/// Waits until no schedule has a reminder due; how long that took, and
/// the span from the first reminder's batch to the last.
pub async fn until_sent(pool: &sqlx::PgPool) -> (Duration, Duration) {
    let started = Instant::now();
    loop {
        let left: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM maintenance.schedules WHERE next_reminder_at <= now() AND status = 'active')",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if !left {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "the reminder job never finished"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let span: f64 = sqlx::query_scalar(
        "SELECT coalesce(extract(epoch FROM max(sent_at) - min(sent_at)), 0)::float8 FROM maintenance.reminders",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    (started.elapsed(), Duration::from_secs_f64(span))
}

/// The reminders sent, and the plan of the job's claim.
pub async fn report(pool: &sqlx::PgPool) -> (i64, Vec<String>) {
    let sent: i64 = sqlx::query_scalar("SELECT count(*) FROM maintenance.reminders")
        .fetch_one(pool)
        .await
        .unwrap();
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN SELECT schedule_id FROM maintenance.schedules WHERE next_reminder_at <= now() AND status = 'active'
         ORDER BY next_reminder_at LIMIT 500 FOR UPDATE SKIP LOCKED",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    (sent, plan)
}

/// The reminder job over a million schedules, a tenth due: seeded, run by
/// the server as deployed, reported.
pub async fn reminder_job(pool: &sqlx::PgPool) {
    seed_schedules(pool).await;
    let (took, span) = until_sent(pool).await;
    let (reminders, plan) = report(pool).await;
    println!(
        "\nReminder job: {} schedules ({} of them due now); the job sent {} reminders in {:.1} s from their \
         commit ({:.0} reminders/s), {:.1} s from its first batch to its last ({:.0} reminders/s). Its \
         claim's plan:\n",
        SCAN_SCHEDULES,
        SCAN_DUE,
        reminders,
        took.as_secs_f64(),
        reminders as f64 / took.as_secs_f64().max(1e-9),
        span.as_secs_f64(),
        reminders as f64 / span.as_secs_f64().max(1e-9),
    );
    for line in &plan {
        println!("    {line}");
    }
}
