//! Every role against every RPC of ReturnService.

use super::*;

/// Calls one RPC with made-up ids: a permitted role gets past the role check
/// (NOT_FOUND, INVALID_ARGUMENT, ...), any other gets PERMISSION_DENIED.
async fn call(client: &mut Returns, rpc: &str) -> Result<(), tonic::Status> {
    let id = uuid::Uuid::now_v7().to_string();
    match rpc {
        "GetReturnPolicy" => client
            .get_return_policy(GetReturnPolicyRequest::default())
            .await
            .map(drop),
        "ListReturnPolicies" => client
            .list_return_policies(ListReturnPoliciesRequest {})
            .await
            .map(drop),
        "UpdateReturnPolicy" => client
            .update_return_policy(UpdateReturnPolicyRequest {
                policy: Some(ReturnPolicy {
                    category: "toys".into(),
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["final_sale".into()],
                }),
                request_id: String::new(),
            })
            .await
            .map(drop),
        "SetCustomerFlag" => client
            .set_customer_flag(SetCustomerFlagRequest {
                customer_id: "c-9".into(),
                flagged: false,
                note: String::new(),
            })
            .await
            .map(drop),
        "CheckEligibility" => client
            .check_eligibility(CheckEligibilityRequest {
                order_id: "none".into(),
                line_ids: vec![],
            })
            .await
            .map(drop),
        "CreateReturn" => client
            .create_return(create("none", vec![refund_item("L1", 1)]))
            .await
            .map(drop),
        "GetReturn" => client.get_return(GetReturnRequest { return_id: id }).await.map(drop),
        "ListReturns" => client.list_returns(ListReturnsRequest::default()).await.map(drop),
        "ApproveReturn" => client
            .approve_return(ApproveReturnRequest {
                return_id: id,
                note: String::new(),
            })
            .await
            .map(drop),
        "RejectReturn" => client
            .reject_return(RejectReturnRequest {
                return_id: id,
                reason: "r".into(),
            })
            .await
            .map(drop),
        "CancelReturn" => client
            .cancel_return(CancelReturnRequest {
                return_id: id,
                reason: String::new(),
            })
            .await
            .map(drop),
        "RecordReturnShipment" => client
            .record_return_shipment(RecordReturnShipmentRequest {
                return_id: id,
                carrier: "c".into(),
                tracking_number: "t".into(),
            })
            .await
            .map(drop),
        "ReceiveReturn" => client
            .receive_return(ReceiveReturnRequest {
                return_id: id,
                items: vec![],
            })
            .await
            .map(drop),
        "IssueRefund" => client
            .issue_refund(IssueRefundRequest {
                return_id: id.clone(),
                request_id: id,
            })
            .await
            .map(drop),
        "ConfirmRefund" => client
            .confirm_refund(ConfirmRefundRequest {
                refund_id: id,
                provider_reference: "p".into(),
            })
            .await
            .map(drop),
        "FailRefund" => client
            .fail_refund(FailRefundRequest {
                refund_id: id,
                reason: "r".into(),
            })
            .await
            .map(drop),
        "ShipExchange" => client
            .ship_exchange(ShipExchangeRequest {
                return_id: id,
                carrier: "c".into(),
                tracking_number: "t".into(),
            })
            .await
            .map(drop),
        "PriceExchange" => client
            .price_exchange(PriceExchangeRequest {
                return_id: id,
                prices: vec![ReplacementPrice {
                    line_id: "L1".into(),
                    price: eur("1.00"),
                }],
            })
            .await
            .map(drop),
        "ChargeExchangeDifference" => client
            .charge_exchange_difference(ChargeExchangeDifferenceRequest {
                return_id: id.clone(),
                request_id: id,
            })
            .await
            .map(drop),
        "ConfirmCharge" => client
            .confirm_charge(ConfirmChargeRequest {
                charge_id: id,
                provider_reference: "p".into(),
            })
            .await
            .map(drop),
        "FailCharge" => client
            .fail_charge(FailChargeRequest {
                charge_id: id,
                reason: "r".into(),
            })
            .await
            .map(drop),
        "AddReturnMessage" => client
            .add_return_message(AddReturnMessageRequest {
                return_id: id,
                text: "hi".into(),
                internal: false,
                channel: 0,
                request_id: String::new(),
            })
            .await
            .map(drop),
        other => panic!("no call for {other}"),
    }
}

#[tokio::test]
async fn every_role_against_every_rpc() {
    let app = TestApp::spawn().await;
    use Role::*;
    let matrix: &[(&str, &[Role])] = &[
        ("GetReturnPolicy", &[Customer, Agent, Admin, Service]),
        ("ListReturnPolicies", &[Agent, Admin, Service]),
        ("UpdateReturnPolicy", &[Admin]),
        ("SetCustomerFlag", &[Agent, Admin]),
        ("CheckEligibility", &[Customer, Service, Agent]),
        ("CreateReturn", &[Customer, Service, Agent]),
        ("GetReturn", &[Customer, Agent, Admin, Service]),
        ("ListReturns", &[Customer, Agent, Admin, Service]),
        ("ApproveReturn", &[Agent]),
        ("RejectReturn", &[Agent]),
        ("CancelReturn", &[Customer, Service, Agent]),
        ("RecordReturnShipment", &[Customer, Service, Agent]),
        ("ReceiveReturn", &[Agent]),
        ("IssueRefund", &[Agent, Service]),
        ("ConfirmRefund", &[Agent, Service]),
        ("FailRefund", &[Agent, Service]),
        ("ShipExchange", &[Agent, Service]),
        ("AddReturnMessage", &[Customer, Agent]),
        ("PriceExchange", &[Agent, Service]),
        ("ChargeExchangeDifference", &[Agent, Service]),
        ("ConfirmCharge", &[Agent, Service]),
        ("FailCharge", &[Agent, Service]),
    ];
    let table: Vec<&str> = aftercare_returns::grpc::ROLES.iter().map(|(rpc, _)| *rpc).collect();
    assert_eq!(
        table,
        matrix.iter().map(|(rpc, _)| *rpc).collect::<Vec<_>>(),
        "the matrix covers every RPC"
    );
    for (rpc, allowed) in matrix {
        for role in Role::ALL {
            let result = call(&mut app.returns(role, "c-1"), rpc).await;
            let code = result.err().map(|e| e.code());
            if allowed.contains(&role) {
                assert!(
                    !matches!(
                        code,
                        Some(Code::PermissionDenied | Code::Unauthenticated | Code::Internal)
                    ),
                    "{role} should pass the role check of {rpc}: {code:?}"
                );
            } else {
                assert_eq!(code, Some(Code::PermissionDenied), "{role} must not call {rpc}");
            }
        }
        assert_eq!(
            call(&mut app.returns_anonymous(), rpc).await.unwrap_err().code(),
            Code::Unauthenticated,
            "{rpc}"
        );
    }
}
