//! The counts behind the figures, summed by Postgres over the surveys made
//! in a period (the index on `created_at`), in total, per week and per
//! agent. No comment is ever read here.

use aftercare_kernel::{DateTime, NaiveDate, Utc};
use aftercare_platform::error::Error;
use sqlx::PgConnection;

use crate::domain::CaseType;
use crate::domain::figures::Counts;

/// Which surveys count.
pub struct Filter<'a> {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub case_type: Option<CaseType>,
    /// The answers' channel; surveys sent count whatever it is.
    pub channel: Option<&'a str>,
    pub reason: Option<&'a str>,
}

/// Sent, answered, CSAT 1-5, promoters, passives, detractors; answers only
/// in the filter's channel.
const COUNTS: &str = "count(*) FILTER (WHERE s.status IN ('sent', 'answered')),
    count(*) FILTER (WHERE s.status = 'answered' AND ($4 = '' OR s.answer_channel = $4)),
    count(*) FILTER (WHERE s.csat = 1 AND ($4 = '' OR s.answer_channel = $4)),
    count(*) FILTER (WHERE s.csat = 2 AND ($4 = '' OR s.answer_channel = $4)),
    count(*) FILTER (WHERE s.csat = 3 AND ($4 = '' OR s.answer_channel = $4)),
    count(*) FILTER (WHERE s.csat = 4 AND ($4 = '' OR s.answer_channel = $4)),
    count(*) FILTER (WHERE s.csat = 5 AND ($4 = '' OR s.answer_channel = $4)),
    count(*) FILTER (WHERE s.nps >= 9 AND ($4 = '' OR s.answer_channel = $4)),
    count(*) FILTER (WHERE s.nps BETWEEN 7 AND 8 AND ($4 = '' OR s.answer_channel = $4)),
    count(*) FILTER (WHERE s.nps <= 6 AND ($4 = '' OR s.answer_channel = $4))";

const WHERE: &str = "FROM feedback.surveys s
    WHERE s.created_at >= $1 AND s.created_at < $2
      AND ($3 = '' OR s.case_type = $3)
      AND ($5 = '' OR s.reason = $5)";

type Row = (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64);

fn counts(r: Row) -> Counts {
    Counts {
        sent: r.0,
        answered: r.1,
        csat: [r.2, r.3, r.4, r.5, r.6],
        promoters: r.7,
        passives: r.8,
        detractors: r.9,
    }
}

fn bind<'q, O>(
    q: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    f: &'q Filter<'q>,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
    q.bind(f.from)
        .bind(f.to)
        .bind(f.case_type.map_or("", |c| c.as_str()))
        .bind(f.channel.unwrap_or(""))
        .bind(f.reason.unwrap_or(""))
}

/// The total, the weeks and (when asked) the agents, read in one snapshot
/// so they add up.
pub async fn snapshot(
    pool: &sqlx::PgPool,
    f: &Filter<'_>,
    by_agent: bool,
) -> Result<(Counts, Vec<(NaiveDate, Counts)>, Vec<(String, Counts)>), Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let total = total(&mut tx, f).await?;
    let weeks = weekly(&mut tx, f).await?;
    let agents = if by_agent {
        agents(&mut tx, f).await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    Ok((total, weeks, agents))
}

async fn total(conn: &mut PgConnection, f: &Filter<'_>) -> Result<Counts, Error> {
    let sql = format!("SELECT {COUNTS} {WHERE}");
    let row: Row = bind(sqlx::query_as(&sql), f).fetch_one(conn).await?;
    Ok(counts(row))
}

/// Per week (its Monday, UTC), oldest first.
async fn weekly(conn: &mut PgConnection, f: &Filter<'_>) -> Result<Vec<(NaiveDate, Counts)>, Error> {
    let sql = format!(
        "SELECT (date_trunc('week', s.created_at AT TIME ZONE 'UTC'))::date AS week, {COUNTS} {WHERE}
          GROUP BY 1 ORDER BY 1"
    );
    type WeekRow = (NaiveDate, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64);
    let rows: Vec<WeekRow> = bind(sqlx::query_as(&sql), f).fetch_all(conn).await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.0, counts((r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10))))
        .collect())
}

/// Per agent who handled the case (cases with none left out), by name.
async fn agents(conn: &mut PgConnection, f: &Filter<'_>) -> Result<Vec<(String, Counts)>, Error> {
    let sql = format!("SELECT s.agent, {COUNTS} {WHERE} AND s.agent <> '' GROUP BY 1 ORDER BY 1");
    type AgentRow = (String, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64);
    let rows: Vec<AgentRow> = bind(sqlx::query_as(&sql), f).fetch_all(conn).await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.0, counts((r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10))))
        .collect())
}
