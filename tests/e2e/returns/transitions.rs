//! The status graph seen from outside: every illegal step names the current status and changes nothing.

use super::*;

#[tokio::test]
async fn illegal_transitions_name_the_current_status() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let r = customer(&app)
        .create_return(create("o-1", vec![refund_item("L1", 2)]))
        .await
        .unwrap()
        .into_inner();
    let id = r.return_id.clone();
    let status_of = |err: &tonic::Status| {
        tonic_types::StatusExt::get_details_error_info(err)
            .unwrap()
            .metadata
            .get("status")
            .cloned()
            .unwrap_or_default()
    };

    let err = agent(&app)
        .receive_return(ReceiveReturnRequest {
            return_id: id.clone(),
            items: vec![ReceivedItem {
                line_id: "L1".into(),
                received_quantity: 2,
                grade: Grade::Resellable as i32,
            }],
        })
        .await
        .unwrap_err();
    assert_eq!(
        (precondition(&err).as_str(), status_of(&err).as_str()),
        ("INVALID_STATUS", "REQUESTED")
    );
    let err = customer(&app)
        .record_return_shipment(RecordReturnShipmentRequest {
            return_id: id.clone(),
            carrier: "DHL".into(),
            tracking_number: "1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), "REQUESTED");
    assert_eq!(status_of(&issue(&app, &id).await.unwrap_err()), "REQUESTED");

    agent(&app)
        .reject_return(RejectReturnRequest {
            return_id: id.clone(),
            reason: "used".into(),
        })
        .await
        .unwrap();
    let err = agent(&app)
        .approve_return(ApproveReturnRequest {
            return_id: id.clone(),
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), "REJECTED");
    let err = customer(&app)
        .cancel_return(CancelReturnRequest {
            return_id: id.clone(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), "REJECTED");
    let rejected = customer(&app)
        .get_return(GetReturnRequest { return_id: id })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rejected.rejection_reason, "used");
    assert_eq!(
        topics(&app, &rejected.return_id).await,
        [
            "aftercare.returns.events.v1.ReturnRequested",
            "aftercare.returns.events.v1.ReturnRejected"
        ]
    );

    // Rejection gave the units back: the customer may ask again. Customers
    // cancel before shipment; agents until receipt.
    let r = customer(&app)
        .create_return(create("o-1", vec![refund_item("L1", 2)]))
        .await
        .unwrap()
        .into_inner();
    approve(&app, &r.return_id).await;
    ship(&app, &r.return_id).await;
    let err = customer(&app)
        .cancel_return(CancelReturnRequest {
            return_id: r.return_id.clone(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), "IN_TRANSIT");
    let canceled = agent(&app)
        .cancel_return(CancelReturnRequest {
            return_id: r.return_id.clone(),
            reason: "lost".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(canceled.status(), ReturnStatus::Canceled);
    assert_eq!(
        topics(&app, &canceled.return_id).await.last().map(String::as_str),
        Some("aftercare.returns.events.v1.ReturnCanceled")
    );
    let requested: i32 = sqlx::query_scalar(
        "SELECT requested_quantity FROM returns.order_lines WHERE order_id = 'o-1' AND line_id = 'L1'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(requested, 0);
}
