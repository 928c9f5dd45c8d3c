//! The order facts this service keeps, from OrderService's events: which
//! lines exist, what was paid for them, when they were delivered, whether the
//! order was canceled. Handlers are idempotent (events arrive at least once).

use aftercare_platform::outbox::{Event, EventHandler, HandlerFuture};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::PgPool;

/// The consumer name; its subscription is also made by the migration.
pub const CONSUMER: &str = "returns.orders";

pub struct OrderProjection {
    pool: PgPool,
}

impl OrderProjection {
    pub fn new(pool: PgPool) -> OrderProjection {
        OrderProjection { pool }
    }

    async fn apply(&self, event: &Event) -> Result<(), String> {
        let p = &event.payload;
        let order_id = text(p, "order_id")?;
        match event.topic.as_str() {
            "orders.OrderRecorded" => {
                let mut tx = self.pool.begin().await.map_err(|e| e.to_string())?;
                let inserted = sqlx::query(
                    "INSERT INTO returns.orders (order_id, customer_id, currency_code) VALUES ($1, $2, $3)
                     ON CONFLICT (order_id) DO NOTHING",
                )
                .bind(order_id)
                .bind(text(p, "customer_id")?)
                .bind(text(p, "currency_code")?)
                .execute(&mut *tx)
                .await
                .map_err(|e| e.to_string())?
                .rows_affected();
                if inserted == 0 {
                    return Ok(()); // seen before
                }
                let lines = p["lines"].as_array().ok_or("lines missing")?;
                for (position, line) in lines.iter().enumerate() {
                    let paid: Decimal = text(line, "paid_amount")?.parse().map_err(|_| "bad paid_amount")?;
                    sqlx::query(
                        "INSERT INTO returns.order_lines (order_id, line_id, position, sku, product_name, category,
                             quantity, paid_amount) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(order_id)
                    .bind(text(line, "line_id")?)
                    .bind(position as i32)
                    .bind(text(line, "sku")?)
                    .bind(text(line, "product_name")?)
                    .bind(text(line, "category")?)
                    .bind(line["quantity"].as_i64().ok_or("quantity missing")? as i32)
                    .bind(paid)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| e.to_string())?;
                }
                tx.commit().await.map_err(|e| e.to_string())
            }
            "orders.OrderDelivered" => {
                let delivered_at: DateTime<Utc> =
                    serde_json::from_value(p["delivered_at"].clone()).map_err(|e| e.to_string())?;
                let line_ids: Vec<String> = serde_json::from_value(p["line_ids"].clone()).map_err(|e| e.to_string())?;
                self.require_order(order_id).await?;
                sqlx::query(
                    "UPDATE returns.order_lines SET delivered_at = COALESCE(delivered_at, $3)
                     WHERE order_id = $1 AND line_id = ANY ($2)",
                )
                .bind(order_id)
                .bind(&line_ids)
                .bind(delivered_at)
                .execute(&self.pool)
                .await
                .map_err(|e| e.to_string())?;
                Ok(())
            }
            "orders.OrderCanceled" => {
                let canceled_at: DateTime<Utc> =
                    serde_json::from_value(p["canceled_at"].clone()).map_err(|e| e.to_string())?;
                self.require_order(order_id).await?;
                sqlx::query("UPDATE returns.orders SET canceled_at = COALESCE(canceled_at, $2) WHERE order_id = $1")
                    .bind(order_id)
                    .bind(canceled_at)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// A delivery or cancellation seen before its order (after a failed
    /// attempt of the order's event) fails, so it is retried after it.
    async fn require_order(&self, order_id: &str) -> Result<(), String> {
        let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM returns.orders WHERE order_id = $1)")
            .bind(order_id)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| e.to_string())?;
        if known {
            Ok(())
        } else {
            Err(format!("order {order_id} not recorded yet"))
        }
    }
}

fn text<'a>(v: &'a Value, field: &str) -> Result<&'a str, String> {
    v[field].as_str().ok_or_else(|| format!("{field} missing"))
}

impl EventHandler for OrderProjection {
    fn name(&self) -> &str {
        CONSUMER
    }

    fn topics(&self) -> Vec<String> {
        vec![
            "orders.OrderRecorded".into(),
            "orders.OrderDelivered".into(),
            "orders.OrderCanceled".into(),
        ]
    }

    fn handle<'a>(&'a self, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(self.apply(event))
    }
}
