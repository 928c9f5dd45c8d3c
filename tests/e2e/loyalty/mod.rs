//! LoyaltyService end to end: earning from order events, maturity and
//! expiry on the test clock, checkout holds under races, grants and
//! adjustments, roles, bad input. Every test ends by auditing the ledger.

mod access;
mod campaigns;
mod checkout;
mod earning;
mod expiry;
mod perks;
mod races;
mod reversal;
mod rewards;
mod sequences;
mod store_credit;
mod tiers;

use aftercare_platform::auth::Role;
use aftercare_proto::loyalty::*;
use aftercare_proto::orders::{CancelOrderRequest, RecordDeliveryRequest};
use chrono::Duration;
use tonic::Code;

use crate::fixtures::{eur, order, ts};
use crate::support::{Loyalty, TestApp, reason, start_time, violated_fields};

const CUSTOMER: &str = "c-1";

fn storefront(app: &TestApp) -> Loyalty {
    app.loyalty(Role::Service, "storefront")
}

fn agent(app: &TestApp) -> Loyalty {
    app.loyalty(Role::Agent, "agent-1")
}

fn admin(app: &TestApp) -> Loyalty {
    app.loyalty(Role::Admin, "admin-1")
}

async fn program(app: &TestApp) -> Program {
    admin(app).get_program(GetProgramRequest {}).await.unwrap().into_inner()
}

/// Changes the program as `change` says; the program as saved.
async fn update_program(app: &TestApp, change: impl FnOnce(&mut Program)) -> Program {
    let mut p = program(app).await;
    change(&mut p);
    admin(app)
        .update_program(UpdateProgramRequest { program: Some(p) })
        .await
        .unwrap()
        .into_inner()
}

/// Cancels an order and waits until loyalty has applied it.
async fn cancel(app: &TestApp, order_id: &str) {
    app.storefront()
        .cancel_order(CancelOrderRequest {
            order_id: order_id.into(),
            reason: "changed my mind".into(),
        })
        .await
        .unwrap();
    app.settle().await;
}

async fn account(app: &TestApp, customer: &str) -> Account {
    agent(app)
        .get_account(GetAccountRequest {
            customer_id: customer.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// Gives `customer` `points` available points now (an admin adjustment).
async fn give(app: &TestApp, customer: &str, points: i64) -> LedgerEntry {
    admin(app)
        .adjust_points(AdjustPointsRequest {
            customer_id: customer.into(),
            points,
            reason: "test balance".into(),
            request_id: uuid::Uuid::now_v7().to_string(),
        })
        .await
        .unwrap()
        .into_inner()
}

fn hold_request(customer: &str, points: i64, key: &str) -> HoldPointsRequest {
    HoldPointsRequest {
        customer_id: customer.into(),
        points,
        order_ref: format!("cart-{key}"),
        ttl_seconds: 0,
        request_id: key.into(),
    }
}

async fn hold(app: &TestApp, customer: &str, points: i64) -> Hold {
    storefront(app)
        .hold_points(hold_request(customer, points, &uuid::Uuid::now_v7().to_string()))
        .await
        .unwrap()
        .into_inner()
}

async fn entries(app: &TestApp, customer: &str) -> Vec<LedgerEntry> {
    agent(app)
        .list_transactions(ListTransactionsRequest {
            customer_id: customer.into(),
            page_size: 200,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .entries
}

/// Records order `order_id` of `customer` (300 points: lines paid 15.00,
/// 7.50 and 7.50 at 10 points per euro), optionally delivers it, and waits
/// until loyalty has applied the events.
async fn ordered(app: &TestApp, order_id: &str, customer: &str, deliver: bool) {
    let mut orders = app.storefront();
    orders.record_order(order(order_id, customer)).await.unwrap();
    if deliver {
        orders
            .record_delivery(RecordDeliveryRequest {
                order_id: order_id.into(),
                line_ids: vec![],
                delivered_at: ts(start_time()),
            })
            .await
            .unwrap();
    }
    app.settle().await;
}

/// What an auditor checks after every test: each account's balances are
/// the sums of its entries; available and pending are what the lots have
/// left, held what open holds reserved; every entry moved exactly its
/// points through lots (a reversal: all but its debt); every lot holds what
/// the entries moved in and out of it, and never more than it earned; every
/// reward redemption is its ledger entry, every handed-out code its
/// redemption's. Store-credit wallets likewise: balances are their
/// entries' sums and their lots' amounts, every entry moved its amount
/// through lots of its own wallet, every lot holds what its entries moved.
async fn audit(app: &TestApp) {
    let broken = ledger_breaks(app).await;
    assert!(broken.is_empty(), "the ledger does not reconcile: {broken:?}");
}

/// What [`audit`] finds wrong: the accounts and entries that break a rule.
async fn ledger_breaks(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT 'account ' || a.customer_id FROM loyalty.accounts a
         LEFT JOIN (SELECT customer_id, sum(available_change) av, sum(pending_change) pe,
                           sum(held_change) he, sum(debt_change) de, sum(lifetime_change) li
                    FROM loyalty.entries GROUP BY customer_id) e USING (customer_id)
         WHERE (a.available, a.pending, a.held, a.debt, a.lifetime_earned)
               IS DISTINCT FROM (COALESCE(e.av, 0), COALESCE(e.pe, 0), COALESCE(e.he, 0), COALESCE(e.de, 0),
                                 COALESCE(e.li, 0))
         UNION ALL
         SELECT 'lots of ' || a.customer_id FROM loyalty.accounts a
         WHERE a.available <> (SELECT COALESCE(sum(remaining), 0) FROM loyalty.lots
                               WHERE customer_id = a.customer_id AND state = 'available')
            OR a.pending <> (SELECT COALESCE(sum(remaining), 0) FROM loyalty.lots
                             WHERE customer_id = a.customer_id AND state = 'pending')
            OR a.held <> (SELECT COALESCE(sum(m.points), 0) FROM loyalty.hold_lots m
                          JOIN loyalty.holds h USING (hold_id)
                          WHERE h.customer_id = a.customer_id AND h.status = 'held')
         UNION ALL
         SELECT 'entry ' || e.entry_id FROM loyalty.entries e
         WHERE (SELECT COALESCE(sum(points), 0) FROM loyalty.entry_lots WHERE entry_id = e.entry_id)
               <> CASE e.kind WHEN 'reversed' THEN -(e.available_change + e.pending_change)
                              ELSE greatest(abs(e.available_change), abs(e.pending_change), abs(e.held_change))
                  END
         UNION ALL
         SELECT 'lot ' || l.lot_id FROM loyalty.lots l
         WHERE l.remaining <> (
                   SELECT COALESCE(sum(m.points * CASE
                       WHEN e.kind IN ('earned', 'granted', 'released') THEN 1
                       WHEN e.kind = 'adjusted' AND e.available_change > 0 THEN 1
                       WHEN e.kind = 'matured' THEN 0
                       WHEN e.kind = 'redeemed' AND e.held_change < 0 THEN 0
                       ELSE -1 END), 0)
                   FROM loyalty.entry_lots m JOIN loyalty.entries e USING (entry_id)
                   WHERE m.lot_id = l.lot_id)
            OR l.remaining + (SELECT COALESCE(sum(m.points), 0) FROM loyalty.hold_lots m
                              JOIN loyalty.holds h USING (hold_id)
                              WHERE m.lot_id = l.lot_id AND h.status = 'held') > l.earned
         UNION ALL
         SELECT 'redemption ' || r.redemption_id FROM loyalty.reward_redemptions r
         JOIN loyalty.entries e USING (entry_id)
         WHERE e.available_change <> -r.points OR e.customer_id <> r.customer_id OR e.kind <> 'redeemed'
         UNION ALL
         SELECT 'code ' || c.code FROM loyalty.reward_codes c
         LEFT JOIN loyalty.reward_redemptions r ON r.redemption_id = c.redemption_id
         WHERE c.redemption_id IS NOT NULL AND (r.code IS DISTINCT FROM c.code OR r.reward_id <> c.reward_id)
         UNION ALL
         SELECT 'wallet ' || w.customer_id || ' ' || w.currency_code FROM loyalty.wallets w
         LEFT JOIN (SELECT customer_id, currency_code, sum(available_change) av, sum(held_change) he,
                           sum(credited_change) cr
                    FROM loyalty.credit_entries GROUP BY customer_id, currency_code) e
              USING (customer_id, currency_code)
         WHERE (w.available, w.held, w.credited)
               IS DISTINCT FROM (COALESCE(e.av, 0), COALESCE(e.he, 0), COALESCE(e.cr, 0))
            OR w.available <> (SELECT COALESCE(sum(remaining), 0) FROM loyalty.credit_lots l
                               WHERE (l.customer_id, l.currency_code) = (w.customer_id, w.currency_code))
            OR w.credited <> (SELECT COALESCE(sum(amount), 0) FROM loyalty.credit_lots l
                              WHERE (l.customer_id, l.currency_code) = (w.customer_id, w.currency_code))
            OR w.held <> (SELECT COALESCE(sum(m.amount), 0) FROM loyalty.credit_hold_lots m
                          JOIN loyalty.credit_holds h USING (hold_id)
                          WHERE (h.customer_id, h.currency_code) = (w.customer_id, w.currency_code)
                            AND h.status = 'held')
         UNION ALL
         SELECT 'credit entry ' || e.entry_id FROM loyalty.credit_entries e
         WHERE (SELECT COALESCE(sum(amount), 0) FROM loyalty.credit_entry_lots WHERE entry_id = e.entry_id)
               <> greatest(abs(e.available_change), abs(e.held_change))
            OR EXISTS (SELECT 1 FROM loyalty.credit_entry_lots m JOIN loyalty.credit_lots l USING (lot_id)
                       WHERE m.entry_id = e.entry_id
                         AND (l.customer_id, l.currency_code) <> (e.customer_id, e.currency_code))
         UNION ALL
         SELECT 'credit lot ' || l.lot_id FROM loyalty.credit_lots l
         WHERE l.remaining <> (
                   SELECT COALESCE(sum(m.amount * CASE e.kind WHEN 'credited' THEN 1 WHEN 'released' THEN 1
                                                             WHEN 'held' THEN -1 ELSE 0 END), 0)
                   FROM loyalty.credit_entry_lots m JOIN loyalty.credit_entries e USING (entry_id)
                   WHERE m.lot_id = l.lot_id)",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}
