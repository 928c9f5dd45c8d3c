//! Exchanges: the store prices the replacement, never the customer; what the
//! customer owes is charged exactly once before the replacement ships, what
//! the store owes is refunded, and an advance exchange whose goods never come
//! back ends as a charge for the replacement.

use super::*;

fn exchange_item(line_id: &str, price: Option<&str>) -> ReturnItemInput {
    let mut exchange = item(line_id, 1, ReturnReason::WrongSize, Resolution::Exchange);
    exchange.replacement_sku = format!("SKU-{line_id}-M");
    exchange.replacement_price = price.and_then(eur);
    exchange
}

async fn price(app: &TestApp, id: &str, line_id: &str, price: &str) -> Return {
    agent(app)
        .price_exchange(PriceExchangeRequest {
            return_id: id.into(),
            prices: vec![ReplacementPrice {
                line_id: line_id.into(),
                price: eur(price),
            }],
        })
        .await
        .unwrap()
        .into_inner()
}

async fn ship_exchange(app: &TestApp, id: &str) -> Result<Return, tonic::Status> {
    agent(app)
        .ship_exchange(ShipExchangeRequest {
            return_id: id.into(),
            carrier: "UPS".into(),
            tracking_number: "1Z".into(),
        })
        .await
        .map(|r| r.into_inner())
}

async fn charge(app: &TestApp, id: &str) -> Result<Charge, tonic::Status> {
    service(app)
        .charge_exchange_difference(ChargeExchangeDifferenceRequest {
            return_id: id.into(),
            request_id: uuid::Uuid::now_v7().to_string(),
        })
        .await
        .map(|r| r.into_inner())
}

async fn confirm(app: &TestApp, charge_id: &str) -> Charge {
    service(app)
        .confirm_charge(ConfirmChargeRequest {
            charge_id: charge_id.into(),
            provider_reference: format!("psp-{charge_id}"),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn count(app: &TestApp, table: &str) -> i64 {
    app.count(&format!("SELECT count(*) FROM {table}")).await
}

#[tokio::test]
async fn customers_cannot_price_their_exchange_and_unpaid_differences_do_not_ship() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;

    // Any SKU at 0.01: refused, and nothing is written.
    let err = customer(&app)
        .create_return(create("o-1", vec![exchange_item("L2", Some("0.01"))]))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["items[0].replacement_price"]);
    assert_eq!(count(&app, "returns.returns").await, 0);

    let r = customer(&app)
        .create_return(create("o-1", vec![exchange_item("L2", None)]))
        .await
        .unwrap()
        .into_inner();
    assert!(!r.exchange_priced);
    assert_eq!(amount(&r.exchange_difference), "0.00", "nothing is owed before pricing");
    approve(&app, &r.return_id).await;
    ship(&app, &r.return_id).await;
    receive(&app, &r.return_id, &[("L2", 1, Grade::Resellable)]).await;
    assert_eq!(
        precondition(&issue(&app, &r.return_id).await.unwrap_err()),
        "INVALID_STATUS",
        "an unpriced exchange refunds nothing, not its whole credit"
    );
    assert_eq!(
        precondition(&ship_exchange(&app, &r.return_id).await.unwrap_err()),
        "EXCHANGE_NOT_PRICED"
    );

    // The store prices it: 12.00 for a line paid 7.50.
    let priced = price(&app, &r.return_id, "L2", "12.00").await;
    assert!(priced.exchange_priced);
    assert_eq!(amount(&priced.exchange_difference), "4.50");
    assert_eq!(amount(&priced.exchange_balance), "4.50");
    let unpaid = ship_exchange(&app, &r.return_id).await.unwrap_err();
    assert_eq!(precondition(&unpaid), "EXCHANGE_DIFFERENCE_UNPAID");
    use tonic_types::StatusExt;
    let info = unpaid.get_details_error_info().unwrap();
    assert_eq!(info.metadata.get("balance").map(String::as_str), Some("4.50"));

    // Charged: one pending at a time; a failure allows a new one.
    let first = charge(&app, &r.return_id).await.unwrap();
    assert_eq!((first.status(), amount(&first.amount)), (ChargeStatus::Pending, "4.50"));
    assert_eq!(
        precondition(&charge(&app, &r.return_id).await.unwrap_err()),
        "CHARGE_ALREADY_PENDING"
    );
    let repriced = agent(&app)
        .price_exchange(PriceExchangeRequest {
            return_id: r.return_id.clone(),
            prices: vec![ReplacementPrice {
                line_id: "L2".into(),
                price: eur("1.00"),
            }],
        })
        .await
        .unwrap_err();
    assert_eq!(
        precondition(&repriced),
        "CHARGE_ALREADY_PENDING",
        "no repricing under a charge"
    );
    service(&app)
        .fail_charge(FailChargeRequest {
            charge_id: first.charge_id.clone(),
            reason: "insufficient funds (issuer 51)".into(),
        })
        .await
        .unwrap();
    let mine = customer(&app)
        .get_return(GetReturnRequest {
            return_id: r.return_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        mine.charge.unwrap().failure_reason,
        "",
        "the provider's error is internal"
    );
    let second = charge(&app, &r.return_id).await.unwrap();
    confirm(&app, &second.charge_id).await;
    let done = ship_exchange(&app, &r.return_id).await.unwrap();
    assert_eq!(done.status(), ReturnStatus::Completed);
    assert_eq!(
        (amount(&done.exchange_collected), amount(&done.exchange_balance)),
        ("4.50", "0.00")
    );
    let t = topics(&app, &r.return_id).await;
    for topic in [
        "ExchangeChargeRequested",
        "ExchangeChargeFailed",
        "ExchangeChargeSucceeded",
        "ExchangeShipped",
        "ReturnCompleted",
    ] {
        assert!(
            t.contains(&format!("aftercare.returns.events.v1.{topic}")),
            "{topic}: {t:?}"
        );
    }
}

#[tokio::test]
async fn what_the_store_owes_on_an_exchange_is_refunded_before_it_completes() {
    let app = TestApp::spawn().await;
    allow_advance_exchange(&app).await;
    delivered_order(&app, "o-1").await;
    // The storefront may price the replacement itself: 5.00 for 7.50 paid.
    let r = service(&app)
        .create_return(create("o-1", vec![exchange_item("L3", Some("5.00"))]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(amount(&r.exchange_difference), "-2.50");
    approve(&app, &r.return_id).await;
    assert_eq!(
        ship_exchange(&app, &r.return_id).await.unwrap().status(),
        ReturnStatus::Approved
    );
    ship(&app, &r.return_id).await;
    let received = receive(&app, &r.return_id, &[("L3", 1, Grade::Resellable)]).await;
    assert_eq!(
        received.status(),
        ReturnStatus::Received,
        "2.50 is still owed to the customer"
    );
    assert_eq!(amount(&received.refund_total), "2.50");
    let refund = issue(&app, &r.return_id).await.unwrap();
    assert_eq!(amount(&refund.amount), "2.50");
    // Money moved: the price is final (no refund now and a charge later).
    let reprice = agent(&app)
        .price_exchange(PriceExchangeRequest {
            return_id: r.return_id.clone(),
            prices: vec![ReplacementPrice {
                line_id: "L3".into(),
                price: eur("12.00"),
            }],
        })
        .await
        .unwrap_err();
    assert_eq!(precondition(&reprice), "INVALID_STATUS", "shipped already");
    service(&app)
        .confirm_refund(ConfirmRefundRequest {
            refund_id: refund.refund_id,
            provider_reference: "psp-9".into(),
        })
        .await
        .unwrap();
    assert_eq!(get(&app, &r.return_id).await.status(), ReturnStatus::Completed);
}

#[tokio::test]
async fn an_advance_exchange_that_never_comes_back_is_charged_the_replacement() {
    let app = TestApp::spawn().await;
    allow_advance_exchange(&app).await;
    delivered_order(&app, "o-1").await;
    let r = service(&app)
        .create_return(create("o-1", vec![exchange_item("L2", Some("12.00"))]))
        .await
        .unwrap()
        .into_inner();
    approve(&app, &r.return_id).await;
    let paid = charge(&app, &r.return_id).await.unwrap();
    // The replacement shipped and the box came back empty: the units are not
    // released for another return — the customer keeps the replacement.
    confirm(&app, &paid.charge_id).await;
    ship_exchange(&app, &r.return_id).await.unwrap();
    ship(&app, &r.return_id).await;
    let empty = receive(&app, &r.return_id, &[("L2", 1, Grade::Missing)]).await;
    assert_eq!(
        empty.status(),
        ReturnStatus::Received,
        "not completed as if the goods came back"
    );
    assert_eq!(
        amount(&empty.exchange_difference),
        "12.00",
        "no credit: the replacement's price"
    );
    assert_eq!(amount(&empty.exchange_balance), "7.50");
    let rest = charge(&app, &r.return_id).await.unwrap();
    assert_eq!(amount(&rest.amount), "7.50");
    confirm(&app, &rest.charge_id).await;
    let done = get(&app, &r.return_id).await;
    assert_eq!(done.status(), ReturnStatus::Completed);
    assert_eq!(
        amount(&done.exchange_collected),
        "12.00",
        "the replacement, paid in full"
    );
    let lines = service(&app)
        .check_eligibility(CheckEligibilityRequest {
            order_id: "o-1".into(),
            line_ids: vec!["L2".into()],
        })
        .await
        .unwrap()
        .into_inner()
        .lines;
    assert_eq!(
        lines[0].returnable_quantity, 0,
        "no second return of what was exchanged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_charge_requests_make_one_charge() {
    let app = TestApp::spawn().await;
    allow_advance_exchange(&app).await;
    delivered_order(&app, "o-1").await;
    let r = service(&app)
        .create_return(create("o-1", vec![exchange_item("L2", Some("12.00"))]))
        .await
        .unwrap()
        .into_inner();
    approve(&app, &r.return_id).await;
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let mut client = service(&app);
            let id = r.return_id.clone();
            tokio::spawn(async move {
                client
                    .charge_exchange_difference(ChargeExchangeDifferenceRequest {
                        return_id: id,
                        request_id: uuid::Uuid::now_v7().to_string(),
                    })
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(precondition(&e), "CHARGE_ALREADY_PENDING"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(count(&app, "returns.charges").await, 1);
}

#[tokio::test]
async fn an_exchange_refunded_its_difference_cannot_be_repriced_into_a_charge() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let r = service(&app)
        .create_return(create("o-1", vec![exchange_item("L2", Some("5.00"))]))
        .await
        .unwrap()
        .into_inner();
    approve(&app, &r.return_id).await;
    ship(&app, &r.return_id).await;
    receive(&app, &r.return_id, &[("L2", 1, Grade::Resellable)]).await;
    let refund = issue(&app, &r.return_id).await.unwrap();
    assert_eq!(amount(&refund.amount), "2.50");
    let reprice = agent(&app)
        .price_exchange(PriceExchangeRequest {
            return_id: r.return_id.clone(),
            prices: vec![ReplacementPrice {
                line_id: "L2".into(),
                price: eur("12.00"),
            }],
        })
        .await
        .unwrap_err();
    assert_eq!(
        precondition(&reprice),
        "CHARGE_ALREADY_PENDING",
        "money moved: the price is final"
    );
    assert_eq!(
        precondition(&charge(&app, &r.return_id).await.unwrap_err()),
        "NOTHING_TO_CHARGE"
    );
}
