//! WarrantyService end to end: registrations from deliveries and by hand,
//! coverage at the boundary day in the customer's time zone, terms
//! versions, claims through their lifecycle, roles and hostile input.

mod access;
mod claims;
mod coverage;
mod hostile;
mod migrations;
mod plans;
mod refund_path;
mod registrations;
mod remedies;
mod sla;

use aftercare_platform::auth::Role;
use aftercare_proto::orders::RecordDeliveryRequest;
use aftercare_proto::warranty::*;
use chrono::{DateTime, Utc};

use crate::fixtures::{order, ts};
use crate::support::{TestApp, Warranty, reason, start_time, violated_fields};

const CUSTOMER: &str = "c-1";

fn customer(app: &TestApp) -> Warranty {
    app.warranty(Role::Customer, CUSTOMER)
}

fn agent(app: &TestApp, name: &str) -> Warranty {
    app.warranty(Role::Agent, name)
}

fn admin(app: &TestApp) -> Warranty {
    app.warranty(Role::Admin, "admin-1")
}

/// Records o-1 of c-1 (L1 x 2, L2, L3, all "kitchen") delivered at the
/// start, and waits until warranty registered its units.
async fn delivered(app: &TestApp) {
    let mut orders = app.storefront();
    orders.record_order(order("o-1", CUSTOMER)).await.unwrap();
    orders
        .record_delivery(RecordDeliveryRequest {
            order_id: "o-1".into(),
            line_ids: vec![],
            delivered_at: ts(start_time()),
        })
        .await
        .unwrap();
    app.settle().await;
}

async fn registrations(app: &TestApp, customer_id: &str) -> Vec<Registration> {
    app.warranty(Role::Agent, "agent-1")
        .list_registrations(ListRegistrationsRequest {
            customer_id: customer_id.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .registrations
}

/// The registration of unit `unit` of line `line` of o-1.
async fn unit(app: &TestApp, line: &str, unit: i32) -> Registration {
    registrations(app, CUSTOMER)
        .await
        .into_iter()
        .find(|r| r.line_id == line && r.unit == unit)
        .expect("the unit is registered")
}

async fn coverage_at(app: &TestApp, registration_id: &str, at: DateTime<Utc>) -> Coverage {
    customer(app)
        .check_coverage(CheckCoverageRequest {
            product: Some(check_coverage_request::Product::RegistrationId(registration_id.into())),
            at: ts(at),
            cause: 0,
        })
        .await
        .unwrap()
        .into_inner()
}

fn manual(serial: &str, key: &str) -> RegisterProductRequest {
    RegisterProductRequest {
        customer_id: CUSTOMER.into(),
        sku: "KETTLE-1".into(),
        category: "kitchen".into(),
        product_name: "Kettle".into(),
        serial_number: serial.into(),
        purchased_at: ts(start_time()),
        proof_of_purchase_ref: "receipt-77".into(),
        time_zone: "America/New_York".into(),
        request_id: key.into(),
    }
}

async fn file(app: &TestApp, registration_id: &str) -> Claim {
    customer(app)
        .file_claim(FileClaimRequest {
            registration_id: registration_id.into(),
            fault_category: "does not heat".into(),
            description: "The kettle stopped heating.".into(),
            photo_urls: vec!["https://img.example/kettle.jpg".into()],
            channel: aftercare_proto::common::Channel::MobileApp as i32,
            request_id: uuid::Uuid::now_v7().to_string(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn topics(app: &TestApp, prefix: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT topic FROM platform.outbox_events WHERE topic LIKE $1 || '%' ORDER BY seq")
        .bind(prefix)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

/// Returns' refund that pays a warranty refund, once returns took the
/// request in (its RefundRequested is what the payment tool follows).
async fn returns_refund_of(app: &TestApp, warranty_refund_id: &str) -> aftercare_proto::returns::Refund {
    app.settle().await;
    let (refund_id, status): (uuid::Uuid, String) =
        sqlx::query_as("SELECT refund_id, status FROM returns.warranty_refunds WHERE warranty_refund_id = $1::uuid")
            .bind(warranty_refund_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    aftercare_proto::returns::Refund {
        refund_id: refund_id.to_string(),
        status: match status.as_str() {
            "pending" => aftercare_proto::returns::RefundStatus::Pending,
            "succeeded" => aftercare_proto::returns::RefundStatus::Succeeded,
            _ => aftercare_proto::returns::RefundStatus::Failed,
        } as i32,
        warranty_refund_id: warranty_refund_id.into(),
        ..Default::default()
    }
}

/// Settles a warranty refund the way the payment tool does: with
/// ReturnService ConfirmRefund (`Ok(reference)`) or FailRefund
/// (`Err(reason)`) on the refund returns made of it; then warranty learns
/// the outcome. The warranty refund as it then stands.
async fn settle_refund(app: &TestApp, warranty_refund_id: &str, outcome: Result<&str, &str>) -> ClaimRefund {
    let refund_id = returns_refund_of(app, warranty_refund_id).await.refund_id;
    let mut payments = app.returns(Role::Service, "payments");
    let paid = match outcome {
        Ok(reference) => payments
            .confirm_refund(aftercare_proto::returns::ConfirmRefundRequest {
                refund_id,
                provider_reference: reference.into(),
            })
            .await
            .unwrap(),
        Err(reason) => payments
            .fail_refund(aftercare_proto::returns::FailRefundRequest {
                refund_id,
                reason: reason.into(),
            })
            .await
            .unwrap(),
    };
    assert_eq!(paid.get_ref().warranty_refund_id, warranty_refund_id);
    app.settle().await;
    agent(app, "agent-1")
        .get_claim_refund(GetClaimRefundRequest {
            refund_id: warranty_refund_id.into(),
        })
        .await
        .unwrap()
        .into_inner()
}
