//! Surveys and their answers.

use aftercare_kernel::channel::Channel;
use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::error::Error;
use aftercare_platform::paging::Cursor;
use sqlx::PgConnection;
use uuid::Uuid;

use super::parse;
use crate::domain::{Answer, Case, CaseType, FeedbackError, Suppressed, Survey, SurveyId, SurveyStatus};

pub(super) const COLUMNS: &str = "s.survey_id, s.customer_id, s.case_type, s.case_id, s.reason, s.agent, s.status,
    s.suppressed_reason, s.created_at, s.send_at, s.sent_at, s.expires_at, s.csat, s.nps, s.comment,
    s.comment_deleted, s.answer_channel, s.answered_at, s.answer_updated_at";

#[derive(sqlx::FromRow)]
pub(super) struct Row {
    survey_id: Uuid,
    customer_id: String,
    case_type: String,
    case_id: String,
    reason: String,
    agent: String,
    status: String,
    suppressed_reason: Option<String>,
    created_at: DateTime<Utc>,
    send_at: Option<DateTime<Utc>>,
    sent_at: Option<DateTime<Utc>>,
    expires_at: DateTime<Utc>,
    csat: Option<i32>,
    nps: Option<i32>,
    comment: String,
    comment_deleted: bool,
    answer_channel: String,
    answered_at: Option<DateTime<Utc>>,
    answer_updated_at: Option<DateTime<Utc>>,
}

impl TryFrom<Row> for Survey {
    type Error = FeedbackError;
    fn try_from(r: Row) -> Result<Survey, FeedbackError> {
        let answer = match (r.csat, r.answered_at) {
            (Some(csat), Some(answered_at)) => Some(Answer {
                csat,
                nps: r.nps,
                comment: r.comment,
                comment_deleted: r.comment_deleted,
                channel: match r.answer_channel.as_str() {
                    "" => None,
                    c => Some(parse(c, "channel", Channel::parse)?),
                },
                answered_at,
                updated_at: r.answer_updated_at.unwrap_or(answered_at),
            }),
            _ => None,
        };
        Ok(Survey {
            survey_id: SurveyId::from_uuid(r.survey_id),
            case: Case {
                customer_id: r.customer_id,
                case_type: parse(&r.case_type, "case type", CaseType::parse)?,
                case_id: r.case_id,
                reason: r.reason,
                agent: r.agent,
            },
            status: parse(&r.status, "survey status", SurveyStatus::parse)?,
            suppressed: r
                .suppressed_reason
                .map(|s| parse(&s, "suppressed reason", Suppressed::parse))
                .transpose()?,
            created_at: r.created_at,
            send_at: r.send_at,
            sent_at: r.sent_at,
            expires_at: r.expires_at,
            answer,
        })
    }
}

fn rows(rows: Vec<Row>) -> Result<Vec<Survey>, Error> {
    Ok(rows.into_iter().map(Survey::try_from).collect::<Result<_, _>>()?)
}

/// Stores a new survey; `false` when its case has one already (a repeated
/// event), which is left as it is.
pub async fn insert(conn: &mut PgConnection, s: &Survey) -> Result<bool, Error> {
    let done = sqlx::query(
        "INSERT INTO feedback.surveys (survey_id, customer_id, case_type, case_id, reason, agent, status,
                                       suppressed_reason, created_at, send_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (case_type, case_id) DO NOTHING",
    )
    .bind(s.survey_id.as_uuid())
    .bind(&s.case.customer_id)
    .bind(s.case.case_type.as_str())
    .bind(&s.case.case_id)
    .bind(&s.case.reason)
    .bind(&s.case.agent)
    .bind(s.status.as_str())
    .bind(s.suppressed.map(|r| r.as_str()))
    .bind(s.created_at)
    .bind(s.send_at)
    .bind(s.expires_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether the case has a survey already.
pub async fn exists_for(conn: &mut PgConnection, case_type: CaseType, case_id: &str) -> Result<bool, Error> {
    let (exists,): (bool,) =
        sqlx::query_as("SELECT EXISTS (SELECT 1 FROM feedback.surveys WHERE case_type = $1 AND case_id = $2)")
            .bind(case_type.as_str())
            .bind(case_id)
            .fetch_one(conn)
            .await?;
    Ok(exists)
}

pub async fn get(conn: &mut PgConnection, id: SurveyId, lock: bool) -> Result<Option<Survey>, Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM feedback.surveys s WHERE s.survey_id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let row: Option<Row> = sqlx::query_as(&sql).bind(id.as_uuid()).fetch_optional(conn).await?;
    Ok(row.map(Survey::try_from).transpose()?)
}

/// Writes a survey's status and answer.
pub async fn update(conn: &mut PgConnection, s: &Survey) -> Result<(), Error> {
    let a = s.answer.as_ref();
    sqlx::query(
        "UPDATE feedback.surveys
            SET status = $2, sent_at = $3, csat = $4, nps = $5, comment = $6, comment_deleted = $7,
                answer_channel = $8, answered_at = $9, answer_updated_at = $10
          WHERE survey_id = $1",
    )
    .bind(s.survey_id.as_uuid())
    .bind(s.status.as_str())
    .bind(s.sent_at)
    .bind(a.map(|a| a.csat))
    .bind(a.and_then(|a| a.nps))
    .bind(a.map_or("", |a| a.comment.as_str()))
    .bind(a.is_some_and(|a| a.comment_deleted))
    .bind(a.and_then(|a| a.channel).map_or("", |c| c.as_str()))
    .bind(a.map(|a| a.answered_at))
    .bind(a.map(|a| a.updated_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// A customer's surveys, newest first, after `cursor`.
pub async fn of_customer(
    conn: &mut PgConnection,
    customer_id: &str,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<Survey>, Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM feedback.surveys s
          WHERE s.customer_id = $1
            AND ($2::timestamptz IS NULL OR (s.created_at, s.survey_id) < ($2, $3::uuid))
          ORDER BY s.created_at DESC, s.survey_id DESC
          LIMIT $4"
    );
    let after = cursor
        .map(|c| Uuid::parse_str(&c.id))
        .transpose()
        .map_err(|_| Error::invalid("page_token", "not a page token from this query"))?;
    let found: Vec<Row> = sqlx::query_as(&sql)
        .bind(customer_id)
        .bind(cursor.map(|c| c.at))
        .bind(after)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows(found)
}

/// Scheduled surveys whose moment has come, locked past other replicas'.
pub async fn due(conn: &mut PgConnection, now: DateTime<Utc>, limit: i64) -> Result<Vec<Survey>, Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM feedback.surveys s
          WHERE s.status = 'scheduled' AND s.send_at <= $1
          ORDER BY s.send_at
          LIMIT $2
          FOR UPDATE SKIP LOCKED"
    );
    let found: Vec<Row> = sqlx::query_as(&sql).bind(now).bind(limit).fetch_all(conn).await?;
    rows(found)
}

/// A sent survey whose message could not go out yet, scheduled again for
/// `send_at` (the send job requests it anew then).
pub async fn unsend(conn: &mut PgConnection, id: SurveyId, send_at: DateTime<Utc>) -> Result<(), Error> {
    sqlx::query(
        "UPDATE feedback.surveys SET status = 'scheduled', send_at = $2, sent_at = NULL
          WHERE survey_id = $1 AND status = 'sent'",
    )
    .bind(id.as_uuid())
    .bind(send_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves a scheduled survey to its new moment.
pub async fn reschedule(conn: &mut PgConnection, s: &Survey) -> Result<(), Error> {
    sqlx::query("UPDATE feedback.surveys SET send_at = $2 WHERE survey_id = $1 AND status = 'scheduled'")
        .bind(s.survey_id.as_uuid())
        .bind(s.send_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks a survey that was never sent as held back.
pub async fn suppress(conn: &mut PgConnection, s: &Survey) -> Result<(), Error> {
    sqlx::query("UPDATE feedback.surveys SET status = 'suppressed', suppressed_reason = $2 WHERE survey_id = $1")
        .bind(s.survey_id.as_uuid())
        .bind(s.suppressed.map(|r| r.as_str()))
        .execute(conn)
        .await?;
    Ok(())
}
