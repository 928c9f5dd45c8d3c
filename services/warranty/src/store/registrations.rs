//! Registered products.

use aftercare_kernel::zone;
use aftercare_kernel::{Currency, DateTime, Decimal, Money, Utc};
use aftercare_platform::error::Error;
use aftercare_platform::paging::Cursor;
use aftercare_platform::sqlstate::{ConstraintKind, constraint};
use sqlx::PgConnection;
use uuid::Uuid;

use super::parse;
use crate::domain::registration::serial_key;
use crate::domain::{PastFault, Registration, RegistrationId, RegistrationStatus, Source, TermsRef, WarrantyError};

#[derive(sqlx::FromRow)]
struct RegistrationRow {
    registration_id: Uuid,
    customer_id: String,
    source: String,
    status: String,
    sku: String,
    category: String,
    product_name: String,
    serial_number: Option<String>,
    order_id: Option<String>,
    line_id: Option<String>,
    unit: Option<i32>,
    purchased_at: DateTime<Utc>,
    proof_of_purchase_ref: Option<String>,
    coverage_starts_at: DateTime<Utc>,
    terms_category: String,
    terms_sku: String,
    terms_version: i32,
    duration_months: i32,
    extended_months: i32,
    time_zone: String,
    repair_extension_days: i32,
    verification_note: String,
    unit_price: Option<Decimal>,
    currency_code: Option<String>,
    replaces: Option<Uuid>,
    created_at: DateTime<Utc>,
}

impl TryFrom<RegistrationRow> for Registration {
    type Error = WarrantyError;
    fn try_from(r: RegistrationRow) -> Result<Registration, WarrantyError> {
        let order_line = match (r.order_id, r.line_id, r.unit) {
            (Some(o), Some(l), Some(u)) => Some((o, l, u)),
            _ => None,
        };
        Ok(Registration {
            registration_id: RegistrationId::from_uuid(r.registration_id),
            source: parse(&r.source, "registration source", Source::parse)?,
            status: parse(&r.status, "registration status", RegistrationStatus::parse)?,
            time_zone: parse(&r.time_zone, "time zone", zone::parse)?,
            customer_id: r.customer_id,
            sku: r.sku,
            category: r.category,
            product_name: r.product_name,
            serial_number: r.serial_number,
            order_line,
            purchased_at: r.purchased_at,
            proof_of_purchase_ref: r.proof_of_purchase_ref,
            coverage_starts_at: r.coverage_starts_at,
            terms: TermsRef {
                category: r.terms_category,
                sku: r.terms_sku,
                version: r.terms_version,
            },
            duration_months: r.duration_months,
            extended_months: r.extended_months,
            repair_extension_days: r.repair_extension_days,
            verification_note: r.verification_note,
            unit_price: match (r.unit_price, r.currency_code) {
                (Some(amount), Some(code)) => Some(Money::from_decimal(
                    parse(&code, "currency", Currency::from_code)?,
                    amount,
                )),
                _ => None,
            },
            replaces: r.replaces.map(RegistrationId::from_uuid),
            created_at: r.created_at,
        })
    }
}

/// A unit of [`insert_units`]: its id, unit number, serial and price.
pub type Unit = (RegistrationId, Option<i32>, Option<String>, Option<Money>);

/// Writes one registration (a product registered by hand); a serial
/// registered before is [`WarrantyError::SerialRegistered`].
pub async fn insert(conn: &mut PgConnection, r: &Registration) -> Result<(), Error> {
    let unit = (
        r.registration_id,
        r.order_line.as_ref().map(|(_, _, u)| *u),
        r.serial_number.clone(),
        r.unit_price,
    );
    insert_units(conn, r, &[unit]).await.map(drop)
}

/// Writes registrations like `template`, one per unit, in one statement:
/// the units written (an order unit registered before is skipped, so a
/// replayed delivery registers nothing twice). A serial registered before
/// is [`WarrantyError::SerialRegistered`].
pub async fn insert_units(
    conn: &mut PgConnection,
    template: &Registration,
    units: &[Unit],
) -> Result<Vec<RegistrationId>, Error> {
    let r = template;
    let (order_id, line_id) = match &r.order_line {
        Some((o, l, _)) => (Some(o.as_str()), Some(l.as_str())),
        None => (None, None),
    };
    let ids: Vec<Uuid> = units.iter().map(|(id, ..)| id.as_uuid()).collect();
    let numbers: Vec<Option<i32>> = units.iter().map(|(_, n, ..)| *n).collect();
    let serials: Vec<Option<String>> = units.iter().map(|(_, _, s, _)| s.clone()).collect();
    let keys: Vec<Option<String>> = units.iter().map(|(_, _, s, _)| s.as_deref().map(serial_key)).collect();
    let prices: Vec<Option<Decimal>> = units.iter().map(|(.., p)| p.map(|m| m.amount())).collect();
    let result = sqlx::query_scalar(
        "INSERT INTO warranty.registrations (registration_id, unit, serial_number, serial_key, customer_id, source,
             status, sku, category, product_name, order_id, line_id, purchased_at, proof_of_purchase_ref,
             coverage_starts_at, terms_category, terms_sku, terms_version, duration_months, time_zone,
             repair_extension_days, verification_note, created_at, updated_at, unit_price, currency_code, replaces,
             extended_months)
         SELECT u.id, u.unit, u.serial, u.key, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
             $20, $21, $22, $23, $23, u.price, $25, $26, $27
         FROM UNNEST($1::uuid[], $2::int[], $3::text[], $4::text[], $24::numeric[]) AS u (id, unit, serial, key, price)
         ON CONFLICT (order_id, line_id, unit) WHERE source = 'order' DO NOTHING
         RETURNING registration_id",
    )
    .bind(ids)
    .bind(numbers)
    .bind(serials)
    .bind(keys)
    .bind(&r.customer_id)
    .bind(r.source.as_str())
    .bind(r.status.as_str())
    .bind(&r.sku)
    .bind(&r.category)
    .bind(&r.product_name)
    .bind(order_id)
    .bind(line_id)
    .bind(r.purchased_at)
    .bind(r.proof_of_purchase_ref.as_deref())
    .bind(r.coverage_starts_at)
    .bind(&r.terms.category)
    .bind(&r.terms.sku)
    .bind(r.terms.version)
    .bind(r.duration_months)
    .bind(r.time_zone.name())
    .bind(r.repair_extension_days)
    .bind(&r.verification_note)
    .bind(r.created_at)
    .bind(prices)
    .bind(
        units
            .iter()
            .find_map(|(.., p)| *p)
            .or(r.unit_price)
            .map(|m| m.currency().code()),
    )
    .bind(r.replaces.map(|id| id.as_uuid()))
    .bind(r.extended_months)
    .fetch_all(&mut *conn)
    .await;
    match result {
        Ok(written) => Ok(written.into_iter().map(RegistrationId::from_uuid).collect()),
        Err(e) if constraint(&e).is_some_and(|c| c.kind == ConstraintKind::Unique) => {
            Err(WarrantyError::SerialRegistered.into())
        }
        Err(e) => Err(e.into()),
    }
}

const SELECT: &str = "SELECT * FROM warranty.registrations";

/// A registration, locked for update when `lock`.
pub async fn get(conn: &mut PgConnection, id: RegistrationId, lock: bool) -> Result<Option<Registration>, Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let row: Option<RegistrationRow> = sqlx::query_as(&format!("{SELECT} WHERE registration_id = $1{lock}"))
        .bind(id.as_uuid())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(Registration::try_from).transpose()?)
}

/// A registration with what a claim filed on it needs to know: its
/// earlier faults, the spans of its warranty repairs, and which default
/// calendar (country, revision) is in force — one statement.
pub struct WithHistory {
    pub registration: Registration,
    pub past_faults: Vec<PastFault>,
    pub repairs: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    pub calendar: (String, i64),
}

#[derive(sqlx::FromRow)]
struct HistoryRow {
    #[sqlx(flatten)]
    registration: RegistrationRow,
    fault_categories: Vec<String>,
    faults_filed_at: Vec<DateTime<Utc>>,
    repairs_received_at: Vec<DateTime<Utc>>,
    repairs_shipped_at: Vec<DateTime<Utc>>,
    calendar_country: String,
    calendar_revision: i64,
}

pub async fn with_history(conn: &mut PgConnection, id: RegistrationId) -> Result<Option<WithHistory>, Error> {
    // Earlier faults are other claims accepted under warranty for a repair
    // or a price reduction (the customer kept the faulty product either
    // way); repairs count from arrival to shipping back, paid ones aside.
    let row: Option<HistoryRow> = sqlx::query_as(
        "SELECT r.*, f.fault_categories, f.faults_filed_at, s.repairs_received_at, s.repairs_shipped_at,
             COALESCE(d.country_code, '') AS calendar_country, COALESCE(d.revision, 0) AS calendar_revision
         FROM warranty.registrations r
         CROSS JOIN LATERAL (
             SELECT COALESCE(array_agg(c.fault_category), '{}') AS fault_categories,
                    COALESCE(array_agg(c.filed_at), '{}') AS faults_filed_at
             FROM warranty.claims c
             WHERE c.registration_id = r.registration_id AND c.remedy IN ('repair', 'price_reduction')
               AND NOT c.paid_repair AND c.coverage_reason = 'covered'
               AND c.status IN ('approved', 'in_service', 'resolved', 'closed')) f
         CROSS JOIN LATERAL (
             SELECT COALESCE(array_agg(o.received_at), '{}') AS repairs_received_at,
                    COALESCE(array_agg(o.shipped_back_at), '{}') AS repairs_shipped_at
             FROM warranty.service_orders o JOIN warranty.claims c USING (claim_id)
             WHERE c.registration_id = r.registration_id AND NOT o.paid
               AND o.received_at IS NOT NULL AND o.shipped_back_at IS NOT NULL) s
         LEFT JOIN warranty.calendars d ON d.is_default
         WHERE r.registration_id = $1",
    )
    .bind(id.as_uuid())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(WithHistory {
        registration: row.registration.try_into()?,
        past_faults: row
            .fault_categories
            .into_iter()
            .zip(row.faults_filed_at)
            .map(|(fault_category, filed_at)| PastFault {
                fault_category,
                filed_at,
            })
            .collect(),
        repairs: row
            .repairs_received_at
            .into_iter()
            .zip(row.repairs_shipped_at)
            .collect(),
        calendar: (row.calendar_country, row.calendar_revision),
    }))
}

/// The units of order line ($1, $2) as sold: each with its live (active)
/// registration, whether warranty paid money on it and whether it had a
/// claim.
const RETURNED_UNITS: &str = "WITH RECURSIVE chain AS (
        SELECT r.registration_id AS unit, r.unit AS unit_no, r.registration_id, 0 AS depth
        FROM warranty.registrations r
        WHERE r.source = 'order' AND r.order_id = $1 AND r.line_id = $2
        UNION ALL
        SELECT c.unit, c.unit_no, r.registration_id, c.depth + 1
        FROM chain c JOIN warranty.registrations r ON r.replaces = c.registration_id
        WHERE c.depth < 1000
    ), units AS (
        SELECT c.unit, min(c.unit_no) AS unit_no,
            (array_agg(r.registration_id) FILTER (WHERE r.status = 'active'))[1] AS live,
            bool_or(EXISTS (SELECT 1 FROM warranty.claims k JOIN warranty.refunds f USING (claim_id)
                            WHERE k.registration_id = r.registration_id)) AS taken,
            bool_or(EXISTS (SELECT 1 FROM warranty.claims k WHERE k.registration_id = r.registration_id))
                AS claimed
        FROM chain c JOIN warranty.registrations r USING (registration_id)
        GROUP BY c.unit)";

/// Marks `units` units of an order line refunded by a return, once per
/// returns refund (`false` when applied before). Returns counts units, not
/// serials: of the line's units as sold, each followed to its live
/// registration (a replacement continues the unit it replaced), those
/// warranty paid money on are skipped (returns took them from the line, so
/// no return refunds them), then units with no claim go first, the last
/// numbered first.
pub async fn returned(
    conn: &mut PgConnection,
    refund_id: Uuid,
    lines: &[(String, String, i32)],
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    let fresh = sqlx::query(
        "INSERT INTO warranty.returned_refunds (refund_id, applied_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(refund_id)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if fresh == 0 {
        return Ok(false);
    }
    for (order_id, line_id, units) in lines {
        sqlx::query(&format!(
            "{RETURNED_UNITS}
             UPDATE warranty.registrations SET status = 'refunded', updated_at = $4
             WHERE registration_id IN (
                 SELECT live FROM units WHERE live IS NOT NULL AND NOT taken
                 ORDER BY claimed, unit_no DESC LIMIT $3)"
        ))
        .bind(order_id)
        .bind(line_id)
        .bind(i64::from((*units).max(0)))
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(true)
}

/// The unit as sold: its first registration (a replacement goes back
/// through the units it replaced, however many times) and, when the store
/// sold it, the order line (order, line).
pub async fn origin(conn: &mut PgConnection, id: RegistrationId) -> Result<Origin, Error> {
    let (unit, order_id, line_id): (Uuid, Option<String>, Option<String>) = sqlx::query_as(
        "WITH RECURSIVE chain AS (
             SELECT registration_id, replaces, order_id, line_id, 0 AS depth
             FROM warranty.registrations WHERE registration_id = $1
             UNION ALL
             SELECT r.registration_id, r.replaces, r.order_id, r.line_id, c.depth + 1
             FROM warranty.registrations r JOIN chain c ON r.registration_id = c.replaces
             WHERE c.depth < 1000)
         SELECT registration_id, order_id, line_id FROM chain ORDER BY depth DESC LIMIT 1",
    )
    .bind(id.as_uuid())
    .fetch_one(&mut *conn)
    .await?;
    Ok(Origin {
        unit: RegistrationId::from_uuid(unit),
        order_line: order_id.zip(line_id),
    })
}

/// See [`origin`].
pub struct Origin {
    pub unit: RegistrationId,
    pub order_line: Option<(String, String)>,
}

/// The live (not rejected) registration of a serial number.
pub async fn by_serial(conn: &mut PgConnection, serial: &str) -> Result<Option<Registration>, Error> {
    let row: Option<RegistrationRow> =
        sqlx::query_as(&format!("{SELECT} WHERE serial_key = $1 AND status <> 'rejected'"))
            .bind(serial_key(serial))
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(Registration::try_from).transpose()?)
}

/// A customer's registrations, newest first, after `cursor`.
pub async fn list(
    conn: &mut PgConnection,
    customer_id: &str,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<Registration>, Error> {
    let after = cursor
        .map(|c| Uuid::parse_str(&c.id))
        .transpose()
        .map_err(|_| Error::invalid("page_token", "not a page token from this query"))?;
    let rows: Vec<RegistrationRow> = sqlx::query_as(&format!(
        "{SELECT} WHERE customer_id = $1 AND ($2::timestamptz IS NULL OR (created_at, registration_id) < ($2, $3))
         ORDER BY created_at DESC, registration_id DESC LIMIT $4"
    ))
    .bind(customer_id)
    .bind(cursor.map(|c| c.at))
    .bind(after.unwrap_or_default())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(Registration::try_from).collect::<Result<_, _>>()?)
}

/// Writes a verification's outcome.
pub async fn set_verified(conn: &mut PgConnection, r: &Registration, now: DateTime<Utc>) -> Result<(), Error> {
    sqlx::query(
        "UPDATE warranty.registrations SET status = $2, verification_note = $3, updated_at = $4
         WHERE registration_id = $1",
    )
    .bind(r.registration_id.as_uuid())
    .bind(r.status.as_str())
    .bind(&r.verification_note)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Adds days spent in repair to a registration's coverage.
pub async fn extend(conn: &mut PgConnection, id: RegistrationId, days: i32, now: DateTime<Utc>) -> Result<(), Error> {
    sqlx::query(
        "UPDATE warranty.registrations SET repair_extension_days = repair_extension_days + $2, updated_at = $3
         WHERE registration_id = $1",
    )
    .bind(id.as_uuid())
    .bind(days)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Marks a unit refunded, unless it was replaced meanwhile (its
/// replacement carries on).
pub async fn settle_refunded(conn: &mut PgConnection, id: RegistrationId, now: DateTime<Utc>) -> Result<(), Error> {
    sqlx::query(
        "UPDATE warranty.registrations SET status = 'refunded', updated_at = $2
         WHERE registration_id = $1 AND status = 'active'",
    )
    .bind(id.as_uuid())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Marks a registration settled: `replaced` by another unit, or
/// `refunded`.
pub async fn set_status(
    conn: &mut PgConnection,
    id: RegistrationId,
    status: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    sqlx::query("UPDATE warranty.registrations SET status = $2, updated_at = $3 WHERE registration_id = $1")
        .bind(id.as_uuid())
        .bind(status)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// An order line's units and the replacements that carry their coverage
/// on: a unit's registration and every replacement descending from it.
const LINE_UNITS: &str = "WITH RECURSIVE chain (id) AS (
         SELECT registration_id FROM warranty.registrations
         WHERE order_id = $1 AND line_id = $2 AND source = 'order'
         UNION
         SELECT r.registration_id FROM warranty.registrations r JOIN chain ON r.replaces = chain.id)";

/// Moves the extended months of an order line's units (and their
/// replacements) by `months`: a plan delivered, or canceled with a negative
/// count.
pub async fn extend_line(
    conn: &mut PgConnection,
    order_id: &str,
    line_id: &str,
    months: i32,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    sqlx::query(&format!(
        "{LINE_UNITS}
         UPDATE warranty.registrations SET extended_months = extended_months + $3, updated_at = $4
         WHERE registration_id IN (SELECT id FROM chain)"
    ))
    .bind(order_id)
    .bind(line_id)
    .bind(months)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The first unit of an order line, if registered.
pub async fn first_unit(conn: &mut PgConnection, order_id: &str, line_id: &str) -> Result<Option<Registration>, Error> {
    let row: Option<RegistrationRow> = sqlx::query_as(&format!(
        "{SELECT} WHERE order_id = $1 AND line_id = $2 AND source = 'order' ORDER BY unit LIMIT 1"
    ))
    .bind(order_id)
    .bind(line_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(Registration::try_from).transpose()?)
}

/// The serials among `keys` registered already (not rejected).
pub async fn taken_serials(conn: &mut PgConnection, keys: &[String]) -> Result<Vec<String>, Error> {
    Ok(sqlx::query_scalar(
        "SELECT serial_key FROM warranty.registrations WHERE serial_key = ANY ($1) AND status <> 'rejected'",
    )
    .bind(keys)
    .fetch_all(&mut *conn)
    .await?)
}
