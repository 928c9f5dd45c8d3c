//! Registration: every delivered unit registers itself, once; a product
//! bought elsewhere waits for verification; a serial is registered once.

use tonic::Code;

use super::*;

#[tokio::test]
async fn every_delivered_unit_registers_once_covered_from_delivery() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let all = registrations(&app, CUSTOMER).await;
    let mut units: Vec<(String, i32)> = all.iter().map(|r| (r.line_id.clone(), r.unit)).collect();
    units.sort();
    assert_eq!(
        units,
        [("L1".into(), 1), ("L1".into(), 2), ("L2".into(), 1), ("L3".into(), 1)]
    );
    for r in &all {
        assert_eq!(r.status(), RegistrationStatus::Active);
        assert_eq!(r.source(), RegistrationSource::Order);
        assert_eq!(r.coverage_starts_at, ts(start_time()));
        assert_eq!(r.time_zone, "Europe/Istanbul");
        assert_eq!((r.terms_category.as_str(), r.terms_version), ("", 1));
        assert_eq!(r.covered_through, "2028-03-01");
    }
    assert_eq!(
        topics(&app, "aftercare.warranty.events.v1.ProductRegistered")
            .await
            .len(),
        4
    );
    // The delivery event again registers nothing more.
    let replayed = sqlx::query(
        "UPDATE platform.outbox_deliveries SET delivered_at = NULL, attempts = 0, next_attempt_at = '2000-01-01'
         WHERE consumer = 'warranty.orders'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(replayed.rows_affected(), 2);
    app.settle().await;
    assert_eq!(registrations(&app, CUSTOMER).await.len(), 4);
    assert_eq!(
        topics(&app, "aftercare.warranty.events.v1.ProductRegistered")
            .await
            .len(),
        4
    );
}

#[tokio::test]
async fn a_product_bought_elsewhere_is_covered_once_verified() {
    let app = TestApp::spawn().await;
    let pending = customer(&app)
        .register_product(manual("SN-1", "reg-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pending.status(), RegistrationStatus::PendingVerification);
    let again = customer(&app)
        .register_product(manual("SN-1", "reg-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        again.registration_id, pending.registration_id,
        "the same request_id answers the same"
    );
    let now = start_time() + chrono::Duration::days(1);
    let c = coverage_at(&app, &pending.registration_id, now).await;
    assert_eq!((c.covered, c.reason()), (false, CoverageReason::PendingVerification));
    let verified = agent(&app, "agent-1")
        .verify_registration(VerifyRegistrationRequest {
            registration_id: pending.registration_id.clone(),
            accept: true,
            note: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(verified.status(), RegistrationStatus::Active);
    let c = coverage_at(&app, &pending.registration_id, now).await;
    assert_eq!((c.covered, c.reason()), (true, CoverageReason::Covered));
    assert_eq!(c.remedies.len(), 4);
    // Verified once: again is a precondition failure.
    let twice = agent(&app, "agent-1")
        .verify_registration(VerifyRegistrationRequest {
            registration_id: pending.registration_id.clone(),
            accept: false,
            note: "fake".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&twice), "REGISTRATION_NOT_PENDING");
    assert_eq!(
        topics(&app, "aftercare.warranty.events.v1.ProductRegistered")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_serial_is_registered_once_and_never_tells_its_owner() {
    let app = TestApp::spawn().await;
    customer(&app).register_product(manual("SN-9", "a")).await.unwrap();
    // The same serial, spelt another way, is the same serial.
    let mut theirs = manual("sn-9", "b");
    theirs.customer_id = "c-2".into();
    let taken = app
        .warranty(Role::Customer, "c-2")
        .register_product(theirs.clone())
        .await
        .unwrap_err();
    assert_eq!(
        (taken.code(), reason(&taken)),
        (Code::AlreadyExists, "SERIAL_REGISTERED".into())
    );
    assert!(!taken.message().contains(CUSTOMER));
    // Looking the serial up as someone else answers NOT_REGISTERED.
    let c = app
        .warranty(Role::Customer, "c-2")
        .check_coverage(CheckCoverageRequest {
            product: Some(check_coverage_request::Product::SerialNumber("SN-9".into())),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (c.reason(), c.registration_id.as_str()),
        (CoverageReason::NotRegistered, "")
    );
    // Rejected, the serial is free for its real owner.
    let first = registrations(&app, CUSTOMER).await.remove(0);
    agent(&app, "agent-1")
        .verify_registration(VerifyRegistrationRequest {
            registration_id: first.registration_id,
            accept: false,
            note: "The receipt is for another product.".into(),
        })
        .await
        .unwrap();
    let mine = app
        .warranty(Role::Customer, "c-2")
        .register_product(theirs)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mine.customer_id, "c-2");
    assert_eq!(
        app.count("SELECT count(*) FROM warranty.registrations WHERE serial_key = 'SN9'")
            .await,
        2
    );
}

#[tokio::test]
async fn a_line_of_thousands_of_units_registers_each_in_one_delivery() {
    let app = TestApp::spawn().await;
    let mut big = crate::fixtures::order("o-big", CUSTOMER);
    big.lines = vec![crate::fixtures::line("L1", 5000, "1.00")];
    big.order_discount = crate::fixtures::eur("0");
    let mut orders = app.storefront();
    orders.record_order(big).await.unwrap();
    orders
        .record_delivery(RecordDeliveryRequest {
            order_id: "o-big".into(),
            line_ids: vec![],
            delivered_at: ts(start_time()),
        })
        .await
        .unwrap();
    // Warranty's own delivery; maintenance then takes its 5,000 products
    // at its own pace.
    app.settle_consumers(&["warranty.orders"]).await;
    assert_eq!(app.count("SELECT count(*) FROM warranty.registrations").await, 5000);
    assert_eq!(
        app.count(
            "SELECT count(DISTINCT aggregate_id) FROM platform.outbox_events
             WHERE topic = 'aftercare.warranty.events.v1.ProductRegistered'"
        )
        .await,
        5000
    );
    // Each unit's price is its share of the line, to the cent.
    assert_eq!(
        app.count("SELECT count(*) FROM warranty.registrations WHERE unit_price = 1.00")
            .await,
        5000
    );
}
