//! Claims and their timelines. A claim is read whole (its timeline in the
//! same statement) and written back after the domain decided.

use aftercare_kernel::channel::Channel;
use aftercare_kernel::{DateTime, NaiveDate, Utc};
use aftercare_platform::error::Error;
use aftercare_platform::paging::Cursor;
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::{parse, parse_all};
use crate::domain::{
    Claim, ClaimId, ClaimStatus, Coverage, CoverageReason, RegistrationId, RejectionReason, Remedy, TimelineEntry,
    WarrantyError,
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
    rejection_reason: Option<String>,
    appealed: bool,
    reviewer: Option<String>,
    rejected_by: Option<String>,
    filed_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
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

/// Claims, newest first, of a customer and/or in a status, after `cursor`.
pub async fn list(
    conn: &mut PgConnection,
    customer_id: Option<&str>,
    status: Option<ClaimStatus>,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<Claim>, Error> {
    let after = cursor
        .map(|c| Uuid::parse_str(&c.id))
        .transpose()
        .map_err(|_| Error::invalid("page_token", "not a page token from this query"))?;
    let rows: Vec<ClaimRow> = sqlx::query_as(&format!(
        "{SELECT} WHERE ($1::text IS NULL OR c.customer_id = $1) AND ($2::text IS NULL OR c.status = $2)
           AND ($3::timestamptz IS NULL OR (c.filed_at, c.claim_id) < ($3, $4))
         ORDER BY c.filed_at DESC, c.claim_id DESC LIMIT $5"
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

/// Writes a new claim (its timeline apart, by [`add_timeline`]).
pub async fn insert(conn: &mut PgConnection, c: &Claim) -> Result<(), Error> {
    let cov = &c.coverage_at_filing;
    let remedies: Vec<&str> = cov.remedies.iter().map(|r| r.as_str()).collect();
    sqlx::query(
        "INSERT INTO warranty.claims (claim_id, registration_id, customer_id, status, fault_category, description,
             photo_urls, channel, coverage_reason, covered_through, offered_remedies, covers_parts, covers_labour,
             covers_shipping, filed_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)",
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
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes what a step changes.
pub async fn update(conn: &mut PgConnection, c: &Claim) -> Result<(), Error> {
    sqlx::query(
        "UPDATE warranty.claims SET status = $2, remedy = $3, rejection_reason = $4, appealed = $5, reviewer = $6,
             rejected_by = $7, updated_at = $8, photo_urls = $9
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
