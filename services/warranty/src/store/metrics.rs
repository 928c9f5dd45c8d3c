//! The figures a support lead reports, from claims filed in a period: one
//! statement each for the clocks and for the two rankings.

use aftercare_kernel::channel::Channel;
use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::error::Error;
use sqlx::PgConnection;

/// Nearest-rank percentiles of durations, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Percentiles {
    pub count: i64,
    pub p50: i64,
    pub p90: i64,
    pub p99: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metrics {
    pub claims_filed: i64,
    pub first_response: Percentiles,
    pub resolution: Percentiles,
    pub first_response_breaches: i64,
    pub resolution_breaches: i64,
    pub by_fault_category: Vec<(String, i64)>,
    pub by_product: Vec<(String, i64)>,
}

/// How many keys a ranking shows.
const TOP: i64 = 20;

#[derive(sqlx::FromRow)]
struct Row {
    filed: i64,
    first_response: Option<Vec<f64>>,
    responded: i64,
    resolution: Option<Vec<f64>>,
    resolved: i64,
    first_response_breaches: i64,
    resolution_breaches: i64,
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

/// Breaches are counted from the targets, whatever the job has raised so
/// far: an answer after its target is a breach, an open claim past its
/// target at `now` too (time paused moves the targets).
pub async fn metrics(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    channel: Option<Channel>,
    now: DateTime<Utc>,
) -> Result<Metrics, Error> {
    const SCOPE: &str = "c.filed_at >= $1 AND c.filed_at < $2 AND ($3::text IS NULL OR c.channel = $3)";
    let row: Row = sqlx::query_as(&format!(
        "SELECT count(*) AS filed,
             percentile_disc(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (
                 ORDER BY extract(epoch FROM c.first_response_at - c.filed_at)::float8)
                 FILTER (WHERE c.first_response_at IS NOT NULL) AS first_response,
             count(c.first_response_at) AS responded,
             percentile_disc(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (
                 ORDER BY extract(epoch FROM c.resolved_at - c.filed_at)::float8 - c.paused_micros / 1e6)
                 FILTER (WHERE c.resolved_at IS NOT NULL) AS resolution,
             count(c.resolved_at) AS resolved,
             count(*) FILTER (WHERE COALESCE(c.first_response_at, c.resolved_at, $4)
                                    > c.first_response_due)
                 AS first_response_breaches,
             count(*) FILTER (WHERE COALESCE(c.resolved_at, $4)
                                    > c.resolution_due)
                 AS resolution_breaches
         FROM warranty.claims c WHERE {SCOPE}"
    ))
    .bind(from)
    .bind(to)
    .bind(channel.map(|c| c.as_str()))
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let by_fault_category: Vec<(String, i64)> = sqlx::query_as(&format!(
        "SELECT lower(trim(c.fault_category)) AS key, count(*) FROM warranty.claims c WHERE {SCOPE}
         GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $4"
    ))
    .bind(from)
    .bind(to)
    .bind(channel.map(|c| c.as_str()))
    .bind(TOP)
    .fetch_all(&mut *conn)
    .await?;
    let by_product: Vec<(String, i64)> = sqlx::query_as(&format!(
        "SELECT r.sku AS key, count(*) FROM warranty.claims c
         JOIN warranty.registrations r USING (registration_id) WHERE {SCOPE}
         GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $4"
    ))
    .bind(from)
    .bind(to)
    .bind(channel.map(|c| c.as_str()))
    .bind(TOP)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Metrics {
        claims_filed: row.filed,
        first_response: percentiles(row.first_response, row.responded),
        resolution: percentiles(row.resolution, row.resolved),
        first_response_breaches: row.first_response_breaches,
        resolution_breaches: row.resolution_breaches,
        by_fault_category,
        by_product,
    })
}
