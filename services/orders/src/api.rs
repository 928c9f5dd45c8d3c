//! `aftercare.orders.v1.OrderService`: parses requests into domain types,
//! authorizes, runs the domain rules inside a transaction, and answers.

use aftercare_platform::auth::{Caller, Guard, Role, RoleTable};
use aftercare_platform::channel::Channel;
use aftercare_platform::context::ServiceContext;
use aftercare_platform::error::Error;
use aftercare_platform::money::{Currency, Money};
use aftercare_platform::timestamp::{from_proto, to_proto};
use aftercare_platform::{Violations, outbox, paging, validate};
use aftercare_proto::common::Money as PbMoney;
use aftercare_proto::orders as pb;
use aftercare_proto::orders::order_service_server::{OrderService, OrderServiceServer};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tonic::{Request, Response, Status};

use crate::domain::{self, NewLine, NewOrder, Order, OrderStatus, events};
use crate::store;

/// Who may call what. A customer additionally sees only their own orders.
pub const ROLES: RoleTable = &[
    ("RecordOrder", &[Role::Service, Role::Agent]),
    ("RecordDelivery", &[Role::Service, Role::Agent]),
    ("CancelOrder", &[Role::Service, Role::Agent]),
    ("GetOrder", &[Role::Customer, Role::Service, Role::Agent, Role::Admin]),
    ("ListOrders", &[Role::Customer, Role::Service, Role::Agent, Role::Admin]),
];

/// The gRPC service name, for health reporting.
pub const SERVICE_NAME: &str = pb::order_service_server::SERVICE_NAME;

pub struct OrderApi {
    ctx: ServiceContext,
    guard: Guard,
}

impl OrderApi {
    pub fn new(ctx: ServiceContext) -> OrderApi {
        let guard = Guard::new(ctx.auth.clone(), ROLES);
        OrderApi { ctx, guard }
    }

    pub fn into_server(self) -> OrderServiceServer<OrderApi> {
        OrderServiceServer::new(self)
    }

    async fn record(&self, req: pb::RecordOrderRequest) -> Result<Order, Error> {
        let now = self.ctx.clock.now();
        let priced = parse_record(&req, now)?.price();
        let order_id = priced.order.order_id.clone();
        let mut tx = self.ctx.pool.begin().await?;
        if store::insert_order(&mut tx, &priced, now).await? {
            let order = load(&mut tx, &order_id, false).await?;
            outbox::enqueue(
                &mut tx,
                events::ORDER_RECORDED,
                &order_id,
                events::order_recorded(&order),
                now,
            )
            .await?;
            tx.commit().await?;
            self.ctx.events_committed();
            return Ok(order);
        }
        // The order exists: a replay if the content matches, else a conflict.
        if store::content_hash(&mut tx, &order_id).await?.as_deref() == Some(&priced.content_hash[..]) {
            load(&mut tx, &order_id, false).await
        } else {
            Err(Error::AlreadyExists {
                reason: "ORDER_ID_CONFLICT",
                message: format!("order {order_id} was already recorded with different content"),
            })
        }
    }

    async fn deliver(&self, req: pb::RecordDeliveryRequest) -> Result<Order, Error> {
        let now = self.ctx.clock.now();
        let mut v = Violations::new();
        validate::id(&mut v, "order_id", &req.order_id, domain::MAX_ID_LEN);
        let delivered_at = timestamp(&mut v, "delivered_at", req.delivered_at.as_ref());
        if req.line_ids.len() > domain::MAX_LINES {
            v.add("line_ids", format!("must list at most {} lines", domain::MAX_LINES));
        } else {
            for (i, id) in req.line_ids.iter().enumerate() {
                validate::id(&mut v, &format!("line_ids[{i}]"), id, domain::MAX_ID_LEN);
            }
        }
        let delivered_at = v.finish_with(delivered_at)?;

        let mut tx = self.ctx.pool.begin().await?;
        let order = load(&mut tx, &req.order_id, true).await?;
        let newly_delivered = order.plan_delivery(&req.line_ids, delivered_at, now)?;
        if newly_delivered.is_empty() {
            return Ok(order);
        }
        store::mark_delivered(&mut tx, &order.order_id, &newly_delivered, delivered_at, now).await?;
        let payload = events::order_delivered(&order, &newly_delivered, delivered_at);
        outbox::enqueue(&mut tx, events::ORDER_DELIVERED, &order.order_id, payload, now).await?;
        let order = load(&mut tx, &req.order_id, false).await?;
        tx.commit().await?;
        self.ctx.events_committed();
        Ok(order)
    }

    async fn cancel(&self, req: pb::CancelOrderRequest) -> Result<Order, Error> {
        let now = self.ctx.clock.now();
        let mut v = Violations::new();
        validate::id(&mut v, "order_id", &req.order_id, domain::MAX_ID_LEN);
        validate::text(&mut v, "reason", &req.reason, domain::MAX_REASON_LEN);
        v.finish()?;

        let mut tx = self.ctx.pool.begin().await?;
        let order = load(&mut tx, &req.order_id, true).await?;
        if !order.check_cancel()? {
            return Ok(order);
        }
        store::mark_canceled(&mut tx, &order.order_id, &req.reason, now).await?;
        let payload = events::order_canceled(&order, now, &req.reason);
        outbox::enqueue(&mut tx, events::ORDER_CANCELED, &order.order_id, payload, now).await?;
        let order = load(&mut tx, &req.order_id, false).await?;
        tx.commit().await?;
        self.ctx.events_committed();
        Ok(order)
    }

    async fn get(&self, caller: &Caller, req: pb::GetOrderRequest) -> Result<Order, Error> {
        let mut v = Violations::new();
        validate::id(&mut v, "order_id", &req.order_id, domain::MAX_ID_LEN);
        v.finish()?;
        let mut conn = self.ctx.pool.acquire().await?;
        let order = load(&mut conn, &req.order_id, false).await?;
        // Another customer's order is as absent as a missing one.
        if !caller.may_see_customer(&order.customer_id) {
            return Err(not_found(&req.order_id));
        }
        Ok(order)
    }

    async fn list(&self, caller: &Caller, req: pb::ListOrdersRequest) -> Result<pb::ListOrdersResponse, Error> {
        let mut v = Violations::new();
        let customer_id = match (caller.role, req.customer_id.as_str()) {
            (Role::Customer, "") => caller.subject.clone(),
            (Role::Customer, id) if id != caller.subject => {
                return Err(Error::PermissionDenied(
                    "customers may list only their own orders".into(),
                ));
            }
            (_, id) => {
                validate::id(&mut v, "customer_id", id, domain::MAX_ID_LEN);
                id.to_owned()
            }
        };
        let page_size = v.take("page_size", paging::page_size(req.page_size));
        v.finish()?;
        let page_size = page_size.unwrap_or(paging::DEFAULT_PAGE_SIZE);
        let query = format!("orders.ListOrders:{customer_id}");
        let cursor = paging::decode("page_token", &query, &req.page_token)?;

        let mut conn = self.ctx.pool.acquire().await?;
        let mut orders = store::list_orders(&mut conn, &customer_id, cursor.as_ref(), page_size + 1).await?;
        let next_page_token = if orders.len() as i64 > page_size {
            orders.truncate(page_size as usize);
            let last = orders.last().expect("a full page");
            paging::encode(
                &query,
                &paging::Cursor {
                    at: last.placed_at,
                    id: last.order_id.clone(),
                },
            )
        } else {
            String::new()
        };
        Ok(pb::ListOrdersResponse {
            orders: orders.iter().map(order_to_proto).collect(),
            next_page_token,
        })
    }
}

#[tonic::async_trait]
impl OrderService for OrderApi {
    async fn record_order(&self, request: Request<pb::RecordOrderRequest>) -> Result<Response<pb::Order>, Status> {
        self.guard.check(&request, "RecordOrder")?;
        let order = self.record(request.into_inner()).await?;
        Ok(Response::new(order_to_proto(&order)))
    }

    async fn record_delivery(
        &self,
        request: Request<pb::RecordDeliveryRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        self.guard.check(&request, "RecordDelivery")?;
        let order = self.deliver(request.into_inner()).await?;
        Ok(Response::new(order_to_proto(&order)))
    }

    async fn cancel_order(&self, request: Request<pb::CancelOrderRequest>) -> Result<Response<pb::Order>, Status> {
        self.guard.check(&request, "CancelOrder")?;
        let order = self.cancel(request.into_inner()).await?;
        Ok(Response::new(order_to_proto(&order)))
    }

    async fn get_order(&self, request: Request<pb::GetOrderRequest>) -> Result<Response<pb::Order>, Status> {
        let caller = self.guard.check(&request, "GetOrder")?;
        let order = self.get(&caller, request.into_inner()).await?;
        Ok(Response::new(order_to_proto(&order)))
    }

    async fn list_orders(
        &self,
        request: Request<pb::ListOrdersRequest>,
    ) -> Result<Response<pb::ListOrdersResponse>, Status> {
        let caller = self.guard.check(&request, "ListOrders")?;
        Ok(Response::new(self.list(&caller, request.into_inner()).await?))
    }
}

fn not_found(order_id: &str) -> Error {
    Error::NotFound(format!("order {order_id:?} not found"))
}

async fn load(conn: &mut sqlx::PgConnection, order_id: &str, for_update: bool) -> Result<Order, Error> {
    store::get_order(conn, order_id, for_update)
        .await?
        .ok_or_else(|| not_found(order_id))
}

fn timestamp(v: &mut Violations, field: &str, value: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    match value {
        None => {
            v.add(field, "is required");
            None
        }
        Some(ts) => v.take(field, from_proto(ts).ok_or("is not a valid timestamp")),
    }
}

/// Parses an optional or required amount in the order currency. Unset
/// optional amounts are zero.
fn amount(
    v: &mut Violations,
    field: &str,
    value: Option<&PbMoney>,
    currency: Option<Currency>,
    required: bool,
) -> Decimal {
    let Some(m) = value else {
        if required {
            v.add(field, "is required");
        }
        return Decimal::ZERO;
    };
    let Some(currency) = currency else {
        return Decimal::ZERO; // the order's currency_code is already reported
    };
    if m.currency_code != currency.code() {
        v.add(
            format!("{field}.currency_code"),
            format!("must be the order currency {}", currency.code()),
        );
        return Decimal::ZERO;
    }
    v.take(
        &format!("{field}.amount"),
        Money::parse_non_negative(currency, &m.amount),
    )
    .map(|m| m.amount())
    .unwrap_or_default()
}

/// Turns a `RecordOrderRequest` into a checked [`NewOrder`], reporting every
/// bad field at once.
fn parse_record(req: &pb::RecordOrderRequest, now: DateTime<Utc>) -> Result<NewOrder, Error> {
    let mut v = Violations::new();
    validate::id(&mut v, "order_id", &req.order_id, domain::MAX_ID_LEN);
    validate::id(&mut v, "customer_id", &req.customer_id, domain::MAX_ID_LEN);
    let placed_at = timestamp(&mut v, "placed_at", req.placed_at.as_ref());
    let currency = if req.currency_code.is_empty() {
        v.add("currency_code", "is required");
        None
    } else {
        let c = Currency::from_code(&req.currency_code);
        if c.is_none() {
            v.add(
                "currency_code",
                format!(
                    "unknown currency {:?}",
                    req.currency_code.chars().take(8).collect::<String>()
                ),
            );
        }
        c
    };
    let channel = Channel::from_proto(req.channel);
    if channel.is_none() {
        v.add("channel", "must be set to a known channel");
    }
    let shipping_amount = amount(&mut v, "shipping_amount", req.shipping_amount.as_ref(), currency, false);
    let order_discount = amount(&mut v, "order_discount", req.order_discount.as_ref(), currency, false);

    let mut lines = Vec::with_capacity(req.lines.len().min(domain::MAX_LINES));
    if req.lines.is_empty() {
        v.add("lines", "at least one line is required");
    } else if req.lines.len() > domain::MAX_LINES {
        // Not worth looking at each line of an oversized order.
        v.add("lines", format!("must have at most {} lines", domain::MAX_LINES));
    } else {
        for (i, l) in req.lines.iter().enumerate() {
            let f = |name: &str| format!("lines[{i}].{name}");
            validate::id(&mut v, &f("line_id"), &l.line_id, domain::MAX_ID_LEN);
            validate::id(&mut v, &f("sku"), &l.sku, domain::MAX_ID_LEN);
            validate::required_text(
                &mut v,
                &f("product_name"),
                &l.product_name,
                domain::MAX_PRODUCT_NAME_LEN,
            );
            validate::required_text(&mut v, &f("category"), &l.category, domain::MAX_CATEGORY_LEN);
            if !(1..=domain::MAX_QUANTITY).contains(&l.quantity) {
                v.add(f("quantity"), format!("must be between 1 and {}", domain::MAX_QUANTITY));
            }
            let unit_price = amount(&mut v, &f("unit_price"), l.unit_price.as_ref(), currency, true);
            let discount = amount(&mut v, &f("discount"), l.discount.as_ref(), currency, false);
            if l.serial_numbers.len() <= domain::MAX_QUANTITY as usize {
                for (j, s) in l.serial_numbers.iter().enumerate() {
                    validate::id(&mut v, &f(&format!("serial_numbers[{j}]")), s, domain::MAX_ID_LEN);
                }
            }
            lines.push(NewLine {
                line_id: l.line_id.clone(),
                sku: l.sku.clone(),
                product_name: l.product_name.clone(),
                category: l.category.clone(),
                quantity: l.quantity,
                unit_price,
                discount,
                serial_numbers: l.serial_numbers.clone(),
            });
        }
    }
    let (Some(placed_at), Some(currency), Some(channel)) = (placed_at, currency, channel) else {
        v.finish()?;
        return Err(Error::internal("a required field was missing without a violation"));
    };
    let order = NewOrder {
        order_id: req.order_id.clone(),
        customer_id: req.customer_id.clone(),
        placed_at,
        currency,
        channel,
        lines,
        shipping_amount,
        order_discount,
    };
    // Cross-field rules only make sense once every field parsed.
    if v.is_empty() {
        order.check(now, &mut v);
    }
    v.finish()?;
    Ok(order)
}

fn money(currency: Currency, amount: Decimal) -> Option<PbMoney> {
    Some(Money::from_decimal(currency, amount).to_proto())
}

pub fn order_to_proto(o: &Order) -> pb::Order {
    let c = o.currency;
    pb::Order {
        order_id: o.order_id.clone(),
        customer_id: o.customer_id.clone(),
        placed_at: Some(to_proto(o.placed_at)),
        currency_code: c.code().to_owned(),
        channel: o.channel.to_proto() as i32,
        lines: o
            .lines
            .iter()
            .map(|l| pb::OrderLine {
                line_id: l.line_id.clone(),
                sku: l.sku.clone(),
                product_name: l.product_name.clone(),
                category: l.category.clone(),
                quantity: l.quantity,
                unit_price: money(c, l.unit_price),
                line_discount: money(c, l.line_discount),
                order_discount_allocation: money(c, l.order_discount_allocation),
                paid_amount: money(c, l.paid_amount),
                serial_numbers: l.serial_numbers.clone(),
                delivered_at: l.delivered_at.map(to_proto),
            })
            .collect(),
        subtotal: money(c, o.subtotal),
        discount_total: money(c, o.discount_total),
        shipping_amount: money(c, o.shipping_amount),
        order_discount: money(c, o.order_discount),
        total: money(c, o.total),
        status: match o.status() {
            OrderStatus::Placed => pb::OrderStatus::Placed,
            OrderStatus::PartiallyDelivered => pb::OrderStatus::PartiallyDelivered,
            OrderStatus::Delivered => pb::OrderStatus::Delivered,
            OrderStatus::Canceled => pb::OrderStatus::Canceled,
        } as i32,
        cancel_time: o.canceled_at.map(to_proto),
        create_time: Some(to_proto(o.created_at)),
        update_time: Some(to_proto(o.updated_at)),
    }
}
