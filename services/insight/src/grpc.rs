//! `aftercare.insight.v1.InsightService`: the overview, read in one
//! snapshot so its parts add up.

use std::collections::BTreeMap;

use aftercare_kernel::satisfaction::{Counts, percent, text};
use aftercare_kernel::{Duration, Violations};
use aftercare_platform::auth::{Role, RoleTable, caller};
use aftercare_platform::context::ServiceContext;
use aftercare_platform::error::Error;
use aftercare_platform::wire::{channel_to_proto, from_timestamp};
use aftercare_proto::insight as pb;
use aftercare_proto::insight::insight_service_server::{InsightService, InsightServiceServer};
use tonic::{Request, Response, Status};

use crate::store::{self, ChannelTimes, Percentiles};

pub const ROLES: RoleTable = &[("GetServiceOverview", &[Role::Agent, Role::Admin])];

pub const SERVICE_NAME: &str = pb::insight_service_server::SERVICE_NAME;

/// The longest period one overview covers.
pub const MAX_DAYS: i64 = 366;
/// Reasons per category and faults per product shown.
const TOP: usize = 5;
/// Products shown.
const MAX_PRODUCTS: usize = 20;

pub struct InsightGrpc {
    ctx: ServiceContext,
}

impl InsightGrpc {
    pub fn server(ctx: ServiceContext) -> InsightServiceServer<InsightGrpc> {
        InsightServiceServer::new(InsightGrpc { ctx })
    }
}

type Instant = aftercare_kernel::DateTime<aftercare_kernel::Utc>;

fn period(r: &pb::GetServiceOverviewRequest) -> Result<(Instant, Instant), Error> {
    let mut v = Violations::new();
    let mut time = |field: &str, ts: Option<&prost_types::Timestamp>| match ts {
        None => {
            v.add(field, "is required");
            None
        }
        Some(ts) => v.take(field, from_timestamp(ts).ok_or("is not a valid time")),
    };
    let (from, to) = (time("from", r.from.as_ref()), time("to", r.to.as_ref()));
    if let (Some(from), Some(to)) = (from, to) {
        if to <= from {
            v.add("to", "must be after from");
        } else if to - from > Duration::days(MAX_DAYS) {
            v.add("to", format!("must be at most {MAX_DAYS} days after from"));
        }
    }
    Ok(v.finish_with(from.zip(to))?)
}

fn percentiles(p: Percentiles) -> Option<pb::Percentiles> {
    Some(pb::Percentiles {
        count: p.count,
        p50_seconds: p.p50,
        p90_seconds: p.p90,
        p99_seconds: p.p99,
    })
}

fn case_times(rows: &[ChannelTimes]) -> Option<pb::CaseTimes> {
    let by_channel = rows
        .iter()
        .map(|t| pb::ChannelTimes {
            channel: aftercare_kernel::channel::Channel::parse(&t.channel).map_or(0, channel_to_proto),
            opened: t.opened,
            first_response: percentiles(t.first_response),
            resolution: percentiles(t.resolution),
        })
        .collect();
    Some(pb::CaseTimes { by_channel })
}

fn categories(sold: Vec<(String, i64)>, returned: Vec<(String, String, i64)>) -> Vec<pb::CategoryReturns> {
    let mut by: BTreeMap<String, (i64, Vec<(String, i64)>)> = BTreeMap::new();
    for (category, units) in sold {
        by.entry(category).or_default().0 = units;
    }
    for (category, reason, units) in returned {
        by.entry(category).or_default().1.push((reason, units));
    }
    let mut out: Vec<pb::CategoryReturns> = by
        .into_iter()
        .map(|(category, (sold, mut reasons))| {
            let returned: i64 = reasons.iter().map(|(_, n)| n).sum();
            reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            pb::CategoryReturns {
                category,
                units_sold: sold,
                units_returned: returned,
                return_rate: text(percent(returned, sold)),
                top_reasons: reasons
                    .into_iter()
                    .take(TOP)
                    .map(|(reason, units)| pb::ReasonCount { reason, units })
                    .collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.units_returned
            .cmp(&a.units_returned)
            .then(a.category.cmp(&b.category))
    });
    out
}

fn products(rows: Vec<(String, String, i64)>) -> Vec<pb::ProductFaults> {
    let mut by: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    for (sku, fault, claims) in rows {
        by.entry(sku).or_default().push((fault, claims));
    }
    let mut out: Vec<pb::ProductFaults> = by
        .into_iter()
        .map(|(sku, mut faults)| {
            faults.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            pb::ProductFaults {
                sku,
                claims: faults.iter().map(|(_, n)| n).sum(),
                top_faults: faults
                    .into_iter()
                    .take(TOP)
                    .map(|(fault_category, claims)| pb::FaultCount { fault_category, claims })
                    .collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| b.claims.cmp(&a.claims).then(a.sku.cmp(&b.sku)));
    out.truncate(MAX_PRODUCTS);
    out
}

#[tonic::async_trait]
impl InsightService for InsightGrpc {
    async fn get_service_overview(
        &self,
        request: Request<pb::GetServiceOverviewRequest>,
    ) -> Result<Response<pb::ServiceOverview>, Status> {
        caller(&request)?;
        let (from, to) = period(request.get_ref())?;
        let mut tx = self.ctx.pool.begin().await.map_err(Error::from)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(Error::from)?;
        let returns = store::return_times(&mut tx, from, to).await?;
        let (claims, first_breaches, resolution_breaches) = store::claim_times(&mut tx, from, to).await?;
        let follow_up_breaches = store::follow_up_breaches(&mut tx, from, to).await?;
        let a = store::answer_counts(&mut tx, from, to).await?;
        let (sold, returned) = store::return_reasons(&mut tx, from, to).await?;
        let faults = store::faults(&mut tx, from, to).await?;
        let refunds = store::refunds(&mut tx, from, to).await?;
        let (issued, redeemed) = store::points_moved(&mut tx, from, to).await?;
        tx.commit().await.map_err(Error::from)?;
        let counts = Counts {
            csat: [a[0], a[1], a[2], a[3], a[4]],
            promoters: a[5],
            passives: a[6],
            detractors: a[7],
            ..Counts::default()
        };
        let f = counts.figures();
        Ok(Response::new(pb::ServiceOverview {
            returns: case_times(&returns),
            claims: case_times(&claims),
            claim_first_response_breaches: first_breaches,
            claim_resolution_breaches: resolution_breaches,
            follow_up_breaches,
            survey_answers: counts.csat_answers(),
            csat_percent: text(f.csat_percent),
            csat_average: text(f.csat_average),
            nps: text(f.nps),
            nps_answers: f.nps_answers,
            returns_by_category: categories(sold, returned),
            faults_by_product: products(faults),
            refunds: refunds
                .into_iter()
                .map(|(currency_code, amount, refunds)| pb::CurrencyTotal {
                    currency_code,
                    amount: amount.normalize().to_string(),
                    refunds,
                })
                .collect(),
            points_issued: issued,
            points_redeemed: redeemed,
        }))
    }
}
