//! Order storage in the `orders` schema. Queries only: the rules live in
//! `domain`, the transactions are opened by `app`.

use aftercare_kernel::channel::Channel;
use aftercare_kernel::{Currency, DateTime, Decimal, Money, Utc};
use aftercare_platform::error::Error;
use aftercare_platform::paging::Cursor;
use sqlx::PgConnection;

use crate::domain::{Line, Order, PricedLine, PricedOrder};

/// Inserts the order and its lines unless one with its id exists; returns
/// whether it did. One statement: the lines go in only when the order row
/// did. A concurrent insert of the same id waits for the first to finish,
/// so of any number of racing calls exactly one inserts.
pub async fn insert_order(tx: &mut PgConnection, p: &PricedOrder, now: DateTime<Utc>) -> Result<bool, Error> {
    let o = &p.order;
    // The lines column by column.
    let col = |f: fn(&PricedLine) -> String| p.lines.iter().map(f).collect::<Vec<_>>();
    let num = |f: fn(&PricedLine) -> Money| p.lines.iter().map(|l| f(l).amount()).collect::<Vec<Decimal>>();
    let positions: Vec<i32> = (0..p.lines.len() as i32).collect();
    let quantities: Vec<i32> = p.lines.iter().map(|l| l.line.quantity).collect();
    let serials: Vec<serde_json::Value> = p
        .lines
        .iter()
        .map(|l| serde_json::json!(l.line.serial_numbers))
        .collect();
    let inserted = sqlx::query(
        "WITH o AS (
             INSERT INTO orders.orders (order_id, customer_id, placed_at, currency_code, channel, subtotal,
                 discount_total, order_discount, shipping_amount, total, content_hash, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
             ON CONFLICT (order_id) DO NOTHING
             RETURNING order_id)
         INSERT INTO orders.order_lines (order_id, line_id, position, sku, product_name, category, quantity,
             unit_price, line_discount, order_discount_allocation, paid_amount, serial_numbers, extends_line_id)
         SELECT o.order_id, l.line_id, l.position, l.sku, l.product_name, l.category, l.quantity, l.unit_price,
                l.line_discount, l.allocation, l.paid, ARRAY(SELECT jsonb_array_elements_text(l.serials)), l.extends
         FROM o, UNNEST($13::text[], $14::int[], $15::text[], $16::text[], $17::text[], $18::int[],
                        $19::numeric[], $20::numeric[], $21::numeric[], $22::numeric[], $23::jsonb[], $24::text[])
              AS l(line_id, position, sku, product_name, category, quantity, unit_price, line_discount,
                   allocation, paid, serials, extends)",
    )
    .bind(&o.order_id)
    .bind(&o.customer_id)
    .bind(o.placed_at)
    .bind(o.currency.code())
    .bind(o.channel.as_str())
    .bind(p.subtotal.amount())
    .bind(p.discount_total.amount())
    .bind(o.order_discount.amount())
    .bind(o.shipping_amount.amount())
    .bind(p.total.amount())
    .bind(&p.content_hash[..])
    .bind(now)
    .bind(col(|l| l.line.line_id.clone()))
    .bind(positions)
    .bind(col(|l| l.line.sku.clone()))
    .bind(col(|l| l.line.product_name.clone()))
    .bind(col(|l| l.line.category.clone()))
    .bind(quantities)
    .bind(num(|l| l.line.unit_price))
    .bind(num(|l| l.line.discount))
    .bind(num(|l| l.order_discount_allocation))
    .bind(num(|l| l.paid_amount))
    .bind(serials)
    .bind(
        p.lines
            .iter()
            .map(|l| l.line.extends_line_id.clone())
            .collect::<Vec<Option<String>>>(),
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    // Every order has at least one line (intake refuses an empty one).
    Ok(inserted > 0)
}

#[derive(sqlx::FromRow)]
struct OrderRow {
    order_id: String,
    customer_id: String,
    placed_at: DateTime<Utc>,
    currency_code: String,
    channel: String,
    subtotal: Decimal,
    discount_total: Decimal,
    order_discount: Decimal,
    shipping_amount: Decimal,
    total: Decimal,
    canceled_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    content_hash: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct LineRow {
    line_id: String,
    sku: String,
    product_name: String,
    category: String,
    quantity: i32,
    unit_price: Decimal,
    line_discount: Decimal,
    order_discount_allocation: Decimal,
    paid_amount: Decimal,
    serial_numbers: Vec<String>,
    extends_line_id: Option<String>,
    delivered_at: Option<DateTime<Utc>>,
}

/// An order's columns and one of its lines': orders are read joined to
/// their lines, one row per line, so an order costs one round trip.
#[derive(sqlx::FromRow)]
struct OrderLineRow {
    #[sqlx(flatten)]
    order: OrderRow,
    #[sqlx(flatten)]
    line: LineRow,
}

const COLUMNS: &str = "o.order_id, o.customer_id, o.placed_at, o.currency_code, o.channel, o.subtotal,
     o.discount_total, o.order_discount, o.shipping_amount, o.total, o.canceled_at, o.created_at, o.updated_at,
     o.content_hash, l.line_id, l.sku, l.product_name, l.category, l.quantity, l.unit_price, l.line_discount,
     l.order_discount_allocation, l.paid_amount, l.serial_numbers, l.extends_line_id, l.delivered_at";

/// An order as recorded, with the content hash it was recorded with.
pub struct Recorded {
    pub order: Order,
    pub content_hash: Vec<u8>,
}

/// Loads one order in one statement; with `for_update`, locks it and its
/// lines for the rest of the transaction so deliveries and cancellations of
/// one order never interleave. Both tables are locked: a statement that
/// waited for the lock re-reads only the rows it locked, so lines left
/// unlocked could be older than the order row it returns.
pub async fn get_order(conn: &mut PgConnection, order_id: &str, for_update: bool) -> Result<Option<Recorded>, Error> {
    let lock = if for_update { " FOR UPDATE OF o, l" } else { "" };
    let rows: Vec<OrderLineRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM orders.orders o JOIN orders.order_lines l ON l.order_id = o.order_id
         WHERE o.order_id = $1 ORDER BY l.position{lock}"
    ))
    .bind(order_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(assemble(rows)?.pop())
}

/// A customer's orders, newest `placed_at` first, after `cursor`, in one
/// statement.
pub async fn list_orders(
    conn: &mut PgConnection,
    customer_id: &str,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<Order>, Error> {
    let rows: Vec<OrderLineRow> = sqlx::query_as(&format!(
        "WITH page AS (
             SELECT * FROM orders.orders
             WHERE customer_id = $1 AND ($2::timestamptz IS NULL OR (placed_at, order_id) < ($2, $3))
             ORDER BY placed_at DESC, order_id DESC LIMIT $4)
         SELECT {COLUMNS} FROM page o JOIN orders.order_lines l ON l.order_id = o.order_id
         ORDER BY o.placed_at DESC, o.order_id DESC, l.position"
    ))
    .bind(customer_id)
    .bind(cursor.map(|c| c.at))
    .bind(cursor.map(|c| c.id.as_str()).unwrap_or_default())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(assemble(rows)?.into_iter().map(|r| r.order).collect())
}

/// Folds rows (grouped by order, lines in position order) into orders.
fn assemble(rows: Vec<OrderLineRow>) -> Result<Vec<Recorded>, Error> {
    let mut orders: Vec<Recorded> = Vec::new();
    for OrderLineRow { order: r, line: l } in rows {
        let same = orders.last().is_some_and(|last| last.order.order_id == r.order_id);
        if !same {
            orders.push(order_of(r)?);
        }
        let order = &mut orders.last_mut().expect("pushed above").order;
        let m = |amount| Money::from_decimal(order.currency, amount);
        let line = Line {
            line_id: l.line_id,
            sku: l.sku,
            product_name: l.product_name,
            category: l.category,
            quantity: l.quantity,
            unit_price: m(l.unit_price),
            line_discount: m(l.line_discount),
            order_discount_allocation: m(l.order_discount_allocation),
            paid_amount: m(l.paid_amount),
            serial_numbers: l.serial_numbers,
            extends_line_id: l.extends_line_id,
            delivered_at: l.delivered_at,
        };
        order.lines.push(line);
    }
    Ok(orders)
}

fn order_of(r: OrderRow) -> Result<Recorded, Error> {
    let currency = Currency::from_code(&r.currency_code)
        .ok_or_else(|| Error::internal(format!("order {} has unknown currency {}", r.order_id, r.currency_code)))?;
    let channel = Channel::parse(&r.channel)
        .ok_or_else(|| Error::internal(format!("order {} has unknown channel {}", r.order_id, r.channel)))?;
    let m = |amount| Money::from_decimal(currency, amount);
    Ok(Recorded {
        order: Order {
            order_id: r.order_id,
            customer_id: r.customer_id,
            placed_at: r.placed_at,
            currency,
            channel,
            lines: Vec::new(),
            subtotal: m(r.subtotal),
            discount_total: m(r.discount_total),
            order_discount: m(r.order_discount),
            shipping_amount: m(r.shipping_amount),
            total: m(r.total),
            canceled_at: r.canceled_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        },
        content_hash: r.content_hash,
    })
}

pub async fn mark_delivered(
    tx: &mut PgConnection,
    order_id: &str,
    line_ids: &[String],
    delivered_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE orders.order_lines SET delivered_at = $3
         WHERE order_id = $1 AND line_id = ANY ($2) AND delivered_at IS NULL",
    )
    .bind(order_id)
    .bind(line_ids)
    .bind(delivered_at)
    .execute(&mut *tx)
    .await?;
    touch(tx, order_id, now).await
}

pub async fn mark_canceled(
    tx: &mut PgConnection,
    order_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    sqlx::query("UPDATE orders.orders SET canceled_at = $2, cancel_reason = $3, updated_at = $2 WHERE order_id = $1")
        .bind(order_id)
        .bind(now)
        .bind(reason)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn touch(tx: &mut PgConnection, order_id: &str, now: DateTime<Utc>) -> Result<(), Error> {
    sqlx::query("UPDATE orders.orders SET updated_at = $2 WHERE order_id = $1")
        .bind(order_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
