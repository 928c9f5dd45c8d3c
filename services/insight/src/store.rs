//! The `insight` schema: idempotent writes from events, and the figures
//! read over a period (each table's time index).

use aftercare_kernel::{DateTime, Decimal, Money, Utc};
use aftercare_platform::error::Error;
use sqlx::PgConnection;

type Result<T> = std::result::Result<T, Error>;

pub async fn order_line(
    tx: &mut PgConnection,
    order_id: &str,
    line_id: &str,
    category: &str,
    quantity: i32,
    placed_at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO insight.order_lines (order_id, line_id, category, quantity, placed_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(order_id)
    .bind(line_id)
    .bind(category)
    .bind(quantity)
    .bind(placed_at)
    .execute(tx)
    .await?;
    Ok(())
}

pub async fn return_requested(
    tx: &mut PgConnection,
    return_id: &str,
    order_id: &str,
    channel: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO insight.returns (return_id, order_id, channel, requested_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(return_id)
    .bind(order_id)
    .bind(channel)
    .bind(at)
    .execute(tx)
    .await?;
    Ok(())
}

pub async fn return_line(
    tx: &mut PgConnection,
    return_id: &str,
    line_id: &str,
    quantity: i32,
    reason: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO insight.return_lines (return_id, line_id, quantity, reason)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(return_id)
    .bind(line_id)
    .bind(quantity)
    .bind(reason)
    .execute(tx)
    .await?;
    Ok(())
}

/// A step in a return's life: its first answer by staff, or its end.
pub enum Milestone {
    Responded,
    /// Its outcome: "completed", "rejected", "canceled".
    Over(&'static str),
}

/// Keeps each milestone's first time.
pub async fn return_milestone(tx: &mut PgConnection, return_id: &str, m: Milestone, at: DateTime<Utc>) -> Result<()> {
    let (sql, outcome) = match m {
        Milestone::Responded => (
            "UPDATE insight.returns SET first_response_at = COALESCE(first_response_at, $2) WHERE return_id = $1",
            None,
        ),
        Milestone::Over(outcome) => (
            "UPDATE insight.returns SET resolved_at = COALESCE(resolved_at, $2), outcome = COALESCE(outcome, $3)
              WHERE return_id = $1",
            Some(outcome),
        ),
    };
    sqlx::query(sql)
        .bind(return_id)
        .bind(at)
        .bind(outcome)
        .execute(tx)
        .await?;
    Ok(())
}

pub async fn refund(tx: &mut PgConnection, refund_id: &str, amount: Money, at: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "INSERT INTO insight.refunds (refund_id, currency, amount, succeeded_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(refund_id)
    .bind(amount.currency().code())
    .bind(amount.amount())
    .bind(at)
    .execute(tx)
    .await?;
    Ok(())
}

pub async fn registration(tx: &mut PgConnection, registration_id: &str, sku: &str) -> Result<()> {
    sqlx::query("INSERT INTO insight.registrations (registration_id, sku) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(registration_id)
        .bind(sku)
        .execute(tx)
        .await?;
    Ok(())
}

pub struct FiledClaim<'a> {
    pub claim_id: &'a str,
    pub registration_id: &'a str,
    pub channel: &'a str,
    pub fault_category: &'a str,
    pub filed_at: DateTime<Utc>,
}

pub async fn claim_filed(tx: &mut PgConnection, c: &FiledClaim<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO insight.claims (claim_id, registration_id, channel, fault_category, filed_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(c.claim_id)
    .bind(c.registration_id)
    .bind(c.channel)
    .bind(c.fault_category)
    .bind(c.filed_at)
    .execute(tx)
    .await?;
    Ok(())
}

/// A claim's service-level clock as its latest status change told it.
pub struct ClaimClock {
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub paused_micros: i64,
}

pub async fn claim_clock(tx: &mut PgConnection, claim_id: &str, c: &ClaimClock) -> Result<()> {
    sqlx::query(
        "UPDATE insight.claims
            SET first_response_at = COALESCE(first_response_at, $2), resolved_at = $3, paused_micros = $4
          WHERE claim_id = $1",
    )
    .bind(claim_id)
    .bind(c.first_response_at)
    .bind(c.resolved_at)
    .bind(c.paused_micros)
    .execute(tx)
    .await?;
    Ok(())
}

pub async fn claim_responded(tx: &mut PgConnection, claim_id: &str, at: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE insight.claims SET first_response_at = COALESCE(first_response_at, $2) WHERE claim_id = $1")
        .bind(claim_id)
        .bind(at)
        .execute(tx)
        .await?;
    Ok(())
}

pub async fn claim_breached(tx: &mut PgConnection, claim_id: &str, target: &str) -> Result<()> {
    let sql = match target {
        "first_response" => "UPDATE insight.claims SET first_response_breached = true WHERE claim_id = $1",
        "resolution" => "UPDATE insight.claims SET resolution_breached = true WHERE claim_id = $1",
        other => return Err(Error::internal(format!("unknown SLA target {other:?}"))),
    };
    sqlx::query(sql).bind(claim_id).execute(tx).await?;
    Ok(())
}

pub async fn follow_up_breached(tx: &mut PgConnection, follow_up_id: &str, at: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "INSERT INTO insight.follow_up_breaches (follow_up_id, breached_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(follow_up_id)
    .bind(at)
    .execute(tx)
    .await?;
    Ok(())
}

pub struct Answer<'a> {
    pub survey_id: &'a str,
    pub csat: i32,
    pub nps: Option<i32>,
    pub survey_created_at: DateTime<Utc>,
    /// The event's place in the outbox: one survey's answers are written
    /// under its row lock, so this is the order they were committed in.
    pub seq: i64,
}

/// Keeps a survey's latest answer (a redelivered older one changes
/// nothing).
pub async fn answer(tx: &mut PgConnection, a: &Answer<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO insight.answers (survey_id, csat, nps, survey_created_at, seq)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (survey_id) DO UPDATE SET csat = EXCLUDED.csat, nps = EXCLUDED.nps, seq = EXCLUDED.seq
          WHERE insight.answers.seq < EXCLUDED.seq",
    )
    .bind(a.survey_id)
    .bind(a.csat)
    .bind(a.nps)
    .bind(a.survey_created_at)
    .bind(a.seq)
    .execute(tx)
    .await?;
    Ok(())
}

pub async fn points(tx: &mut PgConnection, entry_id: &str, kind: &str, points: i64, at: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "INSERT INTO insight.points (entry_id, kind, points, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(entry_id)
    .bind(kind)
    .bind(points)
    .bind(at)
    .execute(tx)
    .await?;
    Ok(())
}

/// Nearest-rank percentiles in seconds (as warranty's metrics compute them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Percentiles {
    pub count: i64,
    pub p50: i64,
    pub p90: i64,
    pub p99: i64,
}

fn percentiles(values: Option<Vec<f64>>, count: i64) -> Percentiles {
    let v = values.unwrap_or_default();
    let at = |i: usize| v.get(i).map_or(0, |s| s.round() as i64);
    Percentiles {
        count,
        p50: at(0),
        p90: at(1),
        p99: at(2),
    }
}

/// One channel's times ("" for every channel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelTimes {
    pub channel: String,
    pub opened: i64,
    pub first_response: Percentiles,
    pub resolution: Percentiles,
}

type TimesRow = (Option<String>, i64, Option<Vec<f64>>, i64, Option<Vec<f64>>, i64);

/// The rollup's rows: the total (no channel) first, then each known
/// channel by name. Cases of no known channel (events written before they
/// told it) count in the total only.
fn times(rows: Vec<TimesRow>) -> Vec<ChannelTimes> {
    let mut out: Vec<ChannelTimes> = rows
        .into_iter()
        .filter(|row| row.0.as_deref() != Some(""))
        .map(
            |(channel, opened, first, responded, resolution, resolved)| ChannelTimes {
                channel: channel.unwrap_or_default(),
                opened,
                first_response: percentiles(first, responded),
                resolution: percentiles(resolution, resolved),
            },
        )
        .collect();
    out.sort_by(|a, b| (!a.channel.is_empty(), &a.channel).cmp(&(!b.channel.is_empty(), &b.channel)));
    out
}

const PERCENTILES: &str = "percentile_disc(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP";

pub async fn return_times(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<ChannelTimes>> {
    let rows: Vec<TimesRow> = sqlx::query_as(&format!(
        "SELECT CASE WHEN GROUPING(r.channel) = 1 THEN NULL ELSE r.channel END, count(*),
                {PERCENTILES} (ORDER BY extract(epoch FROM r.first_response_at - r.requested_at)::float8)
                    FILTER (WHERE r.first_response_at IS NOT NULL),
                count(r.first_response_at),
                {PERCENTILES} (ORDER BY extract(epoch FROM r.resolved_at - r.requested_at)::float8)
                    FILTER (WHERE r.resolved_at IS NOT NULL),
                count(r.resolved_at)
           FROM insight.returns r
          WHERE r.requested_at >= $1 AND r.requested_at < $2
          GROUP BY ROLLUP (r.channel)"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?;
    Ok(times(rows))
}

/// Claims' times as warranty's metrics count them (resolution less the
/// time paused), and the breaches of claims filed in the period.
pub async fn claim_times(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(Vec<ChannelTimes>, i64, i64)> {
    let rows: Vec<TimesRow> = sqlx::query_as(&format!(
        "SELECT CASE WHEN GROUPING(c.channel) = 1 THEN NULL ELSE c.channel END, count(*),
                {PERCENTILES} (ORDER BY extract(epoch FROM c.first_response_at - c.filed_at)::float8)
                    FILTER (WHERE c.first_response_at IS NOT NULL),
                count(c.first_response_at),
                {PERCENTILES} (ORDER BY extract(epoch FROM c.resolved_at - c.filed_at)::float8
                                        - c.paused_micros / 1e6)
                    FILTER (WHERE c.resolved_at IS NOT NULL),
                count(c.resolved_at)
           FROM insight.claims c
          WHERE c.filed_at >= $1 AND c.filed_at < $2
          GROUP BY ROLLUP (c.channel)"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let (first, resolution): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE first_response_breached), count(*) FILTER (WHERE resolution_breached)
           FROM insight.claims WHERE filed_at >= $1 AND filed_at < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_one(conn)
    .await?;
    Ok((times(rows), first, resolution))
}

pub async fn follow_up_breaches(conn: &mut PgConnection, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<i64> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM insight.follow_up_breaches WHERE breached_at >= $1 AND breached_at < $2")
            .bind(from)
            .bind(to)
            .fetch_one(conn)
            .await?;
    Ok(n)
}

/// CSAT 1-5, then NPS promoters, passives, detractors, of the latest
/// answers of surveys made in the period.
pub async fn answer_counts(conn: &mut PgConnection, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<[i64; 8]> {
    let r: (i64, i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE csat = 1), count(*) FILTER (WHERE csat = 2),
                count(*) FILTER (WHERE csat = 3), count(*) FILTER (WHERE csat = 4),
                count(*) FILTER (WHERE csat = 5), count(*) FILTER (WHERE nps >= 9),
                count(*) FILTER (WHERE nps BETWEEN 7 AND 8), count(*) FILTER (WHERE nps <= 6)
           FROM insight.answers WHERE survey_created_at >= $1 AND survey_created_at < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_one(conn)
    .await?;
    Ok([r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7])
}

/// Units sold per category, and units returned per category and reason.
pub async fn return_reasons(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(Vec<(String, i64)>, Vec<(String, String, i64)>)> {
    let sold: Vec<(String, i64)> = sqlx::query_as(
        "SELECT category, sum(quantity)::bigint FROM insight.order_lines
          WHERE placed_at >= $1 AND placed_at < $2 GROUP BY 1",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let returned: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT o.category, l.reason, sum(l.quantity)::bigint
           FROM insight.returns r
           JOIN insight.return_lines l ON l.return_id = r.return_id
           JOIN insight.order_lines o ON o.order_id = r.order_id AND o.line_id = l.line_id
          WHERE r.requested_at >= $1 AND r.requested_at < $2
            AND r.outcome IS DISTINCT FROM 'rejected' AND r.outcome IS DISTINCT FROM 'canceled'
          GROUP BY 1, 2",
    )
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?;
    Ok((sold, returned))
}

/// Claims filed in the period per product and fault category (without case).
pub async fn faults(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(String, String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT COALESCE(g.sku, ''), lower(trim(c.fault_category)), count(*)
           FROM insight.claims c LEFT JOIN insight.registrations g ON g.registration_id = c.registration_id
          WHERE c.filed_at >= $1 AND c.filed_at < $2
          GROUP BY 1, 2",
    )
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?)
}

pub async fn refunds(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(String, Decimal, i64)>> {
    Ok(sqlx::query_as(
        "SELECT currency, sum(amount), count(*) FROM insight.refunds
          WHERE succeeded_at >= $1 AND succeeded_at < $2 GROUP BY 1 ORDER BY 1",
    )
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?)
}

pub async fn points_moved(conn: &mut PgConnection, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT COALESCE(sum(points) FILTER (WHERE kind = 'issued'), 0)::bigint,
                COALESCE(sum(points) FILTER (WHERE kind = 'redeemed'), 0)::bigint
           FROM insight.points WHERE at >= $1 AND at < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_one(conn)
    .await?)
}

/// Every table of the read model, for a rebuild.
pub const TABLES: &str = "insight.order_lines, insight.returns, insight.return_lines, insight.registrations,
    insight.claims, insight.follow_up_breaches, insight.answers, insight.refunds, insight.points";
