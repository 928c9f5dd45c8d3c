//! Follow-ups, each read with its survey (one statement).

use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::error::Error;
use aftercare_platform::paging::Cursor;
use sqlx::PgConnection;
use uuid::Uuid;

use super::parse;
use super::surveys::{COLUMNS, Row as SurveyRow};
use crate::domain::{FeedbackError, FollowUp, FollowUpId, FollowUpStatus, Survey};

#[derive(sqlx::FromRow)]
struct Row {
    follow_up_id: Uuid,
    f_status: String,
    f_csat: i32,
    f_nps: Option<i32>,
    opened_at: DateTime<Utc>,
    respond_by: DateTime<Utc>,
    breached: bool,
    closed_at: Option<DateTime<Utc>>,
    closed_by: Option<String>,
    note: String,
    goodwill_points: i64,
    #[sqlx(flatten)]
    survey: SurveyRow,
}

impl TryFrom<Row> for FollowUp {
    type Error = FeedbackError;
    fn try_from(r: Row) -> Result<FollowUp, FeedbackError> {
        Ok(FollowUp {
            follow_up_id: FollowUpId::from_uuid(r.follow_up_id),
            survey: Survey::try_from(r.survey)?,
            status: parse(&r.f_status, "follow-up status", FollowUpStatus::parse)?,
            csat: r.f_csat,
            nps: r.f_nps,
            opened_at: r.opened_at,
            respond_by: r.respond_by,
            breached: r.breached,
            closed_at: r.closed_at,
            closed_by: r.closed_by,
            note: r.note,
            goodwill_points: r.goodwill_points,
        })
    }
}

fn select() -> String {
    format!(
        "SELECT f.follow_up_id, f.status AS f_status, f.csat AS f_csat, f.nps AS f_nps, f.opened_at,
                f.respond_by, f.breached, f.closed_at, f.closed_by, f.note, f.goodwill_points, {COLUMNS}
           FROM feedback.follow_ups f JOIN feedback.surveys s ON s.survey_id = f.survey_id"
    )
}

fn all(rows: Vec<Row>) -> Result<Vec<FollowUp>, Error> {
    Ok(rows.into_iter().map(FollowUp::try_from).collect::<Result<_, _>>()?)
}

/// Stores a new follow-up; `false` when its survey has one already.
pub async fn insert(conn: &mut PgConnection, f: &FollowUp) -> Result<bool, Error> {
    let done = sqlx::query(
        "INSERT INTO feedback.follow_ups (follow_up_id, survey_id, customer_id, status, csat, nps, opened_at,
                                          respond_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (survey_id) DO NOTHING",
    )
    .bind(f.follow_up_id.as_uuid())
    .bind(f.survey.survey_id.as_uuid())
    .bind(&f.survey.case.customer_id)
    .bind(f.status.as_str())
    .bind(f.csat)
    .bind(f.nps)
    .bind(f.opened_at)
    .bind(f.respond_by)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get(conn: &mut PgConnection, id: FollowUpId, lock: bool) -> Result<Option<FollowUp>, Error> {
    let sql = format!(
        "{} WHERE f.follow_up_id = $1{}",
        select(),
        if lock { " FOR UPDATE OF f" } else { "" }
    );
    let row: Option<Row> = sqlx::query_as(&sql).bind(id.as_uuid()).fetch_optional(conn).await?;
    Ok(row.map(FollowUp::try_from).transpose()?)
}

/// The follow-up of a survey, if one was opened.
pub async fn of_survey(conn: &mut PgConnection, survey: Uuid) -> Result<Option<FollowUpId>, Error> {
    let id: Option<(Uuid,)> = sqlx::query_as("SELECT follow_up_id FROM feedback.follow_ups WHERE survey_id = $1")
        .bind(survey)
        .fetch_optional(conn)
        .await?;
    Ok(id.map(|(id,)| FollowUpId::from_uuid(id)))
}

pub async fn update(conn: &mut PgConnection, f: &FollowUp) -> Result<(), Error> {
    sqlx::query(
        "UPDATE feedback.follow_ups
            SET status = $2, breached = $3, closed_at = $4, closed_by = $5, note = $6, goodwill_points = $7
          WHERE follow_up_id = $1",
    )
    .bind(f.follow_up_id.as_uuid())
    .bind(f.status.as_str())
    .bind(f.breached)
    .bind(f.closed_at)
    .bind(&f.closed_by)
    .bind(&f.note)
    .bind(f.goodwill_points)
    .execute(conn)
    .await?;
    Ok(())
}

/// Open follow-ups by their target, soonest first; closed ones newest
/// first. The cursor is (respond_by or closed_at, id).
pub async fn list(
    conn: &mut PgConnection,
    status: FollowUpStatus,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<FollowUp>, Error> {
    let after = cursor
        .map(|c| Uuid::parse_str(&c.id))
        .transpose()
        .map_err(|_| Error::invalid("page_token", "not a page token from this query"))?;
    let filter = match status {
        FollowUpStatus::Open => {
            "WHERE f.status = 'open' AND ($1::timestamptz IS NULL OR (f.respond_by, f.follow_up_id) > ($1, $2::uuid))
             ORDER BY f.respond_by, f.follow_up_id"
        }
        FollowUpStatus::Closed => {
            "WHERE f.status = 'closed' AND ($1::timestamptz IS NULL OR (f.closed_at, f.follow_up_id) < ($1, $2::uuid))
             ORDER BY f.closed_at DESC, f.follow_up_id DESC"
        }
    };
    let sql = format!("{} {filter} LIMIT $3", select());
    let found: Vec<Row> = sqlx::query_as(&sql)
        .bind(cursor.map(|c| c.at))
        .bind(after)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    all(found)
}

/// Open follow-ups past their target with no breach raised, locked past
/// other replicas'.
pub async fn breaches_due(conn: &mut PgConnection, now: DateTime<Utc>, limit: i64) -> Result<Vec<FollowUp>, Error> {
    let sql = format!(
        "{} WHERE f.status = 'open' AND NOT f.breached AND f.respond_by <= $1
            ORDER BY f.respond_by LIMIT $2 FOR UPDATE OF f SKIP LOCKED",
        select()
    );
    let found: Vec<Row> = sqlx::query_as(&sql).bind(now).bind(limit).fetch_all(conn).await?;
    all(found)
}
