//! Money regressions: fees per item under its own category's policy whatever
//! the items' order, triage's keep-the-item decision honoured by manual
//! approval, and units released with their money.

use aftercare_proto::orders::RecordOrderRequest;

use super::*;

/// An order of c-1 with a mug (kitchen, 10.00) and a laptop (computers,
/// 1000.00), delivered now, lines listed in `order`.
async fn mug_and_laptop(app: &TestApp, order_id: &str, laptop_first: bool) {
    let mut mug = line("MUG", 1, "10.00");
    mug.category = "kitchen".into();
    let mut laptop = line("LAPTOP", 1, "1000.00");
    laptop.category = "computers".into();
    let lines = if laptop_first {
        vec![laptop, mug]
    } else {
        vec![mug, laptop]
    };
    let request = RecordOrderRequest {
        lines,
        order_discount: None,
        ..order(order_id, CUSTOMER)
    };
    record_delivered(app, request).await;
}

async fn category_policy(app: &TestApp, category: &str, p: ReturnPolicy, fields: &[&str]) -> ReturnPolicy {
    policy(
        app,
        ReturnPolicy {
            category: category.into(),
            ..p
        },
        fields,
    )
    .await
}

#[tokio::test]
async fn each_item_pays_its_own_categorys_fee_whatever_the_order() {
    let app = TestApp::spawn().await;
    // A laptop makes its buyer Gold under loyalty's default tiers, and
    // Gold's free return shipping would waive the fee under test.
    without_tiers(&app).await;
    let computers = category_policy(
        &app,
        "computers",
        ReturnPolicy {
            restocking_fee_percent: "15".into(),
            return_shipping_fees: eur_list("9.99"),
            ..Default::default()
        },
        &["restocking_fee_percent", "return_shipping_fees"],
    )
    .await;
    let kitchen = category_policy(
        &app,
        "kitchen",
        ReturnPolicy {
            return_shipping_fees: eur_list("2.99"),
            ..Default::default()
        },
        &["return_shipping_fees"],
    )
    .await;

    let mut outcomes = Vec::new();
    for (order_id, laptop_first) in [("o-mug-first", false), ("o-laptop-first", true)] {
        mug_and_laptop(&app, order_id, laptop_first).await;
        let mut items = vec![refund_item("MUG", 1), refund_item("LAPTOP", 1)];
        if laptop_first {
            items.reverse();
        }
        let graded = [("MUG", 1, Grade::Opened), ("LAPTOP", 1, Grade::Opened)];
        let r = received_return(&app, order_id, items, &graded).await;
        let by_line = |line: &str| r.items.iter().find(|i| i.line_id == line).unwrap().clone();
        let (mug, laptop) = (by_line("MUG"), by_line("LAPTOP"));
        assert_eq!(
            amount(&mug.refund_amount),
            "10.00",
            "the kitchen policy has no restocking fee"
        );
        assert_eq!(amount(&laptop.refund_amount), "850.00", "15 % of an opened laptop");
        assert_eq!(
            (mug.policy_category.as_str(), mug.policy_version),
            ("kitchen", kitchen.version)
        );
        assert_eq!(
            (laptop.policy_category.as_str(), laptop.policy_version),
            ("computers", computers.version)
        );
        // One parcel: the highest of the two shipping fees, once.
        assert_eq!(amount(&r.shipping_fee), "9.99");
        outcomes.push((
            amount(&r.items_refund).to_owned(),
            amount(&r.shipping_fee).to_owned(),
            amount(&r.refund_total).to_owned(),
        ));
    }
    assert_eq!(outcomes[0], outcomes[1], "item order decides nothing");
    assert_eq!(outcomes[0].2, "850.01");
}

#[tokio::test]
async fn an_agent_approving_a_flagged_customer_does_not_let_them_keep_the_items() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    keep_small_returns(&app).await;
    flag_customer(&app, "keeps and charges back").await;
    let r = customer(&app)
        .create_return(create("o-1", vec![refund_item("L2", 1)]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.status(), ReturnStatus::Requested, "manual review");
    let approved = approve(&app, &r.return_id).await;
    assert!(!approved.keep_items, "triage said no, so approval says no");
    assert!(approved.refund.is_none(), "no refund before the items come back");
    assert!(approved.ship_by.is_some());
    let shipped = ship(&app, &r.return_id).await;
    assert_eq!(shipped.status(), ReturnStatus::InTransit);
}

/// What the returns ledger holds as refunded for a line.
async fn ledger(app: &TestApp, order_id: &str, line_id: &str) -> (i32, String) {
    let (units, amount): (i32, rust_decimal::Decimal) = sqlx::query_as(
        "SELECT refunded_units, refunded_amount FROM returns.order_lines WHERE order_id = $1 AND line_id = $2",
    )
    .bind(order_id)
    .bind(line_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    (units, amount.normalize().to_string())
}

#[tokio::test]
async fn canceling_a_kept_return_after_its_refund_failed_releases_its_money() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    keep_small_returns(&app).await;
    let kept = customer(&app)
        .create_return(create("o-1", vec![refund_item("L2", 1)]))
        .await
        .unwrap()
        .into_inner();
    assert!(kept.keep_items);
    let refund = kept.refund.clone().expect("refunded at approval");
    assert_eq!(ledger(&app, "o-1", "L2").await, (1, "7.5".to_owned()));
    service(&app)
        .fail_refund(FailRefundRequest {
            refund_id: refund.refund_id,
            reason: "card expired".into(),
        })
        .await
        .unwrap();
    let canceled = agent(&app)
        .cancel_return(CancelReturnRequest {
            return_id: kept.return_id.clone(),
            reason: "customer will send it back instead".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(canceled.status(), ReturnStatus::Canceled);
    assert_eq!(
        ledger(&app, "o-1", "L2").await,
        (0, "0".to_owned()),
        "units and money released"
    );

    // The unit can be returned again, and refunds exactly what was paid.
    let again = customer(&app)
        .create_return(create("o-1", vec![refund_item("L2", 1)]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(amount(&again.refund.unwrap().amount), "7.50");
    assert_eq!(ledger(&app, "o-1", "L2").await, (1, "7.5".to_owned()));
}

#[tokio::test]
async fn units_that_never_came_back_can_be_returned_again() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let r = received_return(&app, "o-1", vec![refund_item("L1", 2)], &[("L1", 2, Grade::Missing)]).await;
    assert_eq!(amount(&r.refund_total), "0.00");
    let lines = customer(&app)
        .check_eligibility(CheckEligibilityRequest {
            order_id: "o-1".into(),
            line_ids: vec!["L1".into()],
        })
        .await
        .unwrap()
        .into_inner()
        .lines;
    assert_eq!(
        lines[0].returnable_quantity, 2,
        "nothing was returned, so nothing is used up"
    );
    let again = received_return(&app, "o-1", vec![refund_item("L1", 2)], &[("L1", 2, Grade::Resellable)]).await;
    assert_eq!(amount(&again.refund_total), "15.00", "exactly what was paid");
    assert_eq!(ledger(&app, "o-1", "L1").await, (2, "15".to_owned()));
}

/// Loyalty without tiers, so no tier perk changes a return's terms.
async fn without_tiers(app: &TestApp) {
    use aftercare_proto::loyalty::{GetProgramRequest, UpdateProgramRequest};
    let mut admin = app.loyalty(Role::Admin, "admin-1");
    let mut program = admin.get_program(GetProgramRequest {}).await.unwrap().into_inner();
    program.tiers.clear();
    admin
        .update_program(UpdateProgramRequest { program: Some(program) })
        .await
        .unwrap();
}
