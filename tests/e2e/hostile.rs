//! Hostile values to every RPC of every service: NUL bytes, huge and odd
//! strings, timestamps beyond any calendar, amounts past every column, enum
//! values nobody defined, extreme numbers. Each answer is a clear error (or a
//! harmless success), never INTERNAL or UNKNOWN.

use aftercare_platform::auth::Role;
use aftercare_proto::common::Money;
use aftercare_proto::orders::*;
use aftercare_proto::returns::*;
use prost_types::{FieldMask, Timestamp};
use tonic::Code;

use crate::fixtures::{line, order};
use crate::support::TestApp;

/// One hostile value of each kind.
#[derive(Clone)]
pub(crate) struct Hostile {
    pub text: String,
    pub number: i32,
    pub time: Option<Timestamp>,
    pub money: Option<Money>,
}

pub(crate) fn hostile_values() -> Vec<Hostile> {
    let money = |c: &str, a: &str| {
        Some(Money {
            currency_code: c.into(),
            amount: a.into(),
        })
    };
    let ts = |seconds: i64, nanos: i32| Some(Timestamp { seconds, nanos });
    vec![
        Hostile {
            text: "a\u{0}b".into(),
            number: -1,
            time: ts(-62_135_596_800, 0),
            money: money("EUR", "99999999999999999999"),
        },
        Hostile {
            text: "x".repeat(100_000),
            number: i32::MAX,
            time: ts(i64::MAX, 0),
            money: money("EUR", "-0.01"),
        },
        Hostile {
            text: "’; DROP TABLE returns.returns; --".into(),
            number: i32::MIN,
            time: ts(0, -1),
            money: money("€", "1"),
        },
        Hostile {
            text: "\u{202e}\u{fffd}\u{1F600}".into(),
            number: 999,
            time: ts(253_402_300_800, 0),
            money: money("EUR", "1e5"),
        },
        Hostile {
            text: " ".into(),
            number: 0,
            time: ts(-1, 999_999_999),
            money: money("JPY", "0.5"),
        },
        Hostile {
            text: "019a0000-0000-7000-8000-000000000000".into(),
            number: 10_001,
            time: None,
            money: money("", ""),
        },
        Hostile {
            text: "1000000000000".into(),
            number: 10_000,
            time: ts(1_700_000_000, 0),
            money: money("EUR", "1000000000000"),
        },
    ]
}

pub(crate) fn checked(rpc: &str, result: Result<(), tonic::Status>) {
    if let Err(status) = result {
        assert!(
            !matches!(status.code(), Code::Internal | Code::Unknown),
            "{rpc} answered {status:?}"
        );
    }
}

#[tokio::test]
async fn hostile_values_never_break_a_service() {
    let app = TestApp::spawn().await;
    let mut storefront = app.storefront();
    storefront.record_order(order("o-1", "c-1")).await.unwrap();
    storefront
        .record_delivery(RecordDeliveryRequest {
            order_id: "o-1".into(),
            delivered_at: crate::fixtures::ts(crate::support::start_time()),
            line_ids: vec![],
        })
        .await
        .unwrap();
    app.settle().await;
    // A real exchange to aim the lifecycle calls at, besides made-up ids.
    let mut exchange = ReturnItemInput {
        line_id: "L1".into(),
        quantity: 1,
        reason: ReturnReason::WrongSize as i32,
        resolution: Resolution::Exchange as i32,
        replacement_sku: "SKU-X".into(),
        ..Default::default()
    };
    exchange.note = "real".into();
    let real = app
        .returns(Role::Service, "storefront")
        .create_return(CreateReturnRequest {
            request_id: "real-1".into(),
            order_id: "o-1".into(),
            channel: 1,
            items: vec![exchange],
        })
        .await
        .unwrap()
        .into_inner()
        .return_id;
    for h in hostile_values() {
        let s = h.text.clone();
        let n = h.number;
        // Orders.
        let mut big = order(&s, &s);
        big.placed_at = h.time;
        big.shipping_amount = h.money.clone();
        big.order_discount = h.money.clone();
        big.channel = n;
        let mut l = line(&s, n, "1.00");
        l.unit_price = h.money.clone();
        l.discount = h.money.clone();
        l.category = s.clone();
        big.lines = vec![l.clone(), line("L2", 10_000, "1000000000000"), l];
        checked("RecordOrder", storefront.record_order(big).await.map(drop));
        let mut odd = order(&format!("o-odd-{n}"), "c-1");
        odd.placed_at = h.time;
        checked("RecordOrder(time)", storefront.record_order(odd).await.map(drop));
        let delivery = RecordDeliveryRequest {
            order_id: s.clone(),
            delivered_at: h.time,
            line_ids: vec![s.clone()],
        };
        checked("RecordDelivery", storefront.record_delivery(delivery).await.map(drop));
        let delivery = RecordDeliveryRequest {
            order_id: "o-1".into(),
            delivered_at: h.time,
            line_ids: vec![],
        };
        checked(
            "RecordDelivery(time)",
            storefront.record_delivery(delivery).await.map(drop),
        );
        checked(
            "CancelOrder",
            storefront
                .cancel_order(CancelOrderRequest {
                    order_id: s.clone(),
                    reason: s.clone(),
                })
                .await
                .map(drop),
        );
        checked(
            "GetOrder",
            storefront
                .get_order(GetOrderRequest { order_id: s.clone() })
                .await
                .map(drop),
        );
        checked(
            "ListOrders",
            storefront
                .list_orders(ListOrdersRequest {
                    customer_id: s.clone(),
                    page_size: n,
                    page_token: s.clone(),
                })
                .await
                .map(drop),
        );

        // Returns, by the roles that may call each.
        let mut admin = app.returns(Role::Admin, "admin-1");
        let mut agent = app.returns(Role::Agent, "agent-1");
        let mut service = app.returns(Role::Service, "storefront");
        let mut customer = app.returns(Role::Customer, "c-1");
        let list = h.money.clone().into_iter().collect::<Vec<_>>();
        let policy = ReturnPolicy {
            category: s.clone(),
            return_window_days: n,
            allowed_resolutions: vec![n, 1],
            restocking_fee_percent: s.clone(),
            return_shipping_fees: list.clone(),
            auto_approve_max_refund: list.clone(),
            keep_item_max_refund: list.clone(),
            manual_review_return_count: n,
            manual_review_refund_limit: list.clone(),
            exchange_bonus_percent: s.clone(),
            ..Default::default()
        };
        for mask in [vec![], vec!["*".to_owned()], vec![s.clone()]] {
            checked(
                "UpdateReturnPolicy",
                admin
                    .update_return_policy(UpdateReturnPolicyRequest {
                        policy: Some(policy.clone()),
                        update_mask: Some(FieldMask { paths: mask }),
                        request_id: s.clone(),
                    })
                    .await
                    .map(drop),
            );
        }
        checked(
            "GetReturnPolicy",
            customer
                .get_return_policy(GetReturnPolicyRequest { category: s.clone() })
                .await
                .map(drop),
        );
        checked(
            "SetCustomerFlag",
            agent
                .set_customer_flag(SetCustomerFlagRequest {
                    customer_id: s.clone(),
                    flagged: true,
                    note: s.clone(),
                })
                .await
                .map(drop),
        );
        checked(
            "CheckEligibility",
            customer
                .check_eligibility(CheckEligibilityRequest {
                    order_id: s.clone(),
                    line_ids: vec![s.clone(); 3],
                })
                .await
                .map(drop),
        );
        let item = ReturnItemInput {
            line_id: s.clone(),
            quantity: n,
            reason: n,
            note: s.clone(),
            photo_urls: vec![s.clone()],
            resolution: 3,
            replacement_sku: s.clone(),
            replacement_price: h.money.clone(),
        };
        for order_id in [s.clone(), "o-1".to_owned()] {
            let mut line_item = item.clone();
            line_item.line_id = "L1".into();
            checked(
                "CreateReturn",
                service
                    .create_return(CreateReturnRequest {
                        request_id: s.clone(),
                        order_id,
                        channel: n,
                        items: vec![item.clone(), line_item],
                    })
                    .await
                    .map(drop),
            );
        }
        checked(
            "ListReturns",
            agent
                .list_returns(ListReturnsRequest {
                    customer_id: s.clone(),
                    status: n,
                    reason: n,
                    order_id: s.clone(),
                    created_after: h.time,
                    created_before: h.time,
                    page_size: n,
                    page_token: s.clone(),
                })
                .await
                .map(drop),
        );
        for id in [real.clone(), s.clone()] {
            let mut agent = app.returns(Role::Agent, "agent-1");
            checked(
                "PriceExchange(real)",
                agent
                    .price_exchange(PriceExchangeRequest {
                        return_id: id.clone(),
                        prices: vec![ReplacementPrice {
                            line_id: "L1".into(),
                            price: h.money.clone(),
                        }],
                    })
                    .await
                    .map(drop),
            );
            checked(
                "ReceiveReturn(real)",
                agent
                    .receive_return(ReceiveReturnRequest {
                        return_id: id.clone(),
                        items: vec![ReceivedItem {
                            line_id: "L1".into(),
                            received_quantity: n,
                            grade: 1,
                        }],
                    })
                    .await
                    .map(drop),
            );
            checked(
                "AddReturnMessage(real)",
                agent
                    .add_return_message(AddReturnMessageRequest {
                        return_id: id.clone(),
                        text: s.clone(),
                        internal: true,
                        channel: n,
                        request_id: s.clone(),
                    })
                    .await
                    .map(drop),
            );
        }
        let id = s.clone();
        checked(
            "GetReturn",
            customer
                .get_return(GetReturnRequest { return_id: id.clone() })
                .await
                .map(drop),
        );
        checked(
            "ApproveReturn",
            agent
                .approve_return(ApproveReturnRequest {
                    return_id: id.clone(),
                    note: s.clone(),
                })
                .await
                .map(drop),
        );
        checked(
            "RejectReturn",
            agent
                .reject_return(RejectReturnRequest {
                    return_id: id.clone(),
                    reason: s.clone(),
                })
                .await
                .map(drop),
        );
        checked(
            "CancelReturn",
            customer
                .cancel_return(CancelReturnRequest {
                    return_id: id.clone(),
                    reason: s.clone(),
                })
                .await
                .map(drop),
        );
        checked(
            "RecordReturnShipment",
            customer
                .record_return_shipment(RecordReturnShipmentRequest {
                    return_id: id.clone(),
                    carrier: s.clone(),
                    tracking_number: s.clone(),
                })
                .await
                .map(drop),
        );
        checked(
            "ReceiveReturn",
            agent
                .receive_return(ReceiveReturnRequest {
                    return_id: id.clone(),
                    items: vec![ReceivedItem {
                        line_id: s.clone(),
                        received_quantity: n,
                        grade: n,
                    }],
                })
                .await
                .map(drop),
        );
        checked(
            "IssueRefund",
            service
                .issue_refund(IssueRefundRequest {
                    return_id: id.clone(),
                    request_id: s.clone(),
                })
                .await
                .map(drop),
        );
        checked(
            "ConfirmRefund",
            service
                .confirm_refund(ConfirmRefundRequest {
                    refund_id: id.clone(),
                    provider_reference: s.clone(),
                })
                .await
                .map(drop),
        );
        checked(
            "FailRefund",
            service
                .fail_refund(FailRefundRequest {
                    refund_id: id.clone(),
                    reason: s.clone(),
                })
                .await
                .map(drop),
        );
        checked(
            "ShipExchange",
            agent
                .ship_exchange(ShipExchangeRequest {
                    return_id: id.clone(),
                    carrier: s.clone(),
                    tracking_number: s.clone(),
                })
                .await
                .map(drop),
        );
        checked(
            "PriceExchange",
            agent
                .price_exchange(PriceExchangeRequest {
                    return_id: id.clone(),
                    prices: vec![ReplacementPrice {
                        line_id: s.clone(),
                        price: h.money.clone(),
                    }],
                })
                .await
                .map(drop),
        );
        checked(
            "ChargeExchangeDifference",
            service
                .charge_exchange_difference(ChargeExchangeDifferenceRequest {
                    return_id: id.clone(),
                    request_id: s.clone(),
                })
                .await
                .map(drop),
        );
        checked(
            "ConfirmCharge",
            service
                .confirm_charge(ConfirmChargeRequest {
                    charge_id: id.clone(),
                    provider_reference: s.clone(),
                })
                .await
                .map(drop),
        );
        checked(
            "FailCharge",
            service
                .fail_charge(FailChargeRequest {
                    charge_id: id.clone(),
                    reason: s.clone(),
                })
                .await
                .map(drop),
        );
        checked(
            "AddReturnMessage",
            customer
                .add_return_message(AddReturnMessageRequest {
                    return_id: id,
                    text: s.clone(),
                    internal: false,
                    channel: n,
                    request_id: s.clone(),
                })
                .await
                .map(drop),
        );
    }
}
