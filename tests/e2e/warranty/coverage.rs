//! Coverage on any day: the last covered day is covered to its last second
//! in the customer's zone and the next is not; terms are versioned and a
//! product keeps the version it was registered under.

use chrono::Duration;

use super::*;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[tokio::test]
async fn covered_through_the_last_day_in_istanbul_and_not_a_second_later() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let r = unit(&app, "L1", 1).await;
    // Delivered 2 March 2026, 12:00 in Istanbul; 24 months: through
    // 1 March 2028.
    let last = coverage_at(&app, &r.registration_id, at("2028-03-01T20:59:59Z")).await;
    assert_eq!((last.covered, last.reason()), (true, CoverageReason::Covered));
    assert_eq!(last.covered_through, "2028-03-01");
    assert!(last.covers_parts && last.covers_labour && last.covers_shipping);
    let next = coverage_at(&app, &r.registration_id, at("2028-03-01T21:00:00Z")).await;
    assert_eq!((next.covered, next.reason()), (false, CoverageReason::Expired));
    assert!(next.remedies.is_empty());
    let before = coverage_at(&app, &r.registration_id, start_time() - Duration::days(1)).await;
    assert_eq!(before.reason(), CoverageReason::NotStarted);
    // A fault the terms exclude.
    let liquid = customer(&app)
        .check_coverage(CheckCoverageRequest {
            product: Some(check_coverage_request::Product::RegistrationId(
                r.registration_id.clone(),
            )),
            at: ts(start_time() + Duration::days(30)),
            cause: Exclusion::Liquid as i32,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(liquid.reason(), CoverageReason::Excluded);
    // Unset `at` is now (the test clock: the start).
    let now = customer(&app)
        .check_coverage(CheckCoverageRequest {
            product: Some(check_coverage_request::Product::RegistrationId(
                r.registration_id.clone(),
            )),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(now.covered);
}

#[tokio::test]
async fn covered_through_the_last_day_in_new_york() {
    let app = TestApp::spawn().await;
    let r = verified(&app, "SN-NY", "2026-03-02T09:00:00Z").await;
    // Bought 2 March 2026, 04:00 in New York (EST, UTC-5).
    assert_eq!(r.covered_through, "2028-03-01");
    let last = coverage_at(&app, &r.registration_id, at("2028-03-02T04:59:59Z")).await;
    assert!(last.covered, "23:59:59 on the last day in New York");
    let next = coverage_at(&app, &r.registration_id, at("2028-03-02T05:00:00Z")).await;
    assert_eq!(next.reason(), CoverageReason::Expired);
}

/// A product bought by hand in New York at `bought`, verified.
async fn verified(app: &TestApp, serial: &str, bought: &str) -> Registration {
    let mut r = manual(serial, serial);
    r.purchased_at = ts(bought.parse().unwrap());
    let r = customer(app).register_product(r).await.unwrap().into_inner();
    agent(app, "agent-1")
        .verify_registration(VerifyRegistrationRequest {
            registration_id: r.registration_id.clone(),
            accept: true,
            note: String::new(),
        })
        .await
        .unwrap();
    r
}

/// A product bought in New York in winter whose last covered day is in
/// summer: the day ends at midnight EDT (UTC-4), not at the offset of the
/// purchase (UTC-5); and 31 August + 6 months ends with February.
#[tokio::test]
async fn the_last_day_ends_at_local_midnight_across_daylight_saving() {
    let app = TestApp::spawn().await;
    admin(&app)
        .update_terms(UpdateTermsRequest {
            terms: Some(kitchen(6, "")),
        })
        .await
        .unwrap();
    app.clock.set("2026-10-01T00:00:00Z".parse().unwrap());
    // Noon EST on 15 January 2026: through 14 July 2026 (EDT).
    let winter = verified(&app, "SN-W", "2026-01-15T17:00:00Z").await;
    assert_eq!(winter.covered_through, "2026-07-14");
    let last = coverage_at(&app, &winter.registration_id, at("2026-07-15T03:59:59Z")).await;
    assert!(last.covered);
    let next = coverage_at(&app, &winter.registration_id, at("2026-07-15T04:00:00Z")).await;
    assert_eq!(next.reason(), CoverageReason::Expired);
    // Noon EDT on 31 August 2026: six months end with 27 February 2027.
    let august = verified(&app, "SN-A", "2026-08-31T16:00:00Z").await;
    assert_eq!(august.covered_through, "2027-02-27");
}

fn kitchen(months: i32, sku: &str) -> WarrantyTerms {
    WarrantyTerms {
        category: "kitchen".into(),
        sku: sku.into(),
        duration_months: months,
        covers_parts: true,
        covers_labour: false,
        covers_shipping: false,
        exclusions: vec![Exclusion::Liquid as i32],
        remedies: vec![Remedy::Repair as i32],
        max_repair_working_days: 20,
        repair_time_extends: true,
        first_response_hours: 24,
        repeat_failure: Some(RepeatFailureRule {
            window_months: 12,
            same_fault_max: 2,
            different_faults_max: 4,
            total_faults_max: 6,
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn terms_are_versioned_and_a_product_keeps_its_version() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let before = unit(&app, "L2", 1).await;
    let v1 = admin(&app)
        .update_terms(UpdateTermsRequest {
            terms: Some(kitchen(12, "")),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((v1.category.as_str(), v1.version), ("kitchen", 1));
    let v2 = admin(&app)
        .update_terms(UpdateTermsRequest {
            terms: Some(kitchen(18, "")),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(v2.version, 2);
    let sku = admin(&app)
        .update_terms(UpdateTermsRequest {
            terms: Some(kitchen(36, "SKU-L3")),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((sku.sku.as_str(), sku.version), ("SKU-L3", 1));
    let get = |sku: &str| GetTermsRequest {
        category: "kitchen".into(),
        sku: sku.into(),
    };
    let mut c = customer(&app);
    assert_eq!(
        c.get_terms(get("SKU-L1")).await.unwrap().into_inner().duration_months,
        18
    );
    assert_eq!(
        c.get_terms(get("SKU-L3")).await.unwrap().into_inner().duration_months,
        36
    );
    let garden = GetTermsRequest {
        category: "garden".into(),
        sku: String::new(),
    };
    assert_eq!(c.get_terms(garden).await.unwrap().into_inner().duration_months, 24);
    // Registered before: still 24 months under the default terms.
    let kept = coverage_at(&app, &before.registration_id, at("2027-12-01T00:00:00Z")).await;
    assert!(kept.covered);
    assert_eq!(kept.remedies.len(), 4);
    let list = agent(&app, "agent-1")
        .list_terms(ListTermsRequest {})
        .await
        .unwrap()
        .into_inner()
        .terms;
    let keys: Vec<(String, String, i32)> = list
        .iter()
        .map(|t| (t.category.clone(), t.sku.clone(), t.version))
        .collect();
    assert_eq!(
        keys,
        [
            ("".into(), "".into(), 1),
            ("kitchen".into(), "".into(), 2),
            ("kitchen".into(), "SKU-L3".into(), 1)
        ]
    );
    // A later delivery registers under the terms then in force.
    let mut orders = app.storefront();
    orders.record_order(order("o-2", CUSTOMER)).await.unwrap();
    orders
        .record_delivery(RecordDeliveryRequest {
            order_id: "o-2".into(),
            line_ids: vec![],
            delivered_at: ts(start_time()),
        })
        .await
        .unwrap();
    app.settle().await;
    let later: Vec<Registration> = registrations(&app, CUSTOMER)
        .await
        .into_iter()
        .filter(|r| r.order_id == "o-2")
        .collect();
    let l3 = later.iter().find(|r| r.line_id == "L3").unwrap();
    assert_eq!(
        (l3.terms_sku.as_str(), l3.covered_through.as_str()),
        ("SKU-L3", "2029-03-01")
    );
    let l2 = later.iter().find(|r| r.line_id == "L2").unwrap();
    assert_eq!((l2.terms_version, l2.covered_through.as_str()), (2, "2027-09-01"));
}

#[tokio::test]
async fn bad_terms_and_calendars_are_refused_and_write_nothing() {
    let app = TestApp::spawn().await;
    let mut bad = kitchen(0, "SKU-1");
    bad.category = String::new();
    bad.remedies = vec![99];
    bad.max_repair_working_days = 0;
    let status = admin(&app)
        .update_terms(UpdateTermsRequest { terms: Some(bad) })
        .await
        .unwrap_err();
    let fields = violated_fields(&status);
    for f in [
        "terms.remedies[0]",
        "terms.category",
        "terms.duration_months",
        "terms.max_repair_working_days",
    ] {
        assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
    }
    let calendar = admin(&app)
        .update_calendar(UpdateCalendarRequest {
            calendar: Some(BusinessCalendar {
                country_code: "tr".into(),
                time_zone: "Europe/Nowhere".into(),
                working_weekdays: vec![0, 8],
                holidays: vec!["2026-02-30".into(), "-5000-01-01".into()],
                updated_at: None,
                business_hours_start: "25:00".into(),
                business_hours_end: String::new(),
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&calendar),
        [
            "country_code",
            "calendar.time_zone",
            "calendar.working_weekdays",
            "calendar.holidays[0]",
            "calendar.holidays[1]",
            "calendar.business_hours_start",
            "calendar.business_hours_end"
        ]
    );
    assert_eq!(app.count("SELECT count(*) FROM warranty.terms").await, 1);
    let tr = agent(&app, "agent-1")
        .get_calendar(GetCalendarRequest {
            country_code: "TR".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tr.time_zone, "Europe/Istanbul");
    let de = admin(&app)
        .update_calendar(UpdateCalendarRequest {
            calendar: Some(BusinessCalendar {
                country_code: "DE".into(),
                time_zone: "Europe/Berlin".into(),
                working_weekdays: vec![1, 2, 3, 4, 5],
                holidays: vec!["2026-10-03".into()],
                updated_at: None,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(de.holidays, ["2026-10-03"]);
}
