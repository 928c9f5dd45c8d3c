//! Campaigns.

use aftercare_kernel::channel::Channel;
use aftercare_kernel::{DateTime, Decimal, Utc};
use aftercare_platform::error::Error;
use sqlx::PgConnection;

use super::parse;
use crate::domain::campaign::{Campaign, Trigger};

#[derive(sqlx::FromRow)]
struct CampaignRow {
    campaign_id: String,
    name: String,
    trigger: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    earn_multiplier: Decimal,
    bonus_points: i64,
    categories: Vec<String>,
    skus: Vec<String>,
    channels: Vec<String>,
    active: bool,
}

const COLUMNS: &str = "campaign_id, name, trigger, starts_at, ends_at, earn_multiplier, bonus_points, categories,
     skus, channels, active";

fn campaign(r: CampaignRow) -> Result<Campaign, Error> {
    Ok(Campaign {
        campaign_id: r.campaign_id,
        name: r.name,
        trigger: parse(&r.trigger, "campaign trigger", Trigger::parse)?,
        starts_at: r.starts_at,
        ends_at: r.ends_at,
        earn_multiplier: r.earn_multiplier,
        bonus_points: r.bonus_points,
        categories: r.categories,
        skus: r.skus,
        channels: r
            .channels
            .iter()
            .map(|c| parse(c, "channel", Channel::parse))
            .collect::<Result<_, _>>()?,
        active: r.active,
    })
}

pub async fn upsert(conn: &mut PgConnection, c: &Campaign, now: DateTime<Utc>) -> Result<(), Error> {
    let channels: Vec<&str> = c.channels.iter().map(|c| c.as_str()).collect();
    sqlx::query(&format!(
        "INSERT INTO loyalty.campaigns ({COLUMNS}, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (campaign_id) DO UPDATE SET name = EXCLUDED.name, trigger = EXCLUDED.trigger,
             starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at, earn_multiplier = EXCLUDED.earn_multiplier,
             bonus_points = EXCLUDED.bonus_points, categories = EXCLUDED.categories, skus = EXCLUDED.skus,
             channels = EXCLUDED.channels, active = EXCLUDED.active, updated_at = EXCLUDED.updated_at"
    ))
    .bind(&c.campaign_id)
    .bind(&c.name)
    .bind(c.trigger.as_str())
    .bind(c.starts_at)
    .bind(c.ends_at)
    .bind(c.earn_multiplier)
    .bind(c.bonus_points)
    .bind(&c.categories)
    .bind(&c.skus)
    .bind(channels)
    .bind(c.active)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Every campaign, latest start first.
pub async fn list(conn: &mut PgConnection) -> Result<Vec<Campaign>, Error> {
    let rows: Vec<CampaignRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM loyalty.campaigns ORDER BY starts_at DESC, campaign_id LIMIT 500"
    ))
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(campaign).collect()
}

/// The active campaigns running at `at`.
pub async fn running(conn: &mut PgConnection, at: DateTime<Utc>) -> Result<Vec<Campaign>, Error> {
    let rows: Vec<CampaignRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM loyalty.campaigns WHERE active AND starts_at <= $1 AND ends_at > $1"
    ))
    .bind(at)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(campaign).collect()
}

/// Whether the customer has earned on an order before (locked account).
pub async fn ordered_before(conn: &mut PgConnection, customer_id: &str) -> Result<bool, Error> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM loyalty.lots WHERE customer_id = $1 AND source = 'order')")
            .bind(customer_id)
            .fetch_one(&mut *conn)
            .await?,
    )
}
