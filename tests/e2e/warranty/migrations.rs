//! The releases' migrations on the data of the release before them:
//! warranty refunds moved into returns' refund path as they stood, and
//! service-level targets stored as they were computed.

use std::borrow::Cow;

use aftercare::database::MIGRATOR;
use rust_decimal::Decimal;
use sqlx::PgPool;
use sqlx::migrate::Migrator;

use crate::test_db::TestDb;

/// The migrations before `version`, as an earlier release ran them.
async fn migrated_before(pool: &PgPool, version: i64) {
    let earlier = Migrator {
        migrations: Cow::Owned(MIGRATOR.iter().filter(|m| m.version < version).cloned().collect()),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    };
    earlier.run(pool).await.unwrap();
}

const REFUNDS_MOVED: i64 = 20261128000002;

/// o-1: L1, two kettles for 30.00 (15.00 each), delivered; unit 1 was
/// replaced by R; a refund on R was paid, one on unit 2 is pending.
async fn seed_refunds(pool: &PgPool) {
    sqlx::raw_sql(
        "INSERT INTO returns.orders (order_id, customer_id, currency_code) VALUES ('o-1', 'c-1', 'EUR');
         INSERT INTO returns.order_lines (order_id, line_id, position, sku, product_name, category, quantity,
             paid_amount, delivered_at)
         VALUES ('o-1', 'L1', 0, 'KETTLE-1', 'Kettle', 'kitchen', 2, 30.00, '2026-03-01T09:00:00Z');
         INSERT INTO warranty.registrations (registration_id, customer_id, source, status, sku, category,
             product_name, order_id, line_id, unit, purchased_at, coverage_starts_at, terms_category, terms_sku,
             terms_version, duration_months, time_zone, unit_price, currency_code, created_at, updated_at)
         VALUES
             ('00000000-0000-0000-0000-000000000001', 'c-1', 'order', 'replaced', 'KETTLE-1', 'kitchen', 'Kettle',
              'o-1', 'L1', 1, '2026-02-27', '2026-03-01', '', '', 1, 24, 'Europe/Istanbul', 15.00, 'EUR',
              '2026-03-01', '2026-03-01'),
             ('00000000-0000-0000-0000-000000000002', 'c-1', 'order', 'active', 'KETTLE-1', 'kitchen', 'Kettle',
              'o-1', 'L1', 2, '2026-02-27', '2026-03-01', '', '', 1, 24, 'Europe/Istanbul', 15.00, 'EUR',
              '2026-03-01', '2026-03-01');
         INSERT INTO returns.order_lines (order_id, line_id, position, sku, product_name, category, quantity,
             paid_amount, delivered_at, requested_quantity, refunded_units, refunded_amount, refunded_value)
         VALUES ('o-1', 'L2', 1, 'KETTLE-1', 'Kettle', 'kitchen', 2, 30.00, '2026-03-01T09:00:00Z', 1, 1, 15.00,
             15.00);
         INSERT INTO warranty.registrations (registration_id, customer_id, source, status, sku, category,
             product_name, order_id, line_id, unit, purchased_at, coverage_starts_at, terms_category, terms_sku,
             terms_version, duration_months, time_zone, unit_price, currency_code, created_at, updated_at)
         SELECT u.id, 'c-1', 'order', 'active', 'KETTLE-1', 'kitchen', 'Kettle', 'o-1', 'L2', u.n, '2026-02-27',
             '2026-03-01', '', '', 1, 24, 'Europe/Istanbul', 15.00, 'EUR', '2026-03-01', '2026-03-01'
         FROM (VALUES ('00000000-0000-0000-0000-000000000021'::uuid, 1),
                      ('00000000-0000-0000-0000-000000000022'::uuid, 2)) u (id, n);
         INSERT INTO warranty.registrations (registration_id, customer_id, source, status, sku, category,
             product_name, serial_number, serial_key, purchased_at, coverage_starts_at, terms_category,
             terms_sku, terms_version, duration_months, time_zone, unit_price, currency_code, replaces,
             created_at, updated_at)
         VALUES ('00000000-0000-0000-0000-00000000000a', 'c-1', 'replacement', 'refunded', 'KETTLE-1',
             'kitchen', 'Kettle', 'NEW-1', 'NEW1', '2026-02-27', '2026-03-01', '', '', 1, 24, 'Europe/Istanbul',
             15.00, 'EUR', '00000000-0000-0000-0000-000000000001', '2026-04-01', '2026-04-01');
         INSERT INTO warranty.claims (claim_id, registration_id, customer_id, status, remedy, fault_category,
             description, photo_urls, channel, coverage_reason, offered_remedies, covers_parts, covers_labour,
             covers_shipping, filed_at, updated_at, first_response_due, resolution_due)
         SELECT c.id, c.reg, 'c-1', c.status, 'refund', 'does not heat', 'Broken.', '{}', 'web', 'covered',
             '{refund}', true, true, true, '2026-05-04T09:00:00Z', '2026-05-04T09:00:00Z',
             '2026-05-05T09:00:00Z', '2026-06-01T21:00:00Z'
         FROM (VALUES ('00000000-0000-0000-0000-0000000000c1'::uuid,
                       '00000000-0000-0000-0000-00000000000a'::uuid, 'resolved'),
                      ('00000000-0000-0000-0000-0000000000c2'::uuid,
                       '00000000-0000-0000-0000-000000000002'::uuid, 'approved')) c (id, reg, status);
         INSERT INTO warranty.refunds (refund_id, claim_id, kind, amount, currency_code, status,
             provider_reference, created_at, updated_at)
         VALUES ('00000000-0000-0000-0000-0000000000f1', '00000000-0000-0000-0000-0000000000c1', 'refund',
                 15.00, 'EUR', 'succeeded', 'psp-old', '2026-05-05', '2026-05-06'),
                ('00000000-0000-0000-0000-0000000000f2', '00000000-0000-0000-0000-0000000000c2', 'refund',
                 15.00, 'EUR', 'pending', NULL, '2026-05-07', '2026-05-07');",
    )
    .execute(pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn warranty_refunds_of_the_earlier_release_move_into_returns_as_they_stood() {
    let db = TestDb::empty().await;
    let pool = db.pool(2).await;
    migrated_before(&pool, REFUNDS_MOVED).await;
    seed_refunds(&pool).await;
    MIGRATOR.run(&pool).await.unwrap();
    // Each under its own id (the one the payment tool saw), on the line of
    // the unit as sold: the replacement's is unit 1.
    let moved: Vec<(uuid::Uuid, String, Option<uuid::Uuid>, String, String, i32)> = sqlx::query_as(
        "SELECT refund_id, status, unit_id, method, line_id, units FROM returns.warranty_refunds
         WHERE refund_id = warranty_refund_id ORDER BY refund_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let unit = |n: u128| Some(uuid::Uuid::from_u128(n));
    assert_eq!(
        moved,
        [
            (
                uuid::Uuid::from_u128(0xf1),
                "succeeded".into(),
                unit(1),
                "original_payment".into(),
                "L1".into(),
                1
            ),
            (
                uuid::Uuid::from_u128(0xf2),
                "pending".into(),
                unit(2),
                "original_payment".into(),
                "L1".into(),
                1
            ),
        ]
    );
    // Both units and all their money are counted on the line: nothing of
    // it can be returned for money again.
    let line: (i32, i32, Decimal, Decimal) = sqlx::query_as(
        "SELECT requested_quantity, refunded_units, refunded_amount, refunded_value FROM returns.order_lines
         WHERE order_id = 'o-1' AND line_id = 'L1'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(line, (2, 2, Decimal::new(3000, 2), Decimal::new(3000, 2)));
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM warranty.refunds WHERE status = 'pending'")
            .fetch_one(&pool)
            .await
            .unwrap(),
        1,
        "still pending, to be settled through returns"
    );
    // L2's unit a return refunded before is no longer covered: one of two.
    let l2: Vec<(i32, String)> =
        sqlx::query_as("SELECT unit, status FROM warranty.registrations WHERE line_id = 'L2' ORDER BY unit")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(l2, [(1, "active".into()), (2, "refunded".into())]);
}

#[tokio::test]
async fn a_line_paid_back_both_ways_before_stops_the_migration_naming_it() {
    let db = TestDb::empty().await;
    let pool = db.pool(2).await;
    migrated_before(&pool, REFUNDS_MOVED).await;
    seed_refunds(&pool).await;
    // A return had refunded both kettles of L1 as well.
    sqlx::query(
        "UPDATE returns.order_lines SET requested_quantity = 2, refunded_units = 2, refunded_amount = 30.00,
             refunded_value = 30.00 WHERE line_id = 'L1'",
    )
    .execute(&pool)
    .await
    .unwrap();
    let stopped = MIGRATOR.run(&pool).await.unwrap_err().to_string();
    assert!(stopped.contains("o-1/L1"), "{stopped}");
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE version >= $1")
        .bind(REFUNDS_MOVED)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(applied, 0, "nothing of it applied");
}

const SLA_STORED_MOVED: i64 = 20261128000003;

#[tokio::test]
async fn service_level_targets_are_stored_moved_by_their_pauses() {
    let db = TestDb::empty().await;
    // One connection: the session's time zone below is the migration's.
    let pool = db.pool(1).await;
    migrated_before(&pool, SLA_STORED_MOVED).await;
    seed_refunds(&pool).await;
    // The approved claim had been paused 2 hours, over the night New York
    // moved its clocks (the server's zone must not matter).
    sqlx::raw_sql(
        "SET TIME ZONE 'America/New_York';
         UPDATE warranty.claims SET filed_at = '2026-03-07T12:00:00Z', first_response_due = '2026-03-08T12:00:00Z',
             resolution_due = '2026-03-12T12:00:00Z', paused_micros = 7200000000
         WHERE claim_id = '00000000-0000-0000-0000-0000000000c2';",
    )
    .execute(&pool)
    .await
    .unwrap();
    MIGRATOR.run(&pool).await.unwrap();
    type At = chrono::DateTime<chrono::Utc>;
    let (frd, frr, rd, rr): (At, At, At, At) = sqlx::query_as(
        "SELECT first_response_due, first_response_risk_at, resolution_due, resolution_risk_at
             FROM warranty.claims WHERE claim_id = '00000000-0000-0000-0000-0000000000c2'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let t = |s: &str| s.parse::<At>().unwrap();
    // Due moments moved by the 2 hours; at risk at 80% of the way, plus them.
    assert_eq!(frd, t("2026-03-08T14:00:00Z"));
    assert_eq!(frr, t("2026-03-08T09:12:00Z"));
    assert_eq!(rd, t("2026-03-12T14:00:00Z"));
    assert_eq!(rr, t("2026-03-11T14:00:00Z"));
}
