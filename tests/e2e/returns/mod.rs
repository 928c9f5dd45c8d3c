//! ReturnService end to end: policies, eligibility, every lifecycle path,
//! refunds exactly once under races, exchanges, timelines, roles, bad input.

mod access;
mod automation;
mod bad_input;
mod consistency;
mod example_automation;
mod exchanges;
mod ledger;
mod money;
mod plans;
mod policies;
mod privacy;
mod races;
mod retries;
mod roles;
mod settlement;
mod transitions;
mod visibility;

use aftercare_platform::auth::Role;
use aftercare_proto::common::{Channel, Money};
use aftercare_proto::orders::{CancelOrderRequest, RecordDeliveryRequest};
use aftercare_proto::returns::*;
use chrono::Duration;
use prost_types::FieldMask;
use tonic::Code;

use crate::fixtures::{eur, line, order, ts};
use crate::support::{Returns, TestApp, reason, start_time, violated_fields};

const CUSTOMER: &str = "c-1";

fn amount(m: &Option<Money>) -> &str {
    &m.as_ref().expect("money set").amount
}

/// Records order `order_id` of c-1 (L1: 2 units paid 15.00; L2 and L3: 1 unit
/// paid 7.50 each), delivers it now, and waits until returns knows it.
async fn delivered_order(app: &TestApp, order_id: &str) {
    record_delivered(app, order(order_id, CUSTOMER)).await;
}

/// Records `request`, delivers every line now, and waits until returns knows.
async fn record_delivered(app: &TestApp, request: aftercare_proto::orders::RecordOrderRequest) {
    let order_id = request.order_id.clone();
    let mut storefront = app.storefront();
    storefront.record_order(request).await.unwrap();
    storefront
        .record_delivery(RecordDeliveryRequest {
            order_id,
            delivered_at: ts(app_now(app)),
            line_ids: vec![],
        })
        .await
        .unwrap();
    app.settle().await;
}

/// Flags c-1 for manual review.
async fn flag_customer(app: &TestApp, note: &str) {
    agent(app)
        .set_customer_flag(SetCustomerFlagRequest {
            customer_id: CUSTOMER.into(),
            flagged: true,
            note: note.into(),
        })
        .await
        .unwrap();
}

/// Approves returns up to 100.00 at once, and lets the customer keep items
/// up to 10.00.
async fn keep_small_returns(app: &TestApp) {
    policy(
        app,
        ReturnPolicy {
            auto_approve_max_refund: eur_list("100"),
            keep_item_max_refund: eur_list("10"),
            ..Default::default()
        },
        &["auto_approve_max_refund", "keep_item_max_refund"],
    )
    .await;
}

/// Lets replacements ship at approval.
async fn allow_advance_exchange(app: &TestApp) {
    policy(
        app,
        ReturnPolicy {
            advance_exchange: true,
            ..Default::default()
        },
        &["advance_exchange"],
    )
    .await;
}

fn app_now(app: &TestApp) -> chrono::DateTime<chrono::Utc> {
    use aftercare_platform::clock::Clock;
    app.clock.now()
}

fn item(line_id: &str, quantity: i32, reason: ReturnReason, resolution: Resolution) -> ReturnItemInput {
    ReturnItemInput {
        line_id: line_id.into(),
        quantity,
        reason: reason as i32,
        note: "does not fit".into(),
        photo_urls: vec!["https://img.example/1.jpg".into()],
        resolution: resolution as i32,
        ..Default::default()
    }
}

pub(crate) fn refund_item(line_id: &str, quantity: i32) -> ReturnItemInput {
    item(line_id, quantity, ReturnReason::ChangedMind, Resolution::Refund)
}

pub(crate) fn store_credit_item(line_id: &str, quantity: i32) -> ReturnItemInput {
    item(line_id, quantity, ReturnReason::ChangedMind, Resolution::StoreCredit)
}

pub(crate) fn create(order_id: &str, items: Vec<ReturnItemInput>) -> CreateReturnRequest {
    CreateReturnRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        order_id: order_id.into(),
        channel: Channel::MobileApp as i32,
        items,
    }
}

fn customer(app: &TestApp) -> Returns {
    app.returns(Role::Customer, CUSTOMER)
}

fn agent(app: &TestApp) -> Returns {
    app.returns(Role::Agent, "agent-1")
}

fn service(app: &TestApp) -> Returns {
    app.returns(Role::Service, "payments")
}

/// Sets the masked fields of the default policy.
pub(crate) async fn policy(app: &TestApp, p: ReturnPolicy, fields: &[&str]) -> ReturnPolicy {
    app.returns(Role::Admin, "admin-1")
        .update_return_policy(UpdateReturnPolicyRequest {
            policy: Some(p),
            update_mask: Some(FieldMask {
                paths: fields.iter().map(|f| f.to_string()).collect(),
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
}

fn eur_list(a: &str) -> Vec<Money> {
    vec![eur(a).unwrap()]
}

pub(crate) async fn approve(app: &TestApp, id: &str) -> Return {
    agent(app)
        .approve_return(ApproveReturnRequest {
            return_id: id.into(),
            note: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
}

pub(crate) async fn ship(app: &TestApp, id: &str) -> Return {
    customer(app)
        .record_return_shipment(RecordReturnShipmentRequest {
            return_id: id.into(),
            carrier: "DHL".into(),
            tracking_number: "JD0001".into(),
        })
        .await
        .unwrap()
        .into_inner()
}

pub(crate) async fn receive(app: &TestApp, id: &str, items: &[(&str, i32, Grade)]) -> Return {
    agent(app)
        .receive_return(ReceiveReturnRequest {
            return_id: id.into(),
            items: items
                .iter()
                .map(|(l, q, g)| ReceivedItem {
                    line_id: (*l).into(),
                    received_quantity: *q,
                    grade: *g as i32,
                })
                .collect(),
        })
        .await
        .unwrap()
        .into_inner()
}

pub(crate) async fn issue(app: &TestApp, id: &str) -> Result<Refund, tonic::Status> {
    service(app)
        .issue_refund(IssueRefundRequest {
            return_id: id.into(),
            request_id: uuid::Uuid::now_v7().to_string(),
        })
        .await
        .map(|r| r.into_inner())
}

/// Requests a return of `items` as the customer, approves, ships and
/// receives it graded as `graded`.
pub(crate) async fn received_return(
    app: &TestApp,
    order_id: &str,
    items: Vec<ReturnItemInput>,
    graded: &[(&str, i32, Grade)],
) -> Return {
    let r = customer(app)
        .create_return(create(order_id, items))
        .await
        .unwrap()
        .into_inner();
    approve(app, &r.return_id).await;
    ship(app, &r.return_id).await;
    receive(app, &r.return_id, graded).await
}

async fn get(app: &TestApp, id: &str) -> Return {
    agent(app)
        .get_return(GetReturnRequest { return_id: id.into() })
        .await
        .unwrap()
        .into_inner()
}

async fn topics(app: &TestApp, return_id: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT topic FROM platform.outbox_events WHERE aggregate_id = $1 ORDER BY seq")
        .bind(return_id)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

fn precondition(err: &tonic::Status) -> String {
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    reason(err)
}
