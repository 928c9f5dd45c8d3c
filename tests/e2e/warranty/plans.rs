//! Extended warranties: a plan sold on an order line adds its months after
//! the base warranty of the line it extends; canceled, it is paid back once,
//! in full within the cooling-off period, else by the extra days left.

use aftercare_proto::orders::RecordOrderRequest;
use chrono::NaiveDate;
use tonic::Code;

use super::*;
use crate::fixtures::{eur, line};

pub(super) async fn plan(app: &TestApp) {
    admin(app)
        .upsert_plan(UpsertPlanRequest {
            plan: Some(Plan {
                sku: "PLAN-12".into(),
                name: "One more year".into(),
                months: 12,
                cooling_off_days: 14,
                active: true,
            }),
        })
        .await
        .unwrap();
}

/// o-9 of c-1: two kettles (serials SN-A, SN-B) and a plan extending them,
/// delivered at the start.
pub(super) async fn sold(app: &TestApp) -> ExtendedWarranty {
    let mut kettles = line("L1", 2, "100.00");
    kettles.serial_numbers = vec!["SN-A".into(), "SN-B".into()];
    let mut cover = line("P1", 1, "19.99");
    cover.sku = "PLAN-12".into();
    cover.category = "plans".into();
    cover.extends_line_id = "L1".into();
    let mut orders = app.storefront();
    orders
        .record_order(RecordOrderRequest {
            order_id: "o-9".into(),
            customer_id: CUSTOMER.into(),
            placed_at: ts(start_time() - chrono::Duration::days(3)),
            currency_code: "EUR".into(),
            channel: aftercare_proto::common::Channel::Web as i32,
            lines: vec![kettles, cover],
            shipping_amount: eur("0"),
            order_discount: eur("0"),
        })
        .await
        .unwrap();
    orders
        .record_delivery(RecordDeliveryRequest {
            order_id: "o-9".into(),
            line_ids: vec![],
            delivered_at: ts(start_time()),
        })
        .await
        .unwrap();
    app.settle().await;
    let mut list = customer(app)
        .list_extended_warranties(ListExtendedWarrantiesRequest {
            customer_id: CUSTOMER.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .extended_warranties;
    assert_eq!(list.len(), 1);
    list.remove(0)
}

fn cancel(id: &str, key: &str) -> CancelExtendedWarrantyRequest {
    CancelExtendedWarrantyRequest {
        extension_id: id.into(),
        request_id: key.into(),
    }
}

async fn kettles(app: &TestApp) -> Vec<Registration> {
    registrations(app, CUSTOMER)
        .await
        .into_iter()
        .filter(|r| r.order_id == "o-9")
        .collect()
}

#[tokio::test]
async fn a_plan_extends_its_line_and_a_cancellation_within_cooling_off_pays_it_all_back() {
    let app = TestApp::spawn().await;
    plan(&app).await;
    let e = sold(&app).await;
    assert_eq!(
        (e.extends_line_id.as_str(), e.months, e.price.clone()),
        ("L1", 12, eur("19.99"))
    );
    let units = kettles(&app).await;
    assert_eq!(units.len(), 2, "the plan is not a product");
    for u in &units {
        assert_eq!((u.extended_months, u.covered_through.as_str()), (12, "2029-03-01"));
    }
    let mut serials: Vec<&str> = units.iter().map(|u| u.serial_number.as_str()).collect();
    serials.sort();
    assert_eq!(serials, ["SN-A", "SN-B"], "each unit has its serial");
    let by_serial = customer(&app)
        .check_coverage(CheckCoverageRequest {
            product: Some(check_coverage_request::Product::SerialNumber("sn-b".into())),
            at: ts("2028-12-01T00:00:00Z".parse().unwrap()),
            cause: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(by_serial.covered, "covered in the plan's year");
    // The plan is canceled through warranty, never returned: it is never
    // paid back twice.
    let lines = app
        .returns(Role::Customer, CUSTOMER)
        .check_eligibility(aftercare_proto::returns::CheckEligibilityRequest {
            order_id: "o-9".into(),
            line_ids: vec!["P1".into()],
        })
        .await
        .unwrap()
        .into_inner()
        .lines;
    assert!(
        lines[0].reasons.contains(&"EXTENDED_WARRANTY_PLAN".to_owned()),
        "{lines:?}"
    );
    // Canceled on day five: all of it back, once.
    app.clock.advance(chrono::Duration::days(5));
    let canceled = customer(&app)
        .cancel_extended_warranty(cancel(&e.extension_id, "c-1"))
        .await
        .unwrap()
        .into_inner();
    let refund = canceled.refund.unwrap();
    assert_eq!(
        (refund.amount.clone(), refund.kind.as_str()),
        (eur("19.99"), "plan_cancellation")
    );
    let replay = customer(&app)
        .cancel_extended_warranty(cancel(&e.extension_id, "c-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replay.refund.unwrap().refund_id, refund.refund_id);
    let again = customer(&app)
        .cancel_extended_warranty(cancel(&e.extension_id, "c-2"))
        .await
        .unwrap_err();
    assert_eq!(reason(&again), "PLAN_CANCELED");
    for u in kettles(&app).await {
        assert_eq!((u.extended_months, u.covered_through.as_str()), (0, "2028-03-01"));
    }
    assert_eq!(
        app.count("SELECT count(*) FROM warranty.refunds WHERE kind = 'plan_cancellation'")
            .await,
        1
    );
    // Paid through returns like any refund, on the plan's own line.
    let paid = settle_refund(&app, &refund.refund_id, Ok("psp-9")).await;
    assert_eq!(paid.status(), ClaimRefundStatus::Succeeded);
}

#[tokio::test]
async fn later_it_pays_back_the_extra_days_left_and_a_failed_refund_is_issued_again() {
    let app = TestApp::spawn().await;
    plan(&app).await;
    let e = sold(&app).await;
    // The extra year runs 2 March 2028 to 2 March 2029 (365 days); on
    // 1 September 2028 (Istanbul) 182 of them are left.
    app.clock.set("2028-09-01T09:00:00Z".parse().unwrap());
    let first = customer(&app)
        .cancel_extended_warranty(cancel(&e.extension_id, "k-1"))
        .await
        .unwrap()
        .into_inner();
    let days_left =
        (NaiveDate::from_ymd_opt(2029, 3, 2).unwrap() - NaiveDate::from_ymd_opt(2028, 9, 1).unwrap()).num_days();
    assert_eq!(days_left, 182);
    let expected = 1999 * days_left / 365;
    let refund = first.refund.unwrap();
    assert_eq!(refund.amount, eur(&format!("{}.{:02}", expected / 100, expected % 100)));
    let failed = settle_refund(&app, &refund.refund_id, Err("card closed")).await;
    assert_eq!(failed.status(), ClaimRefundStatus::Failed);
    // Weeks later, issued again for what it was worth when canceled.
    app.clock.advance(chrono::Duration::days(30));
    let second = customer(&app)
        .cancel_extended_warranty(cancel(&e.extension_id, "k-2"))
        .await
        .unwrap()
        .into_inner();
    let again = second.refund.unwrap();
    assert_ne!(again.refund_id, refund.refund_id);
    assert_eq!(again.amount, refund.amount);
    // Another customer cannot cancel it.
    let stranger = app
        .warranty(Role::Customer, "c-2")
        .cancel_extended_warranty(cancel(&e.extension_id, "k-3"))
        .await
        .unwrap_err();
    assert_eq!(stranger.code(), Code::NotFound);
}

#[tokio::test]
async fn a_plan_must_extend_another_product_line_of_its_order() {
    let app = TestApp::spawn().await;
    let mut cover = line("P1", 1, "19.99");
    cover.extends_line_id = "L9".into();
    let status = app
        .storefront()
        .record_order(RecordOrderRequest {
            order_id: "o-bad".into(),
            customer_id: CUSTOMER.into(),
            placed_at: ts(start_time() - chrono::Duration::days(3)),
            currency_code: "EUR".into(),
            channel: aftercare_proto::common::Channel::Web as i32,
            lines: vec![line("L1", 1, "10.00"), cover],
            shipping_amount: eur("0"),
            order_discount: eur("0"),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["lines[1].extends_line_id"]);
    let bad = admin(&app)
        .upsert_plan(UpsertPlanRequest {
            plan: Some(Plan {
                sku: String::new(),
                name: String::new(),
                months: 0,
                cooling_off_days: 400,
                active: true,
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&bad),
        ["plan.sku", "plan.name", "plan.months", "plan.cooling_off_days"]
    );
}
