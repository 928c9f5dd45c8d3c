//! The loyalty rows: accounts to read, checkouts (a hold, then its capture)
//! spread over many accounts and all on one hot account, and the expiry job
//! over a million lots with checkouts running meanwhile.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use aftercare_platform::auth::{Authenticator, Role};
use aftercare_proto::loyalty::loyalty_service_client::LoyaltyServiceClient;
use aftercare_proto::loyalty::{AdjustPointsRequest, CapturePointsRequest, GetAccountRequest, HoldPointsRequest};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::measure::CallResult;
use crate::workload::{Bearer, Call, failed, in_parallel};

type Loyalty = LoyaltyServiceClient<InterceptedService<Channel, Bearer>>;

/// Accounts checkouts spread over; each starts with more points than any
/// run can spend.
pub const ACCOUNTS: usize = 1000;
const BALANCE: i64 = 1_000_000_000;
const HOT: &str = "lc-hot";

pub struct LoyaltyLoad {
    clients: Vec<Loyalty>,
    run: String,
}

fn account(i: usize) -> String {
    format!("lc-{}", i % ACCOUNTS)
}

impl LoyaltyLoad {
    pub async fn prepare(channels: &[Channel], auth: &Authenticator) -> LoyaltyLoad {
        let service = Bearer::new(auth, Role::Service, "bench");
        let admin = Bearer::new(auth, Role::Admin, "bench-admin");
        let admins: Vec<Loyalty> = channels
            .iter()
            .map(|c| LoyaltyServiceClient::with_interceptor(c.clone(), admin.clone()))
            .collect();
        let run = uuid::Uuid::now_v7().simple().to_string();
        let key = run.clone();
        in_parallel(ACCOUNTS + 1, channels.len(), move |i| {
            let mut client = admins[i % admins.len()].clone();
            let customer = if i == ACCOUNTS { HOT.to_owned() } else { account(i) };
            let request_id = format!("{key}-seed-{i}");
            async move {
                client
                    .adjust_points(AdjustPointsRequest {
                        customer_id: customer,
                        points: BALANCE,
                        reason: "benchmark balance".into(),
                        request_id,
                    })
                    .await
                    .unwrap()
            }
        })
        .await;
        LoyaltyLoad {
            clients: channels
                .iter()
                .map(|c| LoyaltyServiceClient::with_interceptor(c.clone(), service.clone()))
                .collect(),
            run,
        }
    }

    /// The call of a loyalty row; `peak` is false for its half-rate run.
    pub fn call(&self, row: &str, peak: bool) -> Call {
        let clients = self.clients.clone();
        let n = clients.len();
        let run = format!("{}-{}-{}", self.run, row.len(), if peak { "peak" } else { "half" });
        let boxed = |f: Pin<Box<dyn Future<Output = CallResult> + Send>>| Some(f);
        match row {
            "GetAccount" => Box::new(move |i: usize| {
                let mut c = clients[i % n].clone();
                boxed(Box::pin(async move {
                    c.get_account(GetAccountRequest {
                        customer_id: account(i),
                    })
                    .await
                    .map(drop)
                    .map_err(failed)
                }))
            }),
            "Hold+Capture (many accounts)" | "Hold+Capture (one hot account)" => {
                let hot = row.contains("hot");
                Box::new(move |i: usize| {
                    let mut c = clients[i % n].clone();
                    let customer = if hot { HOT.to_owned() } else { account(i) };
                    let request_id = format!("{run}-{i}");
                    boxed(Box::pin(async move {
                        let hold = c
                            .hold_points(HoldPointsRequest {
                                customer_id: customer,
                                points: 100,
                                order_ref: request_id.clone(),
                                ttl_seconds: 0,
                                request_id,
                            })
                            .await
                            .map_err(failed)?
                            .into_inner();
                        c.capture_points(CapturePointsRequest {
                            hold_id: hold.hold_id,
                            points: 0,
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

/// A million lots already past their expiry, 100 each for 10,000
/// customers whose balances hold them, written in one transaction: the
/// server's job starts on them at its next run.
pub const EXPIRING_LOTS: i64 = 1_000_000;
pub const EXPIRING_CUSTOMERS: i64 = 10_000;

pub async fn seed_expired_lots(pool: &sqlx::PgPool) {
    let per_customer = EXPIRING_LOTS / EXPIRING_CUSTOMERS;
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO loyalty.accounts (customer_id, available, lifetime_earned, created_at, updated_at)
         SELECT 'exp-' || c, $1 * 10, $1 * 10, now(), now() FROM generate_series(1, $2) c",
    )
    .bind(per_customer)
    .bind(EXPIRING_CUSTOMERS)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO loyalty.lots (lot_id, customer_id, source, earned, remaining, state, matures_at, expires_at,
             created_at)
         SELECT gen_random_uuid(), 'exp-' || (g % $2 + 1), 'grant', 10, 10, 'available',
             now() - interval '3 years', now() - interval '1 hour', now() - interval '3 years'
         FROM generate_series(0, $1 - 1) g",
    )
    .bind(EXPIRING_LOTS)
    .bind(EXPIRING_CUSTOMERS)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// Waits until no lot is left past its expiry with points in it; how long
/// that took.
pub async fn until_expired(pool: &sqlx::PgPool) -> Duration {
    let started = Instant::now();
    loop {
        let left: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM loyalty.lots
                            WHERE state = 'available' AND remaining > 0 AND expires_at <= now())",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if !left {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "the expiry job never finished"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The expiry entries the job wrote for the seeded customers.
pub async fn expired_entries(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM loyalty.entries WHERE kind = 'expired' AND customer_id LIKE 'exp-%'")
        .fetch_one(pool)
        .await
        .unwrap()
}
