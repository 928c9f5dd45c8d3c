//! Registered products, as warranty's events told them (never its tables).

use aftercare_kernel::zone;
use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::error::Error;
use sqlx::PgConnection;
use uuid::Uuid;

use super::parse;
use crate::domain::{MaintenanceError, Product};

#[derive(sqlx::FromRow)]
struct Row {
    registration_id: Uuid,
    customer_id: String,
    sku: String,
    category: String,
    product_name: String,
    starts_at: DateTime<Utc>,
    time_zone: String,
    replaces: Option<Uuid>,
}

impl TryFrom<Row> for Product {
    type Error = MaintenanceError;
    fn try_from(r: Row) -> Result<Product, MaintenanceError> {
        Ok(Product {
            time_zone: parse(&r.time_zone, "time zone", zone::parse)?,
            registration_id: r.registration_id,
            customer_id: r.customer_id,
            sku: r.sku,
            category: r.category,
            product_name: r.product_name,
            starts_at: r.starts_at,
            replaces: r.replaces,
        })
    }
}

/// Keeps a product; `false` when it was known before (an event delivered
/// again).
pub async fn insert(conn: &mut PgConnection, p: &Product, now: DateTime<Utc>) -> Result<bool, Error> {
    let written = sqlx::query(
        "INSERT INTO maintenance.products (registration_id, customer_id, sku, category, product_name, starts_at,
             time_zone, replaces, active, registered_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true, $9)
         ON CONFLICT (registration_id) DO NOTHING",
    )
    .bind(p.registration_id)
    .bind(&p.customer_id)
    .bind(&p.sku)
    .bind(&p.category)
    .bind(&p.product_name)
    .bind(p.starts_at)
    .bind(p.time_zone.name())
    .bind(p.replaces)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(written == 1)
}

/// A replaced unit: plans no longer apply to it.
pub async fn deactivate(conn: &mut PgConnection, id: Uuid) -> Result<(), Error> {
    sqlx::query("UPDATE maintenance.products SET active = false WHERE registration_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The active products a plan of (`category`, `sku`) may apply to ("" is
/// any), after `after`, `limit` at a time.
pub async fn for_plan(
    conn: &mut PgConnection,
    category: &str,
    sku: &str,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Product>, Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT registration_id, customer_id, sku, category, product_name, starts_at, time_zone, replaces
         FROM maintenance.products
         WHERE active AND ($1 = '' OR category = $1) AND ($2 = '' OR sku = $2)
           AND ($3::uuid IS NULL OR registration_id > $3)
         ORDER BY registration_id LIMIT $4",
    )
    .bind(category)
    .bind(sku)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| Product::try_from(r).map_err(Error::from))
        .collect()
}

/// A registered product.
pub async fn get(conn: &mut PgConnection, registration: Uuid) -> Result<Option<Product>, Error> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT registration_id, customer_id, sku, category, product_name, starts_at, time_zone, replaces
         FROM maintenance.products WHERE registration_id = $1",
    )
    .bind(registration)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(Product::try_from).transpose()?)
}

/// The customer who owns a registered product still in use.
pub async fn owner(conn: &mut PgConnection, registration: Uuid) -> Result<Option<String>, Error> {
    Ok(
        sqlx::query_scalar("SELECT customer_id FROM maintenance.products WHERE registration_id = $1 AND active")
            .bind(registration)
            .fetch_optional(&mut *conn)
            .await?,
    )
}
