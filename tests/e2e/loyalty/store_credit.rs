//! Store-credit wallets: a succeeded store-credit refund credits the
//! customer's wallet once; checkouts hold, capture and release it like
//! points, exactly once under races; amounts reconcile to the cent.

use aftercare_proto::common::Money;
use aftercare_proto::returns::Grade;
use tonic::Code;

use super::*;
use crate::returns::{received_return, store_credit_item};
use crate::support::StoreCredit;

fn checkout(app: &TestApp) -> StoreCredit {
    app.store_credit(Role::Service, "storefront")
}

fn money(amount: &str, currency: &str) -> Option<Money> {
    Some(Money {
        currency_code: currency.into(),
        amount: amount.into(),
    })
}

/// A value of the error's ErrorInfo metadata.
fn info(status: &tonic::Status, key: &str) -> String {
    use tonic_types::StatusExt;
    let info = status.get_details_error_info().expect("ErrorInfo details");
    info.metadata.get(key).cloned().unwrap_or_default()
}

/// Cents of a wire amount.
fn cents(m: &Option<Money>) -> i64 {
    let m = m.as_ref().expect("an amount");
    let d: rust_decimal::Decimal = m.amount.parse().unwrap();
    (d * rust_decimal::Decimal::from(100)).try_into().unwrap()
}

fn euros(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// Orders o-1 for c-1, returns `units` of L1 for store credit and has the
/// refund paid: the refund's id and amount in cents, once the wallet
/// consumer has seen its event.
async fn credited(app: &TestApp, units: i32) -> (String, i64) {
    ordered(app, "o-1", CUSTOMER, true).await;
    let r = received_return(
        app,
        "o-1",
        vec![store_credit_item("L1", units)],
        &[("L1", units, Grade::Resellable)],
    )
    .await;
    let refund = super::reversal::paid(app, r.return_id).await;
    (refund.refund_id, cents(&refund.amount))
}

async fn balance(app: &TestApp, customer: &str) -> Vec<(String, i64, i64, i64)> {
    checkout(app)
        .get_store_credit(GetStoreCreditRequest {
            customer_id: customer.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .balances
        .iter()
        .map(|b| {
            let code = b.available.as_ref().unwrap().currency_code.clone();
            (code, cents(&b.available), cents(&b.held), cents(&b.credited))
        })
        .collect()
}

fn hold_request(amount: &str, key: &str) -> HoldStoreCreditRequest {
    HoldStoreCreditRequest {
        customer_id: CUSTOMER.into(),
        amount: money(amount, "EUR"),
        order_ref: "cart-1".into(),
        ttl_seconds: 0,
        request_id: key.into(),
    }
}

async fn hold(app: &TestApp, amount: &str) -> StoreCreditHold {
    checkout(app)
        .hold_store_credit(hold_request(amount, &uuid::Uuid::now_v7().to_string()))
        .await
        .unwrap()
        .into_inner()
}

async fn capture(app: &TestApp, hold_id: &str, amount: Option<Money>) -> Result<StoreCreditHold, tonic::Status> {
    checkout(app)
        .capture_store_credit(CaptureStoreCreditRequest {
            hold_id: hold_id.into(),
            amount,
        })
        .await
        .map(|r| r.into_inner())
}

async fn release(app: &TestApp, hold_id: &str) -> Result<StoreCreditHold, tonic::Status> {
    checkout(app)
        .release_store_credit(ReleaseStoreCreditRequest {
            hold_id: hold_id.into(),
        })
        .await
        .map(|r| r.into_inner())
}

async fn credit_entries(app: &TestApp) -> Vec<StoreCreditEntry> {
    checkout(app)
        .list_store_credit_transactions(ListStoreCreditTransactionsRequest {
            customer_id: CUSTOMER.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries
}

async fn topic_count(app: &TestApp, message: &str) -> i64 {
    app.count(&format!(
        "SELECT count(*) FROM platform.outbox_events WHERE topic = 'aftercare.loyalty.events.v1.{message}'"
    ))
    .await
}

#[tokio::test]
async fn a_store_credit_refund_credits_the_wallet_once_and_a_card_refund_does_not() {
    let app = TestApp::spawn().await;
    let (refund_id, amount) = credited(&app, 1).await;
    assert!(amount > 0);
    assert_eq!(balance(&app, CUSTOMER).await, [("EUR".into(), amount, 0, amount)]);
    let entries = credit_entries(&app).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].kind(), EntryKind::Credited);
    assert_eq!(entries[0].refund_id, refund_id);
    assert_eq!(cents(&entries[0].available_change), amount);
    assert_eq!(entries[0].lots.len(), 1);
    assert_eq!(cents(&entries[0].lots[0].amount), amount);
    // The event delivered again credits nothing more.
    let redelivered = sqlx::query(
        "UPDATE platform.outbox_deliveries SET delivered_at = NULL, attempts = 0, next_attempt_at = '2000-01-01'
         WHERE consumer = 'loyalty.store_credit'
           AND event_id IN (SELECT id FROM platform.outbox_events
                            WHERE topic = 'aftercare.returns.events.v1.RefundSucceeded')",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(redelivered.rows_affected(), 1);
    app.settle().await;
    assert_eq!(balance(&app, CUSTOMER).await, [("EUR".into(), amount, 0, amount)]);
    assert_eq!(topic_count(&app, "StoreCreditCredited").await, 1);
    // A refund to the card (L3) leaves the wallet alone.
    super::reversal::refunded(&app, "o-1", "L3", 1).await;
    assert_eq!(balance(&app, CUSTOMER).await, [("EUR".into(), amount, 0, amount)]);
    assert_eq!(app.count("SELECT count(*) FROM loyalty.credit_lots").await, 1);
    audit(&app).await;
}

#[tokio::test]
async fn a_checkout_captures_part_of_a_hold_and_the_rest_goes_back() {
    let app = TestApp::spawn().await;
    let (_, credit) = credited(&app, 1).await;
    let h = hold(&app, "5.00").await;
    assert_eq!((h.status(), cents(&h.amount)), (HoldStatus::Held, 500));
    assert_eq!(
        balance(&app, CUSTOMER).await,
        [("EUR".into(), credit - 500, 500, credit)]
    );
    let captured = capture(&app, &h.hold_id, money("3.25", "EUR")).await.unwrap();
    assert_eq!(
        (captured.status(), cents(&captured.captured)),
        (HoldStatus::Captured, 325)
    );
    assert_eq!(balance(&app, CUSTOMER).await, [("EUR".into(), credit - 325, 0, credit)]);
    // The same capture again answers the same; anything else is refused.
    let again = capture(&app, &h.hold_id, money("3.25", "EUR")).await.unwrap();
    assert_eq!(again.resolved_at, captured.resolved_at);
    let other = capture(&app, &h.hold_id, money("1.00", "EUR")).await.unwrap_err();
    assert_eq!(reason(&other), "HOLD_RESOLVED");
    assert_eq!(reason(&release(&app, &h.hold_id).await.unwrap_err()), "HOLD_RESOLVED");
    let kinds: Vec<EntryKind> = credit_entries(&app).await.iter().map(|e| e.kind()).collect();
    assert_eq!(
        kinds,
        [
            EntryKind::Released,
            EntryKind::Redeemed,
            EntryKind::Held,
            EntryKind::Credited
        ]
    );
    assert_eq!(topic_count(&app, "StoreCreditRedeemed").await, 1);
    // A capture of the whole hold (no amount) spends all of it.
    let whole = hold(&app, "1.00").await;
    let spent = capture(&app, &whole.hold_id, None).await.unwrap();
    assert_eq!(cents(&spent.captured), 100);
    assert_eq!(balance(&app, CUSTOMER).await, [("EUR".into(), credit - 425, 0, credit)]);
    audit(&app).await;
}

#[tokio::test]
async fn released_and_lapsed_holds_give_their_amount_back() {
    let app = TestApp::spawn().await;
    let (_, credit) = credited(&app, 1).await;
    let released = hold(&app, "1.00").await;
    let r = release(&app, &released.hold_id).await.unwrap();
    assert_eq!(r.status(), HoldStatus::Released);
    assert_eq!(
        release(&app, &released.hold_id).await.unwrap().resolved_at,
        r.resolved_at
    );
    let mut short = hold_request("2.00", "short");
    short.ttl_seconds = 60;
    let lapsing = checkout(&app).hold_store_credit(short).await.unwrap().into_inner();
    assert_eq!(
        balance(&app, CUSTOMER).await,
        [("EUR".into(), credit - 200, 200, credit)]
    );
    app.clock.advance(Duration::minutes(2));
    let late = capture(&app, &lapsing.hold_id, None).await.unwrap_err();
    assert_eq!(reason(&late), "HOLD_EXPIRED");
    app.run_jobs().await;
    assert_eq!(balance(&app, CUSTOMER).await, [("EUR".into(), credit, 0, credit)]);
    let after = capture(&app, &lapsing.hold_id, None).await.unwrap_err();
    assert_eq!(reason(&after), "HOLD_RESOLVED");
    // A hold past its time is also given back before the next hold, job or
    // not: the whole credit can be held again at once.
    let mut all = hold_request(&euros(credit), "all-1");
    all.ttl_seconds = 60;
    checkout(&app).hold_store_credit(all).await.unwrap();
    app.clock.advance(Duration::minutes(2));
    let again = hold(&app, &euros(credit)).await;
    assert_eq!(again.status(), HoldStatus::Held);
    audit(&app).await;
}

#[tokio::test]
async fn not_enough_credit_bad_input_and_another_currency_write_nothing() {
    let app = TestApp::spawn().await;
    let none = checkout(&app)
        .hold_store_credit(hold_request("1.00", "k-0"))
        .await
        .unwrap_err();
    assert_eq!(reason(&none), "INSUFFICIENT_STORE_CREDIT");
    assert_eq!(
        app.count("SELECT count(*) FROM loyalty.wallets").await,
        0,
        "no wallet created"
    );
    let (_, credit) = credited(&app, 1).await;
    let over = checkout(&app)
        .hold_store_credit(hold_request(&euros(credit + 1), "k-1"))
        .await
        .unwrap_err();
    assert_eq!(reason(&over), "INSUFFICIENT_STORE_CREDIT");
    assert_eq!(info(&over, "available"), euros(credit));
    let mut lira = hold_request("1", "k-2");
    lira.amount = money("1", "TRY");
    let lira = checkout(&app).hold_store_credit(lira).await.unwrap_err();
    assert_eq!(reason(&lira), "INSUFFICIENT_STORE_CREDIT");
    for (amount, ttl, customer, field) in [
        (money("0", "EUR"), 0, CUSTOMER, "amount"),
        (money("-1.00", "EUR"), 0, CUSTOMER, "amount"),
        (money("1.001", "EUR"), 0, CUSTOMER, "amount"),
        (money("1", "XXX"), 0, CUSTOMER, "amount"),
        (money("99999999999999999999", "EUR"), 0, CUSTOMER, "amount"),
        (None, 0, CUSTOMER, "amount"),
        (money("1.00", "EUR"), 86_401, CUSTOMER, "ttl_seconds"),
        (money("1.00", "EUR"), -1, CUSTOMER, "ttl_seconds"),
        (money("1.00", "EUR"), 0, "", "customer_id"),
    ] {
        let mut bad = hold_request("1.00", "k-bad");
        bad.amount = amount;
        bad.ttl_seconds = ttl;
        bad.customer_id = customer.into();
        let status = checkout(&app).hold_store_credit(bad).await.unwrap_err();
        assert_eq!(violated_fields(&status), [field], "{status:?}");
    }
    let h = hold(&app, "1.00").await;
    let lira = capture(&app, &h.hold_id, money("1", "TRY")).await.unwrap_err();
    assert_eq!(violated_fields(&lira), ["amount.currency_code"]);
    let more = capture(&app, &h.hold_id, money("1.01", "EUR")).await.unwrap_err();
    assert_eq!(reason(&more), "CAPTURE_EXCEEDS_HOLD");
    assert_eq!(info(&more, "held"), "1.00");
    let zero = capture(&app, &h.hold_id, money("0.00", "EUR")).await.unwrap_err();
    assert_eq!(violated_fields(&zero), ["amount"]);
    let unknown = capture(&app, &uuid::Uuid::now_v7().to_string(), None)
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    assert_eq!(
        violated_fields(&release(&app, "not-an-id").await.unwrap_err()),
        ["hold_id"]
    );
    // Only the credit and the one hold were written.
    assert_eq!(app.count("SELECT count(*) FROM loyalty.credit_entries").await, 2);
    assert_eq!(app.count("SELECT count(*) FROM loyalty.wallets").await, 1);
    assert_eq!(
        balance(&app, CUSTOMER).await,
        [("EUR".into(), credit - 100, 100, credit)]
    );
    audit(&app).await;
}

#[tokio::test]
async fn a_hold_is_idempotent_on_its_request_id() {
    let app = TestApp::spawn().await;
    let (_, credit) = credited(&app, 1).await;
    let first = checkout(&app)
        .hold_store_credit(hold_request("1.00", "same"))
        .await
        .unwrap()
        .into_inner();
    let again = checkout(&app)
        .hold_store_credit(hold_request("1.00", "same"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.hold_id, again.hold_id);
    let changed = checkout(&app)
        .hold_store_credit(hold_request("2.00", "same"))
        .await
        .unwrap_err();
    assert_eq!(
        (changed.code(), reason(&changed)),
        (Code::AlreadyExists, "REQUEST_ID_REUSED".into())
    );
    assert_eq!(app.count("SELECT count(*) FROM loyalty.credit_holds").await, 1);
    assert_eq!(
        balance(&app, CUSTOMER).await,
        [("EUR".into(), credit - 100, 100, credit)]
    );
    audit(&app).await;
}

#[tokio::test]
async fn thirty_racing_holds_of_a_tenth_exactly_ten_succeed_and_a_hold_captures_once() {
    let app = TestApp::spawn().await;
    let (_, credit) = credited(&app, 2).await;
    let tenth = credit / 10;
    assert!(tenth >= 10, "11 tenths exceed the credit");
    let calls: Vec<_> = (0..30)
        .map(|i| {
            let mut client = checkout(&app);
            let request = hold_request(&euros(tenth), &format!("race-{i}"));
            tokio::spawn(async move { client.hold_store_credit(request).await })
        })
        .collect();
    let mut holds = Vec::new();
    for call in calls {
        match call.await.unwrap() {
            Ok(h) => holds.push(h.into_inner()),
            Err(status) => assert_eq!(reason(&status), "INSUFFICIENT_STORE_CREDIT", "{status:?}"),
        }
    }
    assert_eq!(holds.len(), 10);
    assert_eq!(
        balance(&app, CUSTOMER).await,
        [("EUR".into(), credit - 10 * tenth, 10 * tenth, credit)]
    );
    let hold_id = holds[0].hold_id.clone();
    let captures: Vec<_> = (0..20)
        .map(|_| {
            let mut client = checkout(&app);
            let hold_id = hold_id.clone();
            tokio::spawn(async move {
                client
                    .capture_store_credit(CaptureStoreCreditRequest { hold_id, amount: None })
                    .await
            })
        })
        .collect();
    for call in captures {
        let h = call.await.unwrap().unwrap().into_inner();
        assert_eq!((h.status(), cents(&h.captured)), (HoldStatus::Captured, tenth));
    }
    assert_eq!(
        app.count("SELECT count(*) FROM loyalty.credit_entries WHERE kind = 'redeemed'")
            .await,
        1
    );
    assert_eq!(
        balance(&app, CUSTOMER).await,
        [("EUR".into(), credit - 10 * tenth, 9 * tenth, credit)]
    );
    audit(&app).await;
}

#[tokio::test]
async fn a_capture_racing_a_release_resolves_the_hold_once() {
    let app = TestApp::spawn().await;
    let (_, credit) = credited(&app, 1).await;
    for round in 0..5 {
        let h = hold(&app, "1.00").await;
        let (mut a, mut b) = (checkout(&app), checkout(&app));
        let (id_a, id_b) = (h.hold_id.clone(), h.hold_id.clone());
        let capture = tokio::spawn(async move {
            a.capture_store_credit(CaptureStoreCreditRequest {
                hold_id: id_a,
                amount: None,
            })
            .await
        });
        let release = tokio::spawn(async move {
            b.release_store_credit(ReleaseStoreCreditRequest { hold_id: id_b })
                .await
        });
        let (captured, released) = (capture.await.unwrap(), release.await.unwrap());
        match (captured, released) {
            (Ok(c), Err(r)) => {
                assert_eq!(c.into_inner().status(), HoldStatus::Captured);
                assert_eq!(reason(&r), "HOLD_RESOLVED");
            }
            (Err(c), Ok(r)) => {
                assert_eq!(r.into_inner().status(), HoldStatus::Released);
                assert_eq!(reason(&c), "HOLD_RESOLVED");
            }
            other => panic!("round {round}: both or neither won: {other:?}"),
        }
    }
    let spent = 100
        * app
            .count("SELECT count(*) FROM loyalty.credit_holds WHERE status = 'captured'")
            .await;
    assert_eq!(
        balance(&app, CUSTOMER).await,
        [("EUR".into(), credit - spent, 0, credit)]
    );
    audit(&app).await;
}

#[tokio::test]
async fn the_ledger_pages_newest_first_and_filters_by_currency() {
    let app = TestApp::spawn().await;
    credited(&app, 1).await;
    for _ in 0..3 {
        let h = hold(&app, "0.10").await;
        release(&app, &h.hold_id).await.unwrap();
    }
    let all = credit_entries(&app).await;
    assert_eq!(all.len(), 7);
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let page = checkout(&app)
            .list_store_credit_transactions(ListStoreCreditTransactionsRequest {
                customer_id: CUSTOMER.into(),
                currency_code: "EUR".into(),
                page_size: 2,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.entries.len() <= 2);
        paged.extend(page.entries);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(paged, all, "pages cover the ledger once, newest first");
    assert_eq!(paged.last().unwrap().kind(), EntryKind::Credited);
    let lira = checkout(&app)
        .list_store_credit_transactions(ListStoreCreditTransactionsRequest {
            customer_id: CUSTOMER.into(),
            currency_code: "TRY".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(lira.entries.is_empty());
    let bad = checkout(&app)
        .list_store_credit_transactions(ListStoreCreditTransactionsRequest {
            customer_id: CUSTOMER.into(),
            currency_code: "euro".into(),
            page_token: "forged".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&bad), ["currency_code"]);
    audit(&app).await;
}

/// A refund event of nothing (returns never sends one, but an event is
/// outside input) credits nothing and does not block the consumer.
#[tokio::test]
async fn a_store_credit_refund_of_nothing_credits_nothing_and_is_not_retried() {
    use aftercare_proto::return_events::{RefundSucceeded, RefundSummary};
    use aftercare_proto::returns::RefundMethod;
    let app = TestApp::spawn().await;
    let mut tx = app.pool.begin().await.unwrap();
    for (id, amount) in [("rf-0", "0.00"), ("rf-neg", "-5.00")] {
        let event = RefundSucceeded {
            refund: Some(RefundSummary {
                refund_id: id.into(),
                return_id: "r-x".into(),
                order_id: "o-x".into(),
                customer_id: CUSTOMER.into(),
                method: RefundMethod::StoreCredit as i32,
                amount: money(amount, "EUR"),
                ..Default::default()
            }),
        };
        aftercare_platform::outbox::enqueue(&mut tx, "r-x", &event, start_time())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    app.settle().await;
    assert_eq!(app.count("SELECT count(*) FROM loyalty.wallets").await, 0);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM platform.outbox_deliveries
             WHERE consumer = 'loyalty.store_credit' AND (delivered_at IS NULL OR attempts > 1)"
        )
        .await,
        0
    );
    audit(&app).await;
}

#[tokio::test]
async fn a_customer_sees_only_their_own_wallet() {
    let app = TestApp::spawn().await;
    let (_, credit) = credited(&app, 1).await;
    let mut other = app.store_credit(Role::Customer, "c-2");
    let wallet = other
        .get_store_credit(GetStoreCreditRequest {
            customer_id: CUSTOMER.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(wallet.code(), Code::NotFound);
    let ledger = other
        .list_store_credit_transactions(ListStoreCreditTransactionsRequest {
            customer_id: CUSTOMER.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(ledger.code(), Code::NotFound);
    let own = app
        .store_credit(Role::Customer, CUSTOMER)
        .get_store_credit(GetStoreCreditRequest {
            customer_id: CUSTOMER.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cents(&own.balances[0].available), credit);
    let mine = app
        .store_credit(Role::Customer, "c-2")
        .get_store_credit(GetStoreCreditRequest {
            customer_id: "c-2".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(mine.balances.is_empty());
    audit(&app).await;
}

/// Calls one StoreCreditService RPC with made-up values.
async fn call(client: &mut StoreCredit, rpc: &str) -> Result<(), tonic::Status> {
    let id = uuid::Uuid::now_v7().to_string();
    match rpc {
        "GetStoreCredit" => client
            .get_store_credit(GetStoreCreditRequest {
                customer_id: CUSTOMER.into(),
            })
            .await
            .map(drop),
        "ListStoreCreditTransactions" => client
            .list_store_credit_transactions(ListStoreCreditTransactionsRequest {
                customer_id: CUSTOMER.into(),
                ..Default::default()
            })
            .await
            .map(drop),
        "HoldStoreCredit" => client.hold_store_credit(hold_request("1.00", &id)).await.map(drop),
        "CaptureStoreCredit" => client
            .capture_store_credit(CaptureStoreCreditRequest {
                hold_id: id,
                amount: None,
            })
            .await
            .map(drop),
        "ReleaseStoreCredit" => client
            .release_store_credit(ReleaseStoreCreditRequest { hold_id: id })
            .await
            .map(drop),
        other => panic!("no call for {other}"),
    }
}

#[tokio::test]
async fn every_role_against_every_store_credit_rpc() {
    let app = TestApp::spawn().await;
    use Role::*;
    let matrix: &[(&str, &[Role])] = &[
        ("GetStoreCredit", &[Customer, Service, Agent, Admin]),
        ("ListStoreCreditTransactions", &[Customer, Service, Agent, Admin]),
        ("HoldStoreCredit", &[Service]),
        ("CaptureStoreCredit", &[Service]),
        ("ReleaseStoreCredit", &[Service, Agent]),
    ];
    let table: Vec<&str> = aftercare_loyalty::grpc::store_credit::ROLES
        .iter()
        .map(|(rpc, _)| *rpc)
        .collect();
    assert_eq!(table, matrix.iter().map(|(rpc, _)| *rpc).collect::<Vec<_>>());
    for (rpc, allowed) in matrix {
        for role in Role::ALL {
            let mut client = app.store_credit(role, CUSTOMER);
            let code = call(&mut client, rpc).await.err().map(|e| e.code());
            if allowed.contains(&role) {
                assert_ne!(code, Some(Code::PermissionDenied), "{role} may call {rpc}");
                assert_ne!(code, Some(Code::Internal), "{role} {rpc}");
            } else {
                assert_eq!(code, Some(Code::PermissionDenied), "{role} may not call {rpc}");
            }
        }
    }
}

#[tokio::test]
async fn the_audit_notices_a_wallet_that_does_not_reconcile() {
    let app = TestApp::spawn().await;
    credited(&app, 1).await;
    hold(&app, "1.00").await;
    audit(&app).await;
    for (tamper, undo) in [
        (
            "UPDATE loyalty.wallets SET available = available + 1",
            "UPDATE loyalty.wallets SET available = available - 1",
        ),
        (
            "UPDATE loyalty.credit_lots SET remaining = remaining - 1",
            "UPDATE loyalty.credit_lots SET remaining = remaining + 1",
        ),
        (
            "UPDATE loyalty.credit_hold_lots SET amount = amount + 1",
            "UPDATE loyalty.credit_hold_lots SET amount = amount - 1",
        ),
    ] {
        sqlx::query(tamper).execute(&app.pool).await.unwrap();
        assert!(!ledger_breaks(&app).await.is_empty(), "{tamper} goes unnoticed");
        sqlx::query(undo).execute(&app.pool).await.unwrap();
    }
    audit(&app).await;
}
