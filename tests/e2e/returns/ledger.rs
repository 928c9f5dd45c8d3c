//! The money property: whatever sequence of creates, approvals, rejections,
//! cancellations, receipts, refunds and failed refunds happens to an order,
//! each line's refunded amount plus what is still refundable equals what was
//! paid for it, the ledger agrees with the returns that hold units, and in
//! the end a full return of everything left refunds exactly what was paid.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use rust_decimal::Decimal;

use super::*;

#[derive(Debug, Clone)]
enum Op {
    Create { line: usize, quantity: i32 },
    Approve(usize),
    Reject(usize),
    Cancel(usize),
    Receive(usize, Grade),
    Refund(usize),
    Fail(usize),
    Confirm(usize),
}

/// (line id, quantity, paid) of the order each case runs on. L1 does not
/// split evenly (3.34 + 3.33 + 3.33), so a cent given back to the wrong unit
/// shows.
const LINES: [(&str, i32, &str); 3] = [("L1", 3, "10.00"), ("L2", 2, "15.00"), ("L3", 1, "7.50")];

/// Records and delivers the case's order (lines as in `LINES`, no order
/// discount; L1 is 3 x 3.34 less 0.02).
async fn case_order(app: &TestApp, order_id: &str) {
    let mut l1 = line("L1", 3, "3.34");
    l1.discount = eur("0.02");
    let request = aftercare_proto::orders::RecordOrderRequest {
        lines: vec![l1, line("L2", 2, "7.50"), line("L3", 1, "7.50")],
        order_discount: None,
        ..order(order_id, CUSTOMER)
    };
    record_delivered(app, request).await;
}

fn op() -> impl Strategy<Value = Op> {
    let grade = prop::sample::select(vec![Grade::Resellable, Grade::Opened, Grade::Missing, Grade::WrongItem]);
    prop_oneof![
        3 => (0usize..3, 1i32..3).prop_map(|(line, quantity)| Op::Create { line, quantity }),
        2 => (0usize..8).prop_map(Op::Approve),
        1 => (0usize..8).prop_map(Op::Reject),
        2 => (0usize..8).prop_map(Op::Cancel),
        2 => (0usize..8, grade).prop_map(|(k, g)| Op::Receive(k, g)),
        2 => (0usize..8).prop_map(Op::Refund),
        2 => (0usize..8).prop_map(Op::Fail),
        1 => (0usize..8).prop_map(Op::Confirm),
    ]
}

/// A call that may be refused by the rules, but never as a bug.
fn allowed<T>(result: Result<T, tonic::Status>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(e) => {
            assert!(
                matches!(e.code(), Code::FailedPrecondition | Code::InvalidArgument),
                "{e:?}"
            );
            None
        }
    }
}

struct Case<'a> {
    app: &'a TestApp,
    order_id: String,
    returns: Vec<String>,
}

impl Case<'_> {
    fn pick(&self, k: usize) -> Option<String> {
        (!self.returns.is_empty()).then(|| self.returns[k % self.returns.len()].clone())
    }

    async fn latest_refund(&self, id: &str) -> Option<Refund> {
        get(self.app, id).await.refund
    }

    async fn run(&mut self, op: &Op) {
        let app = self.app;
        match op.clone() {
            Op::Create { line, quantity } => {
                let request = create(&self.order_id, vec![refund_item(LINES[line].0, quantity)]);
                if let Some(r) = allowed(customer(app).create_return(request).await) {
                    self.returns.push(r.into_inner().return_id);
                }
            }
            Op::Approve(k)
            | Op::Reject(k)
            | Op::Cancel(k)
            | Op::Receive(k, _)
            | Op::Refund(k)
            | Op::Fail(k)
            | Op::Confirm(k)
                if self.returns.is_empty() =>
            {
                let _ = k;
            }
            Op::Approve(k) => {
                let id = self.pick(k).unwrap();
                allowed(
                    agent(app)
                        .approve_return(ApproveReturnRequest {
                            return_id: id,
                            note: String::new(),
                        })
                        .await,
                );
            }
            Op::Reject(k) => {
                let id = self.pick(k).unwrap();
                allowed(
                    agent(app)
                        .reject_return(RejectReturnRequest {
                            return_id: id,
                            reason: "no".into(),
                        })
                        .await,
                );
            }
            Op::Cancel(k) => {
                let id = self.pick(k).unwrap();
                allowed(
                    agent(app)
                        .cancel_return(CancelReturnRequest {
                            return_id: id,
                            reason: String::new(),
                        })
                        .await,
                );
            }
            Op::Receive(k, grade) => {
                let id = self.pick(k).unwrap();
                let shipped = customer(app)
                    .record_return_shipment(RecordReturnShipmentRequest {
                        return_id: id.clone(),
                        carrier: "DHL".into(),
                        tracking_number: "T1".into(),
                    })
                    .await;
                if allowed(shipped).is_some() {
                    let r = get(app, &id).await;
                    let items = r
                        .items
                        .iter()
                        .map(|i| ReceivedItem {
                            line_id: i.line_id.clone(),
                            received_quantity: i.quantity,
                            grade: grade as i32,
                        })
                        .collect();
                    allowed(
                        agent(app)
                            .receive_return(ReceiveReturnRequest { return_id: id, items })
                            .await,
                    );
                }
            }
            Op::Refund(k) => {
                allowed(issue(app, &self.pick(k).unwrap()).await);
            }
            Op::Fail(k) | Op::Confirm(k) => {
                let Some(refund) = self.latest_refund(&self.pick(k).unwrap()).await else {
                    return;
                };
                let mut money_desk = service(app);
                let result = if matches!(op, Op::Fail(_)) {
                    money_desk
                        .fail_refund(FailRefundRequest {
                            refund_id: refund.refund_id,
                            reason: "declined".into(),
                        })
                        .await
                } else {
                    money_desk
                        .confirm_refund(ConfirmRefundRequest {
                            refund_id: refund.refund_id.clone(),
                            provider_reference: format!("psp-{}", refund.refund_id),
                        })
                        .await
                };
                allowed(result);
            }
        }
    }

    /// Every line's books: the ledger holds exactly what the returns hold
    /// (units, what they refund, what they were worth), never more than was
    /// paid, and without fees what is refunded is what the units were worth.
    async fn check(&self, when: &str) {
        for (line, quantity, paid) in LINES {
            let (units, refunded, value, requested): (i32, Decimal, Decimal, i32) = sqlx::query_as(
                "SELECT refunded_units, refunded_amount, refunded_value, requested_quantity
                 FROM returns.order_lines WHERE order_id = $1 AND line_id = $2",
            )
            .bind(&self.order_id)
            .bind(line)
            .fetch_one(&self.app.pool)
            .await
            .unwrap();
            let (held_units, held_amount, held_value): (Option<i64>, Option<Decimal>, Option<Decimal>) =
                sqlx::query_as(
                    "SELECT sum(i.refunded_units), sum(i.refund_amount) FILTER (WHERE i.refunded_units > 0),
                            sum(i.refunded_value) FILTER (WHERE i.refunded_units > 0)
                     FROM returns.return_items i JOIN returns.returns r USING (return_id)
                     WHERE r.order_id = $1 AND i.line_id = $2",
                )
                .bind(&self.order_id)
                .bind(line)
                .fetch_one(&self.app.pool)
                .await
                .unwrap();
            let paid: Decimal = paid.parse().unwrap();
            assert_eq!(i64::from(units), held_units.unwrap_or(0), "{when}: line {line} units");
            assert_eq!(refunded, held_amount.unwrap_or_default(), "{when}: line {line} amount");
            assert_eq!(value, held_value.unwrap_or_default(), "{when}: line {line} value");
            assert_eq!(refunded, value, "{when}: line {line}: no fee, so refunded = worth");
            assert!(value <= paid, "{when}: line {line} refunded beyond paid");
            assert!(units <= requested && requested <= quantity, "{when}: line {line}");
        }
    }

    /// Ends every open return (failing pending refunds so they may be
    /// canceled), then returns all that is left: the order refunds exactly
    /// what was paid for it, line by line.
    async fn drain(&mut self) {
        for id in self.returns.clone() {
            if let Some(refund) = self.latest_refund(&id).await
                && refund.status() == RefundStatus::Pending
            {
                service(self.app)
                    .fail_refund(FailRefundRequest {
                        refund_id: refund.refund_id,
                        reason: "drain".into(),
                    })
                    .await
                    .unwrap();
            }
            let _ = agent(self.app)
                .cancel_return(CancelReturnRequest {
                    return_id: id,
                    reason: String::new(),
                })
                .await;
        }
        self.check("after draining").await;
        let eligibility = customer(self.app)
            .check_eligibility(CheckEligibilityRequest {
                order_id: self.order_id.clone(),
                line_ids: vec![],
            })
            .await
            .unwrap()
            .into_inner();
        let items: Vec<ReturnItemInput> = eligibility
            .lines
            .iter()
            .filter(|l| l.returnable_quantity > 0)
            .map(|l| refund_item(&l.line_id, l.returnable_quantity))
            .collect();
        if !items.is_empty() {
            let graded: Vec<(String, i32)> = items.iter().map(|i| (i.line_id.clone(), i.quantity)).collect();
            let r = service(self.app)
                .create_return(create(&self.order_id, items))
                .await
                .unwrap()
                .into_inner();
            if r.status() == ReturnStatus::Requested {
                approve(self.app, &r.return_id).await;
            }
            let r = get(self.app, &r.return_id).await;
            if !r.keep_items {
                ship(self.app, &r.return_id).await;
                let graded: Vec<(&str, i32, Grade)> = graded
                    .iter()
                    .map(|(l, q)| (l.as_str(), *q, Grade::Resellable))
                    .collect();
                receive(self.app, &r.return_id, &graded).await;
            }
        }
        self.check("after returning everything").await;
    }
}

#[tokio::test]
async fn refunded_plus_refundable_is_always_what_was_paid() {
    let app = TestApp::spawn().await;
    policy(
        &app,
        ReturnPolicy {
            auto_approve_max_refund: eur_list("10"),
            keep_item_max_refund: eur_list("8"),
            ..Default::default()
        },
        &["auto_approve_max_refund", "keep_item_max_refund"],
    )
    .await;
    // A fixed seed: the same sequences on every run, so a red build names a
    // reproducible case (it found units graded missing that were never
    // released). Raise CASES locally to search further.
    const CASES: u32 = 20;
    let config = Config {
        cases: CASES,
        ..Config::default()
    };
    let rng = proptest::test_runner::TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let sequences = prop::collection::vec(op(), 4..16);
    for case in 0..CASES {
        let ops = sequences.new_tree(&mut runner).unwrap().current();
        let order_id = format!("o-prop-{case}");
        case_order(&app, &order_id).await;
        let mut c = Case {
            app: &app,
            order_id,
            returns: Vec::new(),
        };
        for (i, op) in ops.iter().enumerate() {
            c.run(op).await;
            c.check(&format!("case {case}, after op {i} {op:?} of {ops:?}")).await;
        }
        c.drain().await;
        let (units, refunded): (i64, Decimal) = sqlx::query_as(
            "SELECT sum(refunded_units), sum(refunded_amount) FROM returns.order_lines WHERE order_id = $1",
        )
        .bind(&c.order_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(
            (units, refunded),
            (6, Decimal::new(3250, 2)),
            "case {case}: a full return refunds exactly what was paid: {ops:?}"
        );
    }
}
