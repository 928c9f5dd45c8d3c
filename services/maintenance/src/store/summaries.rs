//! A customer's upcoming maintenance as their app lists it: summaries,
//! soonest due first, a page at a time.

use aftercare_kernel::{DateTime, NaiveDate, Utc};
use aftercare_platform::error::Error;
use aftercare_platform::paging::Cursor;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::{ScheduleId, Summary};

/// A customer's active schedules, soonest due first, after `cursor`.
pub async fn list(
    conn: &mut PgConnection,
    customer_id: &str,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<Summary>, Error> {
    let (due, id) = match cursor {
        Some(c) => (
            Some(c.at.date_naive()),
            Some(Uuid::parse_str(&c.id).map_err(|_| Error::invalid("page_token", "is not a valid page token"))?),
        ),
        None => (None, None),
    };
    // Only what a summary shows: a page is many rows, and each column
    // read is decoded and copied.
    let rows: Vec<SummaryRow> = sqlx::query_as(
        "SELECT s.schedule_id, s.registration_id, s.customer_id, s.sku, s.product_name, s.task_id, t.name,
             s.slot, s.due_date, s.last_done_on, s.next_reminder_at, s.snoozed_until, s.dismissed
         FROM maintenance.schedules s
         JOIN maintenance.plan_tasks t
             ON (t.category, t.sku, t.version, t.task_id) = (s.plan_category, s.plan_sku, s.plan_version, s.task_id)
         WHERE s.customer_id = $1 AND s.status = 'active'
           AND ($2::date IS NULL OR (s.due_date, s.schedule_id) > ($2, $3))
         ORDER BY s.due_date, s.schedule_id LIMIT $4",
    )
    .bind(customer_id)
    .bind(due)
    .bind(id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(Summary::from).collect())
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    schedule_id: Uuid,
    registration_id: Uuid,
    customer_id: String,
    sku: String,
    product_name: String,
    task_id: String,
    name: String,
    slot: i32,
    due_date: NaiveDate,
    last_done_on: Option<NaiveDate>,
    next_reminder_at: Option<DateTime<Utc>>,
    snoozed_until: Option<DateTime<Utc>>,
    dismissed: bool,
}

impl From<SummaryRow> for Summary {
    fn from(r: SummaryRow) -> Summary {
        Summary {
            schedule_id: ScheduleId::from_uuid(r.schedule_id),
            registration_id: r.registration_id,
            customer_id: r.customer_id,
            sku: r.sku,
            product_name: r.product_name,
            task_id: r.task_id,
            task_name: r.name,
            occurrence: r.slot,
            due_date: r.due_date,
            last_done_on: r.last_done_on,
            next_reminder_at: r.next_reminder_at,
            snoozed_until: r.snoozed_until,
            dismissed: r.dismissed,
        }
    }
}
