//! `aftercare.orders.v1.OrderService` over tonic: parse -> call the app ->
//! convert. Authentication and the role check ([`ROLES`]) already happened
//! in the platform's auth layer; the caller is in the request.

mod convert;
mod errors;
mod parse;

use aftercare_kernel::{Violations, validate};
use aftercare_platform::auth::{Role, RoleTable, caller};
use aftercare_platform::error::Error;
use aftercare_platform::paging;
use aftercare_proto::orders as pb;
use aftercare_proto::orders::order_service_server::{OrderService, OrderServiceServer};
use tonic::{Request, Response, Status};

use crate::app::Orders;
use crate::domain;
pub use convert::order_to_proto;

/// Who may call what. A customer additionally sees only their own orders.
pub const ROLES: RoleTable = &[
    ("RecordOrder", &[Role::Service, Role::Agent]),
    ("RecordDelivery", &[Role::Service, Role::Agent]),
    ("CancelOrder", &[Role::Service, Role::Agent]),
    ("GetOrder", &[Role::Customer, Role::Service, Role::Agent, Role::Admin]),
    ("ListOrders", &[Role::Customer, Role::Service, Role::Agent, Role::Admin]),
];

pub const SERVICE_NAME: &str = pb::order_service_server::SERVICE_NAME;

pub struct OrderGrpc {
    app: Orders,
}

impl OrderGrpc {
    pub fn server(app: Orders) -> OrderServiceServer<OrderGrpc> {
        OrderServiceServer::new(OrderGrpc { app })
    }
}

#[tonic::async_trait]
impl OrderService for OrderGrpc {
    async fn record_order(&self, request: Request<pb::RecordOrderRequest>) -> Result<Response<pb::Order>, Status> {
        caller(&request)?;
        let new = parse::record(request.get_ref())?;
        let order = self.app.record(new).await?;
        Ok(Response::new(order_to_proto(&order)))
    }

    async fn record_delivery(
        &self,
        request: Request<pb::RecordDeliveryRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        caller(&request)?;
        let delivery = parse::delivery(request.into_inner())?;
        let order = self.app.deliver(delivery).await?;
        Ok(Response::new(order_to_proto(&order)))
    }

    async fn cancel_order(&self, request: Request<pb::CancelOrderRequest>) -> Result<Response<pb::Order>, Status> {
        caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        validate::id(&mut v, "order_id", &req.order_id, domain::MAX_ID_LEN);
        validate::text(&mut v, "reason", &req.reason, domain::MAX_REASON_LEN);
        v.finish().map_err(Error::from)?;
        let order = self.app.cancel(&req.order_id, &req.reason).await?;
        Ok(Response::new(order_to_proto(&order)))
    }

    async fn get_order(&self, request: Request<pb::GetOrderRequest>) -> Result<Response<pb::Order>, Status> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        parse::order_id("order_id", &req.order_id)?;
        let order = self.app.get(&caller, &req.order_id).await?;
        Ok(Response::new(order_to_proto(&order)))
    }

    async fn list_orders(
        &self,
        request: Request<pb::ListOrdersRequest>,
    ) -> Result<Response<pb::ListOrdersResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        if caller.role != Role::Customer {
            validate::id(&mut v, "customer_id", &req.customer_id, domain::MAX_ID_LEN);
        }
        let page_size = v.take("page_size", paging::page_size(req.page_size));
        let page_size = v.finish_with(page_size).map_err(Error::from)?;
        let page = self
            .app
            .list(&caller, &req.customer_id, page_size, &req.page_token)
            .await?;
        // Orders of 500 lines each: a page stops at the response budget, and
        // the next one starts after the last order it carries.
        let mut orders: Vec<pb::Order> = page.orders.iter().map(order_to_proto).collect();
        let fit = paging::fitting(
            orders.iter().map(prost::Message::encoded_len),
            paging::MAX_RESPONSE_BYTES,
        );
        let next_page_token = if fit < orders.len() {
            orders.truncate(fit);
            let last = &page.orders[fit - 1];
            let cursor = paging::Cursor {
                at: last.placed_at,
                id: last.order_id.clone(),
            };
            paging::encode(&page.query, &cursor)
        } else {
            page.next_page_token
        };
        Ok(Response::new(pb::ListOrdersResponse {
            orders,
            next_page_token,
        }))
    }
}
