//! Claims and their timelines. A claim is read whole (its timeline in the
//! same statement) and written back after the domain decided.

use aftercare_kernel::channel::Channel;
use aftercare_kernel::{DateTime, Duration, NaiveDate, Utc};
use aftercare_platform::error::Error;
use aftercare_platform::paging::Cursor;
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::{parse, parse_all};
use crate::domain::{
    Alarm, Claim, ClaimId, ClaimStatus, Coverage, CoverageReason, Entitlement, RegistrationId, RejectionReason, Remedy,
    Sla, TimelineEntry, Trigger, WarrantyError,
};

#[derive(sqlx::FromRow)]
struct ClaimRow {
    claim_id: Uuid,
    registration_id: Uuid,
    customer_id: String,
    status: String,
    fault_category: String,
    description: String,
    photo_urls: Vec<String>,
    channel: String,
    coverage_reason: String,
    covered_through: Option<NaiveDate>,
    offered_remedies: Vec<String>,
    covers_parts: bool,
    covers_labour: bool,
    covers_shipping: bool,
    remedy: Option<String>,
    paid_repair: bool,
    entitlement_trigger: Option<String>,
    entitlement_remedies: Option<Vec<String>>,
    rejection_reason: Option<String>,
    appealed: bool,
    reviewer: Option<String>,
    rejected_by: Option<String>,
    filed_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    first_response_due: DateTime<Utc>,
    first_response_risk_at: DateTime<Utc>,
    resolution_due: DateTime<Utc>,
    resolution_risk_at: DateTime<Utc>,
    paused_micros: i64,
    paused_since: Option<DateTime<Utc>>,
    first_response_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    alarms_sent: Vec<String>,
    timeline: Json<Vec<TimelineRow>>,
}

#[derive(serde::Deserialize)]
struct TimelineRow {
    at: DateTime<Utc>,
    status: Option<String>,
    text: String,
    actor_role: String,
    channel: Option<String>,
    customer_visible: bool,
}

impl TryFrom<ClaimRow> for Claim {
    type Error = WarrantyError;
    fn try_from(r: ClaimRow) -> Result<Claim, WarrantyError> {
        let registration_id = RegistrationId::from_uuid(r.registration_id);
        let timeline = r
            .timeline
            .0
            .into_iter()
            .map(|t| {
                Ok(TimelineEntry {
                    at: t.at,
                    status: t
                        .status
                        .as_deref()
                        .map(|s| parse(s, "claim status", ClaimStatus::parse))
                        .transpose()?,
                    text: t.text,
                    actor_role: t.actor_role,
                    channel: t
                        .channel
                        .as_deref()
                        .map(|c| parse(c, "channel", Channel::parse))
                        .transpose()?,
                    customer_visible: t.customer_visible,
                })
            })
            .collect::<Result<_, WarrantyError>>()?;
        Ok(Claim {
            claim_id: ClaimId::from_uuid(r.claim_id),
            registration_id,
            status: parse(&r.status, "claim status", ClaimStatus::parse)?,
            channel: parse(&r.channel, "channel", Channel::parse)?,
            coverage_at_filing: Coverage {
                reason: parse(&r.coverage_reason, "coverage reason", CoverageReason::parse)?,
                registration_id: Some(registration_id),
                covered_through: r.covered_through,
                remedies: parse_all(&r.offered_remedies, "remedy", Remedy::parse)?,
                covers_parts: r.covers_parts,
                covers_labour: r.covers_labour,
                covers_shipping: r.covers_shipping,
            },
            remedy: r
                .remedy
                .as_deref()
                .map(|s| parse(s, "remedy", Remedy::parse))
                .transpose()?,
            paid_repair: r.paid_repair,
            entitlement: match (r.entitlement_trigger, r.entitlement_remedies) {
                (Some(t), Some(remedies)) => Some(Entitlement {
                    trigger: parse(&t, "entitlement trigger", Trigger::parse)?,
                    remedies: parse_all(&remedies, "remedy", Remedy::parse)?,
                }),
                _ => None,
            },
            rejection_reason: r
                .rejection_reason
                .as_deref()
                .map(|s| parse(s, "rejection reason", RejectionReason::parse))
                .transpose()?,
            customer_id: r.customer_id,
            fault_category: r.fault_category,
            description: r.description,
            photo_urls: r.photo_urls,
            appealed: r.appealed,
            reviewer: r.reviewer,
            rejected_by: r.rejected_by,
            timeline,
            sla: Sla {
                filed_at: r.filed_at,
                first_response_due: r.first_response_due,
                first_response_risk: r.first_response_risk_at,
                resolution_due: r.resolution_due,
                resolution_risk: r.resolution_risk_at,
                paused: Duration::microseconds(r.paused_micros),
                paused_since: r.paused_since,
                first_response_at: r.first_response_at,
                resolved_at: r.resolved_at,
                alarms_sent: parse_all(&r.alarms_sent, "alarm", Alarm::parse)?,
            },
            filed_at: r.filed_at,
            updated_at: r.updated_at,
        })
    }
}

const SELECT: &str = "SELECT c.*,
         (SELECT COALESCE(json_agg(t ORDER BY t.id), '[]') FROM warranty.claim_timeline t
          WHERE t.claim_id = c.claim_id) AS timeline
     FROM warranty.claims c";

/// A claim with its timeline, locked for update when `lock`.
pub async fn get(conn: &mut PgConnection, id: ClaimId, lock: bool) -> Result<Option<Claim>, Error> {
    let lock = if lock { " FOR UPDATE OF c" } else { "" };
    let row: Option<ClaimRow> = sqlx::query_as(&format!("{SELECT} WHERE c.claim_id = $1{lock}"))
        .bind(id.as_uuid())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(Claim::try_from).transpose()?)
}

/// How a list of claims is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    NewestFirst,
    /// The earliest target still to meet first; claims with none running
    /// are left out.
    TimeToBreach,
}

/// Claims of a customer and/or in a status, in `order`, after `cursor`.
pub async fn list(
    conn: &mut PgConnection,
    customer_id: Option<&str>,
    status: Option<ClaimStatus>,
    order: Order,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<Claim>, Error> {
    let after = cursor
        .map(|c| Uuid::parse_str(&c.id))
        .transpose()
        .map_err(|_| Error::invalid("page_token", "not a page token from this query"))?;
    let (key, ordering) = match order {
        Order::NewestFirst => (
            "($3::timestamptz IS NULL OR (c.filed_at, c.claim_id) < ($3, $4))",
            "c.filed_at DESC, c.claim_id DESC",
        ),
        Order::TimeToBreach => (
            "c.next_due_at IS NOT NULL AND ($3::timestamptz IS NULL OR (c.next_due_at, c.claim_id) > ($3, $4))",
            "c.next_due_at, c.claim_id",
        ),
    };
    let rows: Vec<ClaimRow> = sqlx::query_as(&format!(
        "{SELECT} WHERE ($1::text IS NULL OR c.customer_id = $1) AND ($2::text IS NULL OR c.status = $2) AND {key}
         ORDER BY {ordering} LIMIT $5"
    ))
    .bind(customer_id)
    .bind(status.map(|s| s.as_str()))
    .bind(cursor.map(|c| c.at))
    .bind(after.unwrap_or_default())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(Claim::try_from).collect::<Result<_, _>>()?)
}

/// Claims with an alarm due by `now`, locked, skipping those another
/// transaction holds: each alarm is raised by one job run, whatever the
/// replicas.
pub async fn alarms_due(conn: &mut PgConnection, now: DateTime<Utc>, limit: i64) -> Result<Vec<ClaimId>, Error> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT claim_id FROM warranty.claims WHERE next_alarm_at <= $1
         ORDER BY next_alarm_at LIMIT $2 FOR UPDATE SKIP LOCKED",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(ids.into_iter().map(ClaimId::from_uuid).collect())
}

/// Keeps a closed pause of a claim's clocks.
pub async fn add_pause(
    conn: &mut PgConnection,
    id: ClaimId,
    started: DateTime<Utc>,
    ended: DateTime<Utc>,
) -> Result<(), Error> {
    sqlx::query("INSERT INTO warranty.claim_pauses (claim_id, started_at, ended_at) VALUES ($1, $2, $3)")
        .bind(id.as_uuid())
        .bind(started)
        .bind(ended)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

fn alarms(sla: &Sla) -> Vec<&'static str> {
    sla.alarms_sent.iter().map(|a| a.as_str()).collect()
}

/// Writes a new claim with its first timeline entry.
pub async fn insert(conn: &mut PgConnection, c: &Claim) -> Result<(), Error> {
    let cov = &c.coverage_at_filing;
    let remedies: Vec<&str> = cov.remedies.iter().map(|r| r.as_str()).collect();
    let first = c
        .timeline
        .first()
        .ok_or_else(|| Error::internal("a new claim without its first timeline entry"))?;
    // The claim and its first entry in one statement.
    sqlx::query(
        "WITH claim AS (
             INSERT INTO warranty.claims (claim_id, registration_id, customer_id, status, fault_category, description,
                 photo_urls, channel, coverage_reason, covered_through, offered_remedies, covers_parts, covers_labour,
                 covers_shipping, filed_at, updated_at, first_response_due, resolution_due, next_alarm_at,
                 next_due_at, entitlement_trigger, entitlement_remedies, first_response_risk_at, resolution_risk_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16, $17, $18, $19, $20,
                 $21, $28, $29)
             RETURNING claim_id)
         INSERT INTO warranty.claim_timeline (claim_id, at, status, text, actor_role, channel, customer_visible)
         SELECT claim_id, $22, $23, $24, $25, $26, $27 FROM claim",
    )
    .bind(c.claim_id.as_uuid())
    .bind(c.registration_id.as_uuid())
    .bind(&c.customer_id)
    .bind(c.status.as_str())
    .bind(&c.fault_category)
    .bind(&c.description)
    .bind(&c.photo_urls)
    .bind(c.channel.as_str())
    .bind(cov.reason.as_str())
    .bind(cov.covered_through)
    .bind(remedies)
    .bind(cov.covers_parts)
    .bind(cov.covers_labour)
    .bind(cov.covers_shipping)
    .bind(c.filed_at)
    .bind(c.sla.first_response_due)
    .bind(c.sla.resolution_due)
    .bind(c.sla.next_alarm())
    .bind(c.sla.next_due())
    .bind(c.entitlement.as_ref().map(|e| e.trigger.as_str()))
    .bind(
        c.entitlement
            .as_ref()
            .map(|e| e.remedies.iter().map(|r| r.as_str()).collect::<Vec<_>>()),
    )
    .bind(first.at)
    .bind(first.status.map(|s| s.as_str()))
    .bind(&first.text)
    .bind(&first.actor_role)
    .bind(first.channel.map(|c| c.as_str()))
    .bind(first.customer_visible)
    .bind(c.sla.first_response_risk)
    .bind(c.sla.resolution_risk)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes what a step changes.
pub async fn update(conn: &mut PgConnection, c: &Claim) -> Result<(), Error> {
    sqlx::query(
        "UPDATE warranty.claims SET status = $2, remedy = $3, rejection_reason = $4, appealed = $5, reviewer = $6,
             rejected_by = $7, updated_at = $8, photo_urls = $9, paused_micros = $10, paused_since = $11,
             first_response_at = $12, resolved_at = $13, alarms_sent = $14, next_alarm_at = $15, next_due_at = $16,
             paid_repair = $17, entitlement_trigger = $18, entitlement_remedies = $19, first_response_due = $20,
             first_response_risk_at = $21, resolution_due = $22, resolution_risk_at = $23
         WHERE claim_id = $1",
    )
    .bind(c.claim_id.as_uuid())
    .bind(c.status.as_str())
    .bind(c.remedy.map(|r| r.as_str()))
    .bind(c.rejection_reason.map(|r| r.as_str()))
    .bind(c.appealed)
    .bind(c.reviewer.as_deref())
    .bind(c.rejected_by.as_deref())
    .bind(c.updated_at)
    .bind(&c.photo_urls)
    .bind(c.sla.paused.num_microseconds().unwrap_or(i64::MAX))
    .bind(c.sla.paused_since)
    .bind(c.sla.first_response_at)
    .bind(c.sla.resolved_at)
    .bind(alarms(&c.sla))
    .bind(c.sla.next_alarm())
    .bind(c.sla.next_due())
    .bind(c.paid_repair)
    .bind(c.entitlement.as_ref().map(|e| e.trigger.as_str()))
    .bind(
        c.entitlement
            .as_ref()
            .map(|e| e.remedies.iter().map(|r| r.as_str()).collect::<Vec<_>>()),
    )
    .bind(c.sla.first_response_due)
    .bind(c.sla.first_response_risk)
    .bind(c.sla.resolution_due)
    .bind(c.sla.resolution_risk)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn add_timeline(conn: &mut PgConnection, id: ClaimId, e: &TimelineEntry) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO warranty.claim_timeline (claim_id, at, status, text, actor_role, channel, customer_visible)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.as_uuid())
    .bind(e.at)
    .bind(e.status.map(|s| s.as_str()))
    .bind(&e.text)
    .bind(&e.actor_role)
    .bind(e.channel.map(|c| c.as_str()))
    .bind(e.customer_visible)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
