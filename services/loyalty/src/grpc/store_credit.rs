//! `aftercare.loyalty.v1.StoreCreditService` over tonic: parse -> call the
//! app -> convert, for store-credit wallets.

use aftercare_kernel::{Currency, Money, Violations, validate};
use aftercare_platform::auth::{Role, RoleTable, caller};
use aftercare_platform::error::Error;
use aftercare_platform::wire::{money, parse_money, timestamp};
use aftercare_proto::common::Money as PbMoney;
use aftercare_proto::loyalty as pb;
use aftercare_proto::loyalty::store_credit_service_server::{StoreCreditService, StoreCreditServiceServer};
use tonic::{Request, Response, Status};

use super::convert::{hold_status, kind};
use super::parse;
use crate::app::store_credit::{CreditReserve, StoreCredit};
use crate::domain::{CreditEntry, CreditHold, MAX_HOLD_TTL_SECONDS, MAX_ID_LEN, Wallet};

/// Who may call what. A customer additionally sees only their own wallet.
pub const ROLES: RoleTable = &[
    (
        "GetStoreCredit",
        &[Role::Customer, Role::Service, Role::Agent, Role::Admin],
    ),
    (
        "ListStoreCreditTransactions",
        &[Role::Customer, Role::Service, Role::Agent, Role::Admin],
    ),
    ("HoldStoreCredit", &[Role::Service]),
    ("CaptureStoreCredit", &[Role::Service]),
    ("ReleaseStoreCredit", &[Role::Service, Role::Agent]),
];

pub const SERVICE_NAME: &str = pb::store_credit_service_server::SERVICE_NAME;

pub struct StoreCreditGrpc {
    app: StoreCredit,
}

impl StoreCreditGrpc {
    pub fn server(app: StoreCredit) -> StoreCreditServiceServer<StoreCreditGrpc> {
        StoreCreditServiceServer::new(StoreCreditGrpc { app })
    }
}

/// An amount of credit: more than zero, within the money limit.
fn amount(v: &mut Violations, field: &str, value: Option<&PbMoney>) -> Option<Money> {
    match value.map(parse_money) {
        None => {
            v.add(field, "is required");
            None
        }
        Some(Err(e)) => {
            v.add(field, e.to_string());
            None
        }
        Some(Ok(m)) if !m.is_positive() || m.exceeds_limit() => {
            v.add(field, "must be more than zero, within the money limit");
            None
        }
        Some(Ok(m)) => Some(m),
    }
}

fn reserve(r: &pb::HoldStoreCreditRequest) -> Result<CreditReserve, Error> {
    let mut v = Violations::new();
    parse::customer(&mut v, &r.customer_id);
    let amount = amount(&mut v, "amount", r.amount.as_ref());
    validate::id(&mut v, "order_ref", &r.order_ref, MAX_ID_LEN);
    if !(0..=MAX_HOLD_TTL_SECONDS).contains(&r.ttl_seconds) {
        v.add("ttl_seconds", format!("must be 0 to {MAX_HOLD_TTL_SECONDS}"));
    }
    validate::id(&mut v, "request_id", &r.request_id, MAX_ID_LEN);
    v.finish()?;
    Ok(CreditReserve {
        customer_id: r.customer_id.clone(),
        amount: amount.ok_or_else(|| Error::invalid("amount", "is required"))?,
        order_ref: r.order_ref.clone(),
        ttl_seconds: r.ttl_seconds,
        request_id: r.request_id.clone(),
    })
}

fn hold(h: &CreditHold) -> pb::StoreCreditHold {
    let hold = &h.hold;
    pb::StoreCreditHold {
        hold_id: hold.hold_id.to_string(),
        customer_id: hold.customer_id.clone(),
        amount: Some(money(h.money(hold.points))),
        captured: Some(money(h.money(hold.captured))),
        order_ref: hold.order_ref.clone(),
        status: hold_status(hold.status) as i32,
        expires_at: Some(timestamp(hold.expires_at)),
        created_at: Some(timestamp(hold.created_at)),
        resolved_at: hold.resolved_at.map(timestamp),
    }
}

fn balance(w: &Wallet) -> pb::StoreCreditBalance {
    pb::StoreCreditBalance {
        available: Some(money(w.money(w.available))),
        held: Some(money(w.money(w.held))),
        credited: Some(money(w.money(w.credited))),
    }
}

fn entry(c: &CreditEntry) -> pb::StoreCreditEntry {
    let e = &c.entry;
    let m = |minor: i64| Some(money(Money::from_minor(c.currency, minor.into())));
    pb::StoreCreditEntry {
        entry_id: e.entry_id.to_string(),
        customer_id: e.customer_id.clone(),
        kind: kind(e.kind) as i32,
        available_change: m(e.changes.available),
        held_change: m(e.changes.held),
        refund_id: c.refund_id.clone().unwrap_or_default(),
        hold_id: e.hold_id.map(|h| h.to_string()).unwrap_or_default(),
        reason: e.reason.clone(),
        at: Some(timestamp(e.at)),
        lots: e
            .lots
            .iter()
            .map(|l| pb::StoreCreditLotMovement {
                lot_id: l.lot_id.to_string(),
                amount: m(l.points),
            })
            .collect(),
    }
}

#[tonic::async_trait]
impl StoreCreditService for StoreCreditGrpc {
    async fn get_store_credit(
        &self,
        request: Request<pb::GetStoreCreditRequest>,
    ) -> Result<Response<pb::StoreCredit>, Status> {
        let caller = caller(&request)?;
        let customer_id = &request.get_ref().customer_id;
        let mut v = Violations::new();
        parse::customer(&mut v, customer_id);
        v.finish().map_err(Error::from)?;
        let wallets = self.app.wallets(&caller, customer_id).await?;
        Ok(Response::new(pb::StoreCredit {
            customer_id: customer_id.clone(),
            balances: wallets.iter().map(balance).collect(),
        }))
    }

    async fn list_store_credit_transactions(
        &self,
        request: Request<pb::ListStoreCreditTransactionsRequest>,
    ) -> Result<Response<pb::ListStoreCreditTransactionsResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let mut v = Violations::new();
        parse::customer(&mut v, &req.customer_id);
        let currency = match req.currency_code.as_str() {
            "" => None,
            code => Currency::from_code(code).or_else(|| {
                v.add("currency_code", "must be an ISO 4217 code this service knows, or empty");
                None
            }),
        };
        v.finish().map_err(Error::from)?;
        let page = self
            .app
            .transactions(&caller, &req.customer_id, currency, req.page_size, &req.page_token)
            .await?;
        Ok(Response::new(pb::ListStoreCreditTransactionsResponse {
            entries: page.entries.iter().map(entry).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn hold_store_credit(
        &self,
        request: Request<pb::HoldStoreCreditRequest>,
    ) -> Result<Response<pb::StoreCreditHold>, Status> {
        let caller = caller(&request)?;
        let r = reserve(request.get_ref())?;
        Ok(Response::new(hold(&self.app.hold(&caller, r).await?)))
    }

    async fn capture_store_credit(
        &self,
        request: Request<pb::CaptureStoreCreditRequest>,
    ) -> Result<Response<pb::StoreCreditHold>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let mut v = Violations::new();
        let id = parse::hold_id(&mut v, &req.hold_id);
        let captured = req.amount.as_ref().and_then(|m| amount(&mut v, "amount", Some(m)));
        v.finish().map_err(Error::from)?;
        Ok(Response::new(hold(&self.app.capture(&caller, id, captured).await?)))
    }

    async fn release_store_credit(
        &self,
        request: Request<pb::ReleaseStoreCreditRequest>,
    ) -> Result<Response<pb::StoreCreditHold>, Status> {
        let caller = caller(&request)?;
        let mut v = Violations::new();
        let id = parse::hold_id(&mut v, &request.get_ref().hold_id);
        v.finish().map_err(Error::from)?;
        Ok(Response::new(hold(&self.app.release(&caller, id).await?)))
    }
}
