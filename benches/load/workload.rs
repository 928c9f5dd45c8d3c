//! The benchmark's data and calls: orders to read, delivered orders to
//! return from, returns received and waiting for their refund, and one
//! call per row.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aftercare_platform::auth::{Authenticator, Role};
use aftercare_platform::wire::timestamp as to_proto;
use aftercare_proto::common::{Channel as PbChannel, Money};
use aftercare_proto::orders::order_service_client::OrderServiceClient;
use aftercare_proto::orders::{
    GetOrderRequest, ListOrdersRequest, OrderLineInput, RecordDeliveryRequest, RecordOrderRequest,
};
use aftercare_proto::returns::return_service_client::ReturnServiceClient;
use aftercare_proto::returns::{
    ApproveReturnRequest, CheckEligibilityRequest, CreateReturnRequest, GetReturnRequest, Grade, IssueRefundRequest,
    ReceiveReturnRequest, ReceivedItem, RecordReturnShipmentRequest, Resolution, ReturnItemInput, ReturnReason,
};
use prost::Message;
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::loyalty::LoyaltyLoad;
use crate::maintenance::MaintenanceLoad;
use crate::measure::CallResult;
use crate::warranty::WarrantyLoad;

type Orders = OrderServiceClient<InterceptedService<Channel, Bearer>>;
type Returns = ReturnServiceClient<InterceptedService<Channel, Bearer>>;
pub type Call = Box<dyn Fn(usize) -> Option<Pin<Box<dyn Future<Output = CallResult> + Send>>> + Send + Sync>;

/// Adds a bearer token to every call.
#[derive(Clone)]
pub struct Bearer(MetadataValue<tonic::metadata::Ascii>);

impl Bearer {
    pub fn new(auth: &Authenticator, role: Role, subject: &str) -> Bearer {
        let token = auth.issue(role, subject, Duration::from_secs(3600)).unwrap();
        Bearer(format!("Bearer {token}").parse().unwrap())
    }
}

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut r: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        r.metadata_mut().insert("authorization", self.0.clone());
        Ok(r)
    }
}

/// Orders to read (`seed-*`, one customer), delivered orders of three
/// 10,000-unit lines to return from (`ret-*`), returns to read, and
/// received returns waiting for their refund.
pub struct Workload {
    channels: Vec<Channel>,
    service: Bearer,
    health: Vec<HealthClient<Channel>>,
    run: String,
    returns: Arc<Vec<String>>,
    refundable: Arc<Vec<String>>,
    refunded: Arc<AtomicUsize>,
    loyalty: Option<LoyaltyLoad>,
    warranty: Option<WarrantyLoad>,
    maintenance: Option<MaintenanceLoad>,
}

const SEED_ORDERS: usize = 50;
const RETURN_ORDERS: usize = 200;
/// Received returns prepared for the IssueRefund row; the peak run takes at
/// most two thirds of them, the half-rate run the rest.
const REFUNDABLE: usize = 6000;

fn eur(a: &str) -> Option<Money> {
    Some(Money {
        currency_code: "EUR".into(),
        amount: a.into(),
    })
}

/// A three-line order placed a day before the benchmark started.
fn order(id: &str, customer: &str, quantity: i32) -> RecordOrderRequest {
    static PLACED_AT: std::sync::OnceLock<prost_types::Timestamp> = std::sync::OnceLock::new();
    let placed_at = PLACED_AT.get_or_init(|| to_proto(chrono::Utc::now() - chrono::Duration::days(1)));
    let line = |id: &str, q: i32| OrderLineInput {
        line_id: id.into(),
        sku: format!("SKU-{id}"),
        product_name: "Kettle".into(),
        category: "kitchen".into(),
        quantity: q,
        unit_price: eur("24.95"),
        discount: None,
        serial_numbers: vec![],
        extends_line_id: String::new(),
    };
    RecordOrderRequest {
        order_id: id.into(),
        customer_id: customer.into(),
        placed_at: Some(*placed_at),
        currency_code: "EUR".into(),
        channel: PbChannel::Web as i32,
        lines: vec![line("1", quantity), line("2", quantity), line("3", quantity)],
        shipping_amount: eur("4.99"),
        order_discount: eur("5.00"),
    }
}

fn new_return(order_id: &str, line: usize) -> CreateReturnRequest {
    CreateReturnRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        order_id: order_id.into(),
        channel: PbChannel::Web as i32,
        items: vec![ReturnItemInput {
            line_id: ["1", "2", "3"][line % 3].into(),
            quantity: 1,
            reason: ReturnReason::ChangedMind as i32,
            resolution: Resolution::Refund as i32,
            ..Default::default()
        }],
    }
}

pub fn failed(e: tonic::Status) -> String {
    format!("{:?}: {}", e.code(), e.message())
}

/// Runs `f(i)` for i in 0..n from `concurrency` tasks; panics on a failure
/// (preparation must succeed).
pub async fn in_parallel<T, F, Fut>(n: usize, concurrency: usize, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = T> + Send,
{
    let f = Arc::new(f);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (f, next) = (f.clone(), next.clone());
        tasks.spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return out;
                }
                out.push((i, f(i).await));
            }
        });
    }
    let mut all = Vec::with_capacity(n);
    while let Some(part) = tasks.join_next().await {
        all.extend(part.expect("preparation failed"));
    }
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, t)| t).collect()
}

impl Workload {
    pub async fn prepare(url: &str, auth: Arc<Authenticator>, connections: usize, pool: &sqlx::PgPool) -> Workload {
        let mut channels = Vec::new();
        for _ in 0..connections.max(1) {
            channels.push(
                Channel::from_shared(url.to_owned())
                    .unwrap()
                    .connect()
                    .await
                    .expect("connect"),
            );
        }
        let service = Bearer::new(&auth, Role::Service, "bench");
        let agent = Bearer::new(&auth, Role::Agent, "bench-agent");
        let health = channels.iter().map(|c| HealthClient::new(c.clone())).collect();
        let mut w = Workload {
            channels,
            service,
            health,
            run: uuid::Uuid::now_v7().simple().to_string(),
            returns: Arc::default(),
            refundable: Arc::default(),
            refunded: Arc::default(),
            loyalty: None,
            warranty: None,
            maintenance: None,
        };
        let orders = w.orders(0);
        in_parallel(SEED_ORDERS, connections, move |i| {
            let mut o = orders.clone();
            async move { o.record_order(order(&format!("seed-{i}"), "c-seed", 1)).await.unwrap() }
        })
        .await;
        // Delivered orders: `ret-*` to return from, `ref-*` for refunds.
        let orders = w.orders(0);
        in_parallel(RETURN_ORDERS * 2, connections, move |i| {
            let mut o = orders.clone();
            let id = if i < RETURN_ORDERS {
                format!("ret-{i}")
            } else {
                format!("ref-{i}")
            };
            async move {
                o.record_order(order(&id, &format!("c-{i}"), 10_000)).await.unwrap();
                let delivery = RecordDeliveryRequest {
                    order_id: id,
                    delivered_at: Some(to_proto(chrono::Utc::now())),
                    line_ids: vec![],
                };
                o.record_delivery(delivery).await.unwrap();
            }
        })
        .await;
        // Returns to read.
        let returns = w.returns_client(0);
        let ids = in_parallel(SEED_ORDERS, connections, move |i| {
            let mut r = returns.clone();
            async move {
                let created = r.create_return(new_return(&format!("ret-{i}"), i)).await.unwrap();
                created.into_inner().return_id
            }
        })
        .await;
        w.returns = Arc::new(ids);
        // Received returns, waiting for their refund.
        let (returns, channel) = (w.returns_client(0), w.channels[0].clone());
        let ids = in_parallel(REFUNDABLE, connections, move |i| {
            let mut r = returns.clone();
            let mut staff = ReturnServiceClient::with_interceptor(channel.clone(), agent.clone());
            async move {
                let order_id = format!("ref-{}", RETURN_ORDERS + i % RETURN_ORDERS);
                let id = r
                    .create_return(new_return(&order_id, i))
                    .await
                    .unwrap()
                    .into_inner()
                    .return_id;
                let approve = ApproveReturnRequest {
                    return_id: id.clone(),
                    note: String::new(),
                };
                staff.approve_return(approve).await.unwrap();
                let shipment = RecordReturnShipmentRequest {
                    return_id: id.clone(),
                    carrier: "DHL".into(),
                    tracking_number: "JD0001".into(),
                };
                r.record_return_shipment(shipment).await.unwrap();
                let receipt = ReceiveReturnRequest {
                    return_id: id.clone(),
                    items: vec![ReceivedItem {
                        line_id: ["1", "2", "3"][i % 3].into(),
                        received_quantity: 1,
                        grade: Grade::Resellable as i32,
                    }],
                };
                staff.receive_return(receipt).await.unwrap();
                id
            }
        })
        .await;
        w.refundable = Arc::new(ids);
        w.loyalty = Some(LoyaltyLoad::prepare(&w.channels, &auth).await);
        w.warranty = Some(WarrantyLoad::prepare(&w.channels, &auth, pool).await);
        w.maintenance = Some(MaintenanceLoad::prepare(&w.channels, &auth, pool).await);
        w
    }

    fn orders(&self, i: usize) -> Orders {
        OrderServiceClient::with_interceptor(self.channels[i % self.channels.len()].clone(), self.service.clone())
    }

    fn returns_client(&self, i: usize) -> Returns {
        ReturnServiceClient::with_interceptor(self.channels[i % self.channels.len()].clone(), self.service.clone())
    }

    /// The call of a row; `peak` is false for its half-rate run.
    pub fn call(&self, row: &str, peak: bool) -> Call {
        let n = self.channels.len();
        let orders: Vec<Orders> = (0..n).map(|i| self.orders(i)).collect();
        let returns: Vec<Returns> = (0..n).map(|i| self.returns_client(i)).collect();
        macro_rules! row {
            // The request is built before the call's future, which owns it.
            (|$i:ident, $o:ident, $r:ident| $req:ident = $build:expr; $body:expr) => {
                Box::new(move |$i: usize| {
                    let (mut $o, mut $r) = (orders[$i % n].clone(), returns[$i % n].clone());
                    let _ = (&mut $o, &mut $r);
                    let $req = $build;
                    Some(Box::pin(async move { $body }) as Pin<Box<dyn Future<Output = CallResult> + Send>>)
                })
            };
        }
        match row {
            "Health/Check (transport only)" => {
                let health = self.health.clone();
                Box::new(move |i: usize| {
                    let mut h = health[i % n].clone();
                    Some(Box::pin(async move {
                        h.check(HealthCheckRequest { service: String::new() })
                            .await
                            .map(drop)
                            .map_err(failed)
                    })
                        as Pin<Box<dyn Future<Output = CallResult> + Send>>)
                })
            }
            "GetOrder" => row!(|i, o, r| req = GetOrderRequest {
                    order_id: format!("seed-{}", i % SEED_ORDERS),
                }; o.get_order(req).await.map(drop).map_err(failed)),
            "GetReturn" => {
                let ids = self.returns.clone();
                row!(|i, o, r| req = GetReturnRequest {
                        return_id: ids[i % ids.len()].clone(),
                    }; r.get_return(req).await.map(drop).map_err(failed))
            }
            "CheckEligibility" => row!(|i, o, r| req = CheckEligibilityRequest {
                    order_id: format!("ret-{}", i % RETURN_ORDERS),
                    line_ids: vec![],
                }; r.check_eligibility(req).await.map(drop).map_err(failed)),
            "ListOrders (page 20)" => row!(|i, o, r| req = ListOrdersRequest {
                    customer_id: "c-seed".into(),
                    page_size: 20,
                    page_token: String::new(),
                }; o.list_orders(req).await.map(drop).map_err(failed)),
            "RecordOrder (new)" => {
                let run = format!("{}-{}", self.run, if peak { "peak" } else { "half" });
                row!(|i, o, r| req = order(&format!("{run}-{i}"), &format!("c-{}", i % 500), 1); o.record_order(req).await.map(drop).map_err(failed))
            }
            "RecordOrder (replay)" => {
                row!(|i, o, r| req = order(&format!("seed-{}", i % SEED_ORDERS), "c-seed", 1); o.record_order(req).await.map(drop).map_err(failed))
            }
            "CreateReturn" => {
                row!(|i, o, r| req = new_return(&format!("ret-{}", i % RETURN_ORDERS), i); r.create_return(req).await.map(drop).map_err(failed))
            }
            "IssueRefund" => {
                let (ids, next) = (self.refundable.clone(), self.refunded.clone());
                let limit = if peak { ids.len() * 2 / 3 } else { ids.len() };
                Box::new(move |i: usize| {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= limit {
                        return None;
                    }
                    let (mut r, id) = (returns[i % n].clone(), ids[k].clone());
                    Some(Box::pin(async move {
                        let req = IssueRefundRequest {
                            return_id: id,
                            request_id: uuid::Uuid::now_v7().to_string(),
                        };
                        r.issue_refund(req).await.map(drop).map_err(failed)
                    })
                        as Pin<Box<dyn Future<Output = CallResult> + Send>>)
                })
            }
            "CheckCoverage" | "FileClaim" => self.warranty.as_ref().expect("warranty prepared").call(row, peak),
            "ListSchedules" | "BookAppointment" => {
                self.maintenance.as_ref().expect("maintenance prepared").call(row, peak)
            }
            other => self.loyalty.as_ref().expect("loyalty prepared").call(other, peak),
        }
    }

    /// The returns the read rows get.
    pub fn return_ids(&self) -> Arc<Vec<String>> {
        self.returns.clone()
    }

    pub fn get_order_body(&self) -> Vec<u8> {
        GetOrderRequest {
            order_id: "seed-0".into(),
        }
        .encode_to_vec()
    }

    pub fn get_account_body(&self) -> Vec<u8> {
        aftercare_proto::loyalty::GetAccountRequest {
            customer_id: "lc-1".into(),
        }
        .encode_to_vec()
    }

    pub fn get_return_body(&self) -> Vec<u8> {
        GetReturnRequest {
            return_id: self.returns[0].clone(),
        }
        .encode_to_vec()
    }

    pub fn check_coverage_body(&self) -> Vec<u8> {
        self.warranty.as_ref().expect("warranty prepared").check_coverage_body()
    }

    pub fn list_schedules_body(&self) -> Vec<u8> {
        self.maintenance
            .as_ref()
            .expect("maintenance prepared")
            .list_schedules_body()
    }

    pub fn check_eligibility_body(&self) -> Vec<u8> {
        CheckEligibilityRequest {
            order_id: "ret-0".into(),
            line_ids: vec![],
        }
        .encode_to_vec()
    }

    /// Opens `n` HTTP/2 connections, each used for one health check and
    /// then left idle; they stay open while the returned value lives.
    pub async fn idle_connections(&self, url: &str, n: usize) -> Vec<Channel> {
        let mut open = Vec::with_capacity(n);
        for _ in 0..n {
            let channel = Channel::from_shared(url.to_owned())
                .unwrap()
                .connect()
                .await
                .expect("connect");
            HealthClient::new(channel.clone())
                .check(HealthCheckRequest { service: String::new() })
                .await
                .expect("health");
            open.push(channel);
        }
        open
    }
}
