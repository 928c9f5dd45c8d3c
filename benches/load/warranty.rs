//! The warranty rows: CheckCoverage over registered products, FileClaim on
//! them, and the SLA breach scan over a million open claims with a million
//! closed ones beside them.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use aftercare_platform::auth::{Authenticator, Role};
use aftercare_proto::common::Channel as PbChannel;
use aftercare_proto::warranty::warranty_service_client::WarrantyServiceClient;
use aftercare_proto::warranty::{CheckCoverageRequest, FileClaimRequest, check_coverage_request};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::measure::CallResult;
use crate::workload::{Bearer, Call, failed};

type Warranty = WarrantyServiceClient<InterceptedService<Channel, Bearer>>;

/// Products registered for the coverage and claim rows.
pub const PRODUCTS: usize = 10_000;

pub struct WarrantyLoad {
    clients: Vec<Warranty>,
    registrations: Vec<String>,
    run: String,
}

impl WarrantyLoad {
    /// Registers [`PRODUCTS`] products (active, bought a month ago) in one
    /// statement: the rows measure the calls, not the registration path.
    pub async fn prepare(channels: &[Channel], auth: &Authenticator, pool: &sqlx::PgPool) -> WarrantyLoad {
        let service = Bearer::new(auth, Role::Service, "bench");
        let registrations: Vec<Uuid> = sqlx::query_scalar(
            "INSERT INTO warranty.registrations (registration_id, customer_id, source, status, sku, category,
                 product_name, serial_number, serial_key, purchased_at, proof_of_purchase_ref, coverage_starts_at,
                 terms_category, terms_sku, terms_version, duration_months, time_zone, created_at, updated_at)
             SELECT gen_random_uuid(), 'wc-' || g, 'manual', 'active', 'KETTLE', 'kitchen', 'Kettle',
                 'SN-BENCH-' || g, 'SNBENCH' || g, now() - interval '30 days', 'receipt', now() - interval '30 days',
                 '', '', 1, 24, 'Europe/Istanbul', now(), now()
             FROM generate_series(1, $1) g
             RETURNING registration_id",
        )
        .bind(PRODUCTS as i64)
        .fetch_all(pool)
        .await
        .expect("registrations");
        WarrantyLoad {
            clients: channels
                .iter()
                .map(|c| WarrantyServiceClient::with_interceptor(c.clone(), service.clone()))
                .collect(),
            registrations: registrations.into_iter().map(|u| u.to_string()).collect(),
            run: Uuid::now_v7().simple().to_string(),
        }
    }

    /// One CheckCoverage request, encoded, for h2load.
    pub fn check_coverage_body(&self) -> Vec<u8> {
        use prost::Message;
        CheckCoverageRequest {
            product: Some(check_coverage_request::Product::RegistrationId(
                self.registrations[0].clone(),
            )),
            at: None,
            cause: 0,
        }
        .encode_to_vec()
    }

    pub fn call(&self, row: &str, peak: bool) -> Call {
        let (clients, n) = (self.clients.clone(), self.clients.len());
        let ids = std::sync::Arc::new(self.registrations.clone());
        let boxed = |f: Pin<Box<dyn Future<Output = CallResult> + Send>>| Some(f);
        match row {
            "CheckCoverage" => Box::new(move |i: usize| {
                let mut c = clients[i % n].clone();
                let id = ids[i % ids.len()].clone();
                boxed(Box::pin(async move {
                    c.check_coverage(CheckCoverageRequest {
                        product: Some(check_coverage_request::Product::RegistrationId(id)),
                        at: None,
                        cause: 0,
                    })
                    .await
                    .map(drop)
                    .map_err(failed)
                }))
            }),
            "FileClaim" => {
                let run = format!("{}-{}", self.run, if peak { "peak" } else { "half" });
                Box::new(move |i: usize| {
                    let mut c = clients[i % n].clone();
                    let id = ids[i % ids.len()].clone();
                    let request_id = format!("{run}-{i}");
                    boxed(Box::pin(async move {
                        c.file_claim(FileClaimRequest {
                            registration_id: id,
                            fault_category: "does not heat".into(),
                            description: "The kettle stopped heating.".into(),
                            photo_urls: vec!["https://img.example/kettle.jpg".into()],
                            channel: PbChannel::MobileApp as i32,
                            request_id,
                        })
                        .await
                        .map(drop)
                        .map_err(failed)
                    }))
                })
            }
            other => panic!("no row {other}"),
        }
    }
}

pub const OPEN_CLAIMS: i64 = 1_000_000;
pub const CLOSED_CLAIMS: i64 = 1_000_000;
/// Of the open claims, those whose first-response target passed (at risk
/// and breached at once) when the scan starts.
pub const DUE_CLAIMS: i64 = 10_000;

/// A million open claims (their next alarm weeks away, but for
/// [`DUE_CLAIMS`] of them already due) and a million closed ones, in one
/// transaction: the server's SLA job starts on the due ones at its next run.
pub async fn seed_claims(pool: &sqlx::PgPool) {
    let registration: Uuid =
        sqlx::query_scalar("SELECT registration_id FROM warranty.registrations WHERE customer_id = 'wc-1'")
            .fetch_one(pool)
            .await
            .expect("a registration");
    let insert =
        |open: bool| {
            format!(
            "INSERT INTO warranty.claims (claim_id, registration_id, customer_id, status, fault_category, description,
                 photo_urls, channel, coverage_reason, offered_remedies, covers_parts, covers_labour,
                 covers_shipping, filed_at, updated_at, first_response_due, resolution_due, first_response_at,
                 resolved_at, next_alarm_at, next_due_at, remedy, first_response_risk_at, resolution_risk_at)
             SELECT gen_random_uuid(), $1, 'wc-1', {status}, 'f', 'd', '{{}}', 'web', 'covered', '{{repair}}',
                 true, true, true, now() - interval '2 days', now(), due, due + interval '30 days', {responded},
                 {resolved}, {alarm}, {next_due}, {remedy}, due - interval '4 hours 48 minutes',
                 due + interval '24 days'
             FROM (SELECT g, CASE WHEN g <= $3 THEN now() - interval '1 hour' ELSE now() + interval '20 days' END
                          AS due
                   FROM generate_series(1, $2) g) s",
            status = if open { "'submitted'" } else { "'closed'" },
            responded = if open { "NULL" } else { "now() - interval '1 day'" },
            resolved = if open { "NULL" } else { "now() - interval '1 day'" },
            alarm = if open { "due - interval '4 hours 48 minutes'" } else { "NULL" },
            next_due = if open { "due" } else { "NULL" },
            remedy = if open { "NULL" } else { "'repair'" },
        )
        };
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(&insert(false))
        .bind(registration)
        .bind(CLOSED_CLAIMS)
        .bind(0i64)
        .execute(&mut *tx)
        .await
        .expect("closed claims");
    sqlx::query(&insert(true))
        .bind(registration)
        .bind(OPEN_CLAIMS)
        .bind(DUE_CLAIMS)
        .execute(&mut *tx)
        .await
        .expect("open claims");
    tx.commit().await.unwrap();
    sqlx::query("ANALYZE warranty.claims").execute(pool).await.unwrap();
}

/// Waits until no claim has an alarm due; how long that took.
pub async fn until_raised(pool: &sqlx::PgPool) -> Duration {
    let started = Instant::now();
    loop {
        let left: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM warranty.claims WHERE next_alarm_at <= now())")
                .fetch_one(pool)
                .await
                .unwrap();
        if !left {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "the SLA job never finished"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The alarms the job raised, and the plan of its scan's statement.
pub async fn report(pool: &sqlx::PgPool) -> (i64, Vec<String>) {
    let raised: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM platform.outbox_events
         WHERE topic IN ('aftercare.warranty.events.v1.ClaimSlaAtRisk', 'aftercare.warranty.events.v1.ClaimSlaBreached')",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN SELECT claim_id FROM warranty.claims WHERE next_alarm_at <= now()
         ORDER BY next_alarm_at LIMIT 200 FOR UPDATE SKIP LOCKED",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    (raised, plan)
}
