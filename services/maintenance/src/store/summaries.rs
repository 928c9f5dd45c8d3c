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
    // Only what a summary shows, with no join (a schedule keeps its task's
    // name), in the order of `schedules_upcoming_idx`. The first page and
    // the next ones are two statements, so the first's plan is a plain
    // range scan with no cursor to test.
    macro_rules! page {
        ($after:literal) => {
            concat!(
                "SELECT schedule_id, registration_id, customer_id, sku, product_name, task_id, task_name,
                     slot, due_date, last_done_on, next_reminder_at, snoozed_until, dismissed
                 FROM maintenance.schedules
                 WHERE customer_id = $1 AND status = 'active'",
                $after,
                " ORDER BY due_date, schedule_id LIMIT $2"
            )
        };
    }
    let rows: Vec<SummaryRow> = match cursor {
        None => sqlx::query_as(page!("")).bind(customer_id).bind(limit),
        Some(c) => {
            let id = Uuid::parse_str(&c.id).map_err(|_| Error::invalid("page_token", "is not a valid page token"))?;
            sqlx::query_as(page!(" AND (due_date, schedule_id) > ($3, $4)"))
                .bind(customer_id)
                .bind(limit)
                .bind(c.at.date_naive())
                .bind(id)
        }
    }
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(Summary::from_row).collect())
}

/// The columns in the statement's order, decoded by position: a list of
/// 20 rows of 13 columns is the hot path of the app's maintenance screen,
/// and a lookup by name per value costs more than the value.
type SummaryRow = (
    Uuid,
    Uuid,
    String,
    String,
    String,
    String,
    String,
    i32,
    NaiveDate,
    Option<NaiveDate>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    bool,
);

impl Summary {
    fn from_row(r: SummaryRow) -> Summary {
        let (schedule_id, registration_id, customer_id, sku, product_name, task_id, task_name, slot, due_date) =
            (r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8);
        Summary {
            schedule_id: ScheduleId::from_uuid(schedule_id),
            registration_id,
            customer_id,
            sku,
            product_name,
            task_id,
            task_name,
            occurrence: slot,
            due_date,
            last_done_on: r.9,
            next_reminder_at: r.10,
            snoozed_until: r.11,
            dismissed: r.12,
        }
    }
}
