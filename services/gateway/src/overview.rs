//! `GET /v1/me/overview`: a customer's after-sales at a glance, composed
//! here from four calls made at once under one deadline: open returns and
//! warranty claims (each with its next step), points and tier, upcoming
//! maintenance. Each call is the service's own RPC with the customer's
//! token, so what a section shows is what that RPC would. A service that
//! is slow, failing or not served here leaves its section marked
//! unavailable; the rest of the answer stands.

use std::time::Duration;

use aftercare_proto::loyalty::GetAccountRequest;
use aftercare_proto::maintenance::{ListSchedulesRequest, ListSchedulesResponse};
use aftercare_proto::returns::{ListReturnsRequest, ListReturnsResponse, ReturnStatus};
use aftercare_proto::warranty::{ClaimStatus, ListClaimsRequest, ListClaimsResponse};
use bytes::Bytes;
use http::HeaderMap;
use prost::{Message, Name};
use serde_json::{Map, Value, json};
use tokio::time::Instant;
use tonic::Status;

use crate::call::{Grpc, unary};
use crate::transcode;

pub const PATH: &str = "/v1/me/overview";

/// How many of the newest returns and claims are looked at, and how many
/// upcoming schedules are shown.
const RECENT: i32 = 50;
const UPCOMING: i32 = 5;

const RETURNS: &str = "aftercare.returns.v1.ReturnService";
const WARRANTY: &str = "aftercare.warranty.v1.WarrantyService";
const LOYALTY: &str = "aftercare.loyalty.v1.LoyaltyService";
const MAINTENANCE: &str = "aftercare.maintenance.v1.MaintenanceService";

/// What composing needs from the gateway.
pub struct Sources<'a> {
    pub grpc: &'a Grpc,
    pub served: &'a [String],
    pub pool: &'a prost_reflect::DescriptorPool,
    pub headers: &'a HeaderMap,
    pub peer: Option<std::net::SocketAddr>,
    pub deadline: Duration,
}

/// The overview's JSON.
pub async fn compose(customer_id: &str, s: Sources<'_>) -> Value {
    let until = Instant::now() + s.deadline;
    let call = |service: &'static str, method: &'static str, request: Vec<u8>| {
        let path = format!("/{service}/{method}");
        let served = s.served.iter().any(|name| name == service);
        async move {
            if !served {
                return Err("NOT_SERVED");
            }
            let remaining = until.saturating_duration_since(Instant::now());
            let answer = tokio::time::timeout_at(until, unary(s.grpc, &path, s.headers, s.peer, request, remaining));
            match answer.await {
                Ok(Ok(bytes)) => Ok(bytes),
                Ok(Err(status)) => Err(code_name(&status)),
                Err(_) => Err("DEADLINE_EXCEEDED"),
            }
        }
    };
    let customer = customer_id.to_owned();
    let (returns, claims, account, schedules) = tokio::join!(
        call(
            RETURNS,
            "ListReturns",
            ListReturnsRequest {
                customer_id: customer.clone(),
                page_size: RECENT,
                ..Default::default()
            }
            .encode_to_vec()
        ),
        call(
            WARRANTY,
            "ListClaims",
            ListClaimsRequest {
                customer_id: customer.clone(),
                page_size: RECENT,
                ..Default::default()
            }
            .encode_to_vec()
        ),
        call(
            LOYALTY,
            "GetAccount",
            GetAccountRequest {
                customer_id: customer.clone(),
            }
            .encode_to_vec()
        ),
        call(
            MAINTENANCE,
            "ListSchedules",
            ListSchedulesRequest {
                customer_id: customer.clone(),
                page_size: UPCOMING,
                page_token: String::new(),
            }
            .encode_to_vec()
        ),
    );
    let json_of = |message: &dyn ErasedMessage| -> Value {
        s.pool
            .get_message_by_name(&message.full_name())
            .and_then(|desc| transcode::response(&desc, &message.bytes()).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or(Value::Null)
    };
    let section = |answer: Result<Bytes, &'static str>, build: &dyn Fn(Bytes) -> Option<(&'static str, Value)>| {
        let built = answer.and_then(|bytes| build(bytes).ok_or("INTERNAL"));
        match built {
            Ok((key, value)) => {
                let mut map = Map::new();
                map.insert("available".into(), Value::Bool(true));
                map.insert(key.into(), value);
                Value::Object(map)
            }
            Err(reason) => json!({"available": false, "reason": reason}),
        }
    };
    json!({
        "customerId": customer_id,
        "returns": section(returns, &|bytes| {
            let list = ListReturnsResponse::decode(bytes).ok()?;
            let open = list.returns.into_iter().filter(|r| !matches!(
                ReturnStatus::try_from(r.status),
                Ok(ReturnStatus::Rejected | ReturnStatus::Completed | ReturnStatus::Canceled)
            ));
            Some(("open", Value::Array(open.map(|r| json_of(&r)).collect())))
        }),
        "claims": section(claims, &|bytes| {
            let list = ListClaimsResponse::decode(bytes).ok()?;
            let open = list.claims.into_iter().filter(|c| !matches!(
                ClaimStatus::try_from(c.status),
                Ok(ClaimStatus::Rejected | ClaimStatus::Canceled | ClaimStatus::Resolved | ClaimStatus::Closed)
            ));
            Some(("open", Value::Array(open.map(|c| json_of(&c)).collect())))
        }),
        "points": section(account, &|bytes| {
            let account = aftercare_proto::loyalty::Account::decode(bytes).ok()?;
            Some(("account", json_of(&account)))
        }),
        "maintenance": section(schedules, &|bytes| {
            let list = ListSchedulesResponse::decode(bytes).ok()?;
            Some(("upcoming", Value::Array(list.schedules.iter().map(|s| json_of(s)).collect())))
        }),
    })
}

/// A generated message as the JSON mapping needs it: its full name and bytes.
trait ErasedMessage {
    fn full_name(&self) -> String;
    fn bytes(&self) -> Vec<u8>;
}

impl<M: Message + Name> ErasedMessage for M {
    fn full_name(&self) -> String {
        M::full_name()
    }
    fn bytes(&self) -> Vec<u8> {
        self.encode_to_vec()
    }
}

fn code_name(status: &Status) -> &'static str {
    match status.code() {
        tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => "DEADLINE_EXCEEDED",
        tonic::Code::PermissionDenied | tonic::Code::Unauthenticated => "PERMISSION_DENIED",
        tonic::Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        _ => "UNAVAILABLE",
    }
}
