//! Order lines as order events told them.

use aftercare_kernel::{DateTime, Decimal, Utc};
use aftercare_platform::error::Error;
use sqlx::PgConnection;

/// A recorded order line.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OrderLine {
    pub order_id: String,
    pub line_id: String,
    pub customer_id: String,
    pub sku: String,
    pub product_name: String,
    pub category: String,
    pub quantity: i32,
    pub placed_at: DateTime<Utc>,
    /// What the whole line cost after discounts.
    pub paid_amount: Decimal,
    pub currency_code: String,
    /// An extended-warranty plan: the line it extends.
    pub extends_line_id: Option<String>,
    pub serial_numbers: Vec<String>,
}

/// Keeps the lines of a recorded order; a replayed event changes nothing.
pub async fn insert(conn: &mut PgConnection, lines: &[OrderLine]) -> Result<(), Error> {
    for l in lines {
        sqlx::query(
            "INSERT INTO warranty.order_lines (order_id, line_id, customer_id, sku, product_name, category,
                 quantity, placed_at, paid_amount, currency_code, extends_line_id, serial_numbers)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (order_id, line_id) DO NOTHING",
        )
        .bind(&l.order_id)
        .bind(&l.line_id)
        .bind(&l.customer_id)
        .bind(&l.sku)
        .bind(&l.product_name)
        .bind(&l.category)
        .bind(l.quantity)
        .bind(l.placed_at)
        .bind(l.paid_amount)
        .bind(&l.currency_code)
        .bind(l.extends_line_id.as_deref())
        .bind(&l.serial_numbers)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The order's lines among `line_ids`.
pub async fn get(conn: &mut PgConnection, order_id: &str, line_ids: &[String]) -> Result<Vec<OrderLine>, Error> {
    Ok(
        sqlx::query_as(
            "SELECT * FROM warranty.order_lines WHERE order_id = $1 AND line_id = ANY ($2) ORDER BY line_id",
        )
        .bind(order_id)
        .bind(line_ids)
        .fetch_all(&mut *conn)
        .await?,
    )
}
