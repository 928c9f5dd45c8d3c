//! Order intake's use cases, free of transport: each mutating one runs the
//! platform's unit of work (begin -> load with lock -> domain decision ->
//! store -> event -> commit -> wake the dispatcher).

use aftercare_kernel::{DateTime, Utc, Violations};
use aftercare_platform::auth::{Caller, Role};
use aftercare_platform::context::ServiceContext;
use aftercare_platform::error::Error;
use aftercare_platform::paging::{self, Cursor};
use sqlx::PgConnection;

use crate::domain::{NewOrder, Order, OrderError};
use crate::{events, store};

pub struct Orders {
    ctx: ServiceContext,
}

/// A delivery as reported.
pub struct Delivery {
    pub order_id: String,
    /// Empty: every line.
    pub line_ids: Vec<String>,
    pub delivered_at: DateTime<Utc>,
}

/// A page of a customer's orders, newest first.
pub struct OrderPage {
    pub orders: Vec<Order>,
    pub next_page_token: String,
    /// The query the page tokens are bound to, for a page cut shorter.
    pub query: String,
}

impl Orders {
    pub fn new(ctx: ServiceContext) -> Orders {
        Orders { ctx }
    }

    /// Records a paid order once: the same content again is a replay, other
    /// content under the same id a conflict. The order id's unique key makes
    /// any number of racing calls one order and one event.
    pub async fn record(&self, new: NewOrder) -> Result<Order, Error> {
        // Checked before any query.
        let mut v = Violations::new();
        new.check(self.ctx.clock.now(), &mut v);
        v.finish()?;
        let priced = new.price();
        let order_id = priced.order.order_id.clone();
        // Read first: storefronts retry, and a retry of a recorded order is
        // answered by one read, without a transaction.
        let recorded = store::get_order(&mut *self.ctx.read().await?, &order_id, false).await?;
        if let Some(recorded) = recorded {
            return replay(recorded, &priced.content_hash);
        }
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        if store::insert_order(uow.conn(), &priced, now).await? {
            let order = priced.into_order(now);
            uow.emit(&order_id, &events::order_recorded(&order)).await?;
            uow.commit().await?;
            return Ok(order);
        }
        // A concurrent call recorded it between the read and the insert.
        let recorded = store::get_order(uow.conn(), &order_id, false).await?;
        replay(recorded.ok_or(OrderError::NotFound(order_id))?, &priced.content_hash)
    }

    /// Marks lines delivered (once each).
    pub async fn deliver(&self, delivery: Delivery) -> Result<Order, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let order = load(uow.conn(), &delivery.order_id, true).await?;
        let newly_delivered = order.plan_delivery(&delivery.line_ids, delivery.delivered_at, now)?;
        if newly_delivered.is_empty() {
            return Ok(order);
        }
        store::mark_delivered(
            uow.conn(),
            &order.order_id,
            &newly_delivered,
            delivery.delivered_at,
            now,
        )
        .await?;
        let event = events::order_delivered(&order, &newly_delivered, delivery.delivered_at);
        uow.emit(&order.order_id, &event).await?;
        let order = load(uow.conn(), &delivery.order_id, false).await?;
        uow.commit().await?;
        Ok(order)
    }

    /// Cancels an order before any delivery; canceling again changes nothing.
    pub async fn cancel(&self, order_id: &str, reason: &str) -> Result<Order, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let order = load(uow.conn(), order_id, true).await?;
        if !order.check_cancel()? {
            return Ok(order);
        }
        store::mark_canceled(uow.conn(), order_id, reason, now).await?;
        uow.emit(order_id, &events::order_canceled(&order, now, reason)).await?;
        let order = load(uow.conn(), order_id, false).await?;
        uow.commit().await?;
        Ok(order)
    }

    /// An order the caller may see; another customer's is as absent as a
    /// missing one.
    pub async fn get(&self, caller: &Caller, order_id: &str) -> Result<Order, Error> {
        let mut conn = self.ctx.read().await?;
        let order = load(&mut conn, order_id, false).await?;
        if !caller.may_see_customer(&order.customer_id) {
            return Err(OrderError::NotFound(order_id.to_owned()).into());
        }
        Ok(order)
    }

    /// A customer's orders (customers: their own), newest first.
    pub async fn list(
        &self,
        caller: &Caller,
        customer_id: &str,
        page_size: i64,
        page_token: &str,
    ) -> Result<OrderPage, Error> {
        let customer_id = match (caller.role, customer_id) {
            (Role::Customer, "") => caller.subject.as_str(),
            (Role::Customer, id) if id != caller.subject => {
                return Err(Error::PermissionDenied(
                    "customers may list only their own orders".into(),
                ));
            }
            (_, id) => id,
        };
        let query = format!("orders.ListOrders:{customer_id}");
        let cursor = paging::decode("page_token", &query, page_token)?;
        let mut conn = self.ctx.read().await?;
        let mut orders = store::list_orders(&mut conn, customer_id, cursor.as_ref(), page_size + 1).await?;
        let next_page_token = if orders.len() as i64 > page_size {
            orders.truncate(page_size as usize);
            let last = orders.last().expect("a full page");
            let cursor = Cursor {
                at: last.placed_at,
                id: last.order_id.clone(),
            };
            paging::encode(&query, &cursor)
        } else {
            String::new()
        };
        Ok(OrderPage {
            orders,
            next_page_token,
            query,
        })
    }
}

async fn load(conn: &mut PgConnection, order_id: &str, for_update: bool) -> Result<Order, Error> {
    store::get_order(conn, order_id, for_update)
        .await?
        .map(|r| r.order)
        .ok_or_else(|| OrderError::NotFound(order_id.to_owned()).into())
}

/// The recorded order again when the same content is reported again; a
/// conflict when other content reuses its id.
fn replay(recorded: store::Recorded, content_hash: &[u8]) -> Result<Order, Error> {
    if recorded.content_hash == content_hash {
        Ok(recorded.order)
    } else {
        Err(OrderError::IdConflict {
            order_id: recorded.order.order_id,
        }
        .into())
    }
}
