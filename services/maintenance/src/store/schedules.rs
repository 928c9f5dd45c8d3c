//! Schedules with their task, the reminders sent, and services recorded.

use aftercare_kernel::zone;
use aftercare_kernel::{DateTime, NaiveDate, Utc};
use aftercare_platform::auth::Caller;
use aftercare_platform::error::Error;
use sqlx::PgConnection;
use uuid::Uuid;

use super::parse;
use super::preferences::Preferences;
use crate::domain::{MaintenanceError, ReminderId, ReminderKind, Schedule, ScheduleId, Task};

#[derive(sqlx::FromRow)]
struct Row {
    schedule_id: Uuid,
    registration_id: Uuid,
    customer_id: String,
    sku: String,
    product_name: String,
    plan_category: String,
    plan_sku: String,
    plan_version: i32,
    time_zone: String,
    start_date: NaiveDate,
    slot: i32,
    due_date: NaiveDate,
    last_done_on: Option<NaiveDate>,
    next_reminder_at: Option<DateTime<Utc>>,
    snoozed_until: Option<DateTime<Utc>>,
    snoozes: i32,
    dismissed: bool,
    usage_base: Option<i64>,
    status: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[sqlx(flatten)]
    task: super::plans::TaskColumns,
}

impl TryFrom<Row> for Schedule {
    type Error = MaintenanceError;
    fn try_from(r: Row) -> Result<Schedule, MaintenanceError> {
        Ok(Schedule {
            task: Task::try_from(&r.task)?,
            schedule_id: ScheduleId::from_uuid(r.schedule_id),
            registration_id: r.registration_id,
            customer_id: r.customer_id,
            sku: r.sku,
            product_name: r.product_name,
            plan: (r.plan_category, r.plan_sku, r.plan_version),
            time_zone: parse(&r.time_zone, "time zone", zone::parse)?,
            start_date: r.start_date,
            slot: r.slot,
            due_date: r.due_date,
            last_done_on: r.last_done_on,
            next_reminder_at: r.next_reminder_at,
            snoozed_until: r.snoozed_until,
            snoozes: r.snoozes,
            dismissed: r.dismissed,
            usage_base: r.usage_base,
            active: r.status == "active",
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// A schedule's columns with its task's; [`SELECT`] reads them, and
/// [`SELECT_WITH_PREFERENCES`] its customer's preferences too.
macro_rules! columns {
    () => {
        "SELECT s.schedule_id, s.registration_id, s.customer_id, s.sku, s.product_name,
            s.plan_category, s.plan_sku, s.plan_version, s.time_zone, s.start_date, s.slot, s.due_date,
            s.last_done_on, s.next_reminder_at, s.snoozed_until, s.snoozes, s.dismissed, s.usage_base, s.status,
            s.created_at, s.updated_at, t.task_id, t.name, t.interval_days,
            t.interval_months, t.anchor, t.lead_days, t.overdue_days, t.max_reminders, t.usage_meter, t.usage_every"
    };
}
macro_rules! from {
    () => {
        " FROM maintenance.schedules s
        JOIN maintenance.plan_tasks t
            ON (t.category, t.sku, t.version, t.task_id) = (s.plan_category, s.plan_sku, s.plan_version, s.task_id)"
    };
}
const SELECT: &str = concat!(columns!(), from!());
const SELECT_WITH_PREFERENCES: &str = concat!(
    columns!(),
    ", (SELECT row_to_json(p) FROM maintenance.preferences p WHERE p.customer_id = s.customer_id) AS preferences",
    from!()
);

/// Writes new schedules; one a product has for its task already is left
/// as it is (a registration delivered twice schedules once). The ones
/// written.
pub async fn insert_new(conn: &mut PgConnection, schedules: &[Schedule]) -> Result<Vec<ScheduleId>, Error> {
    let mut written = Vec::new();
    for s in schedules {
        let id: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO maintenance.schedules (schedule_id, registration_id, customer_id, sku, product_name,
                 plan_category, plan_sku, plan_version, task_id, time_zone, start_date, slot, due_date, status,
                 next_reminder_at, created_at, updated_at, last_done_on, usage_base, task_name)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'active', $14, $15, $15, $16, $17, $18)
             ON CONFLICT (registration_id, task_id) DO NOTHING
             RETURNING schedule_id",
        )
        .bind(s.schedule_id.as_uuid())
        .bind(s.registration_id)
        .bind(&s.customer_id)
        .bind(&s.sku)
        .bind(&s.product_name)
        .bind(&s.plan.0)
        .bind(&s.plan.1)
        .bind(s.plan.2)
        .bind(&s.task.task_id)
        .bind(s.time_zone.name())
        .bind(s.start_date)
        .bind(s.slot)
        .bind(s.due_date)
        .bind(s.next_reminder_at)
        .bind(s.created_at)
        .bind(s.last_done_on)
        .bind(s.usage_base)
        .bind(&s.task.name)
        .fetch_optional(&mut *conn)
        .await?;
        written.extend(id.map(ScheduleId::from_uuid));
    }
    Ok(written)
}

pub async fn get(conn: &mut PgConnection, id: ScheduleId, lock: bool) -> Result<Option<Schedule>, Error> {
    let lock = if lock { " FOR UPDATE OF s" } else { "" };
    let row: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE s.schedule_id = $1{lock}"))
        .bind(id.as_uuid())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(Schedule::try_from).transpose()?)
}

#[derive(sqlx::FromRow)]
struct WithPreferences {
    #[sqlx(flatten)]
    schedule: Row,
    preferences: Option<sqlx::types::Json<super::preferences::Row>>,
}

/// [`get`], with its customer's preferences (the defaults when they saved
/// none) in the same statement.
pub async fn get_with_preferences(
    conn: &mut PgConnection,
    id: ScheduleId,
    lock: bool,
) -> Result<Option<(Schedule, Preferences)>, Error> {
    let lock = if lock { " FOR UPDATE OF s" } else { "" };
    let row: Option<WithPreferences> =
        sqlx::query_as(&format!("{SELECT_WITH_PREFERENCES} WHERE s.schedule_id = $1{lock}"))
            .bind(id.as_uuid())
            .fetch_optional(&mut *conn)
            .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let schedule = Schedule::try_from(row.schedule)?;
    let preferences = match row.preferences {
        Some(p) => Preferences::try_from(p.0)?,
        None => Preferences::defaults(&schedule.customer_id),
    };
    Ok(Some((schedule, preferences)))
}

/// Every active schedule of a customer, locked (their reminders move with
/// the customer's preferences).
pub async fn of_customer(conn: &mut PgConnection, customer_id: &str) -> Result<Vec<Schedule>, Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT} WHERE s.customer_id = $1 AND s.status = 'active' ORDER BY s.schedule_id FOR UPDATE OF s"
    ))
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| Schedule::try_from(r).map_err(Error::from))
        .collect()
}

/// A schedule the reminder job claimed, with the kinds of reminder its
/// occurrence had; or its id, when its stored row cannot be read.
pub type Due = Result<(Schedule, Vec<ReminderKind>), ScheduleId>;

/// Schedules whose next reminder is due by `now`, soonest first, claimed
/// for this transaction (another server skips them), each with the
/// reminders its occurrence had. The claim returns the rows as they are
/// once locked (a change committed meanwhile, a dismissal or a completion,
/// is what the job sees), and the reminders are read after it.
pub async fn claim_due(conn: &mut PgConnection, now: DateTime<Utc>, limit: i64) -> Result<Vec<Due>, Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT} WHERE s.next_reminder_at <= $1 AND s.status = 'active'
         ORDER BY s.next_reminder_at LIMIT $2 FOR UPDATE OF s SKIP LOCKED",
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.schedule_id).collect();
    let slots: Vec<i32> = rows.iter().map(|r| r.slot).collect();
    let sent: Vec<(Uuid, i32, String)> = sqlx::query_as(
        "SELECT r.schedule_id, r.slot, r.kind FROM maintenance.reminders r
         WHERE (r.schedule_id, r.slot) IN (SELECT * FROM UNNEST($1::uuid[], $2::int[]))",
    )
    .bind(&ids)
    .bind(&slots)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let id = ScheduleId::from_uuid(r.schedule_id);
            let kinds: Option<Vec<ReminderKind>> = sent
                .iter()
                .filter(|(s, slot, _)| *s == r.schedule_id && *slot == r.slot)
                .map(|(.., k)| ReminderKind::parse(k))
                .collect();
            match (Schedule::try_from(r), kinds) {
                (Ok(s), Some(kinds)) => Ok((s, kinds)),
                _ => Err(id),
            }
        })
        .collect())
}

/// Whether an occurrence was recorded done or skipped.
pub async fn occurrence_closed(conn: &mut PgConnection, id: ScheduleId, slot: i32) -> Result<bool, Error> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM maintenance.services WHERE schedule_id = $1 AND slot = $2)")
            .bind(id.as_uuid())
            .bind(slot)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// Puts schedules' next reminders off until `at` (after a failure).
pub async fn put_off(conn: &mut PgConnection, ids: &[ScheduleId], at: DateTime<Utc>) -> Result<(), Error> {
    let ids: Vec<Uuid> = ids.iter().map(|i| i.as_uuid()).collect();
    sqlx::query("UPDATE maintenance.schedules SET next_reminder_at = $2 WHERE schedule_id = ANY($1)")
        .bind(ids)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records reminders as sent, in one statement: the ids of those written
/// (one sent before for its occurrence and kind is not written again).
pub async fn insert_reminders(
    conn: &mut PgConnection,
    sent: &[(ReminderId, &Schedule, ReminderKind)],
    now: DateTime<Utc>,
) -> Result<Vec<ReminderId>, Error> {
    let ids: Vec<Uuid> = sent.iter().map(|(id, ..)| id.as_uuid()).collect();
    let schedules: Vec<Uuid> = sent.iter().map(|(_, s, _)| s.schedule_id.as_uuid()).collect();
    let slots: Vec<i32> = sent.iter().map(|(_, s, _)| s.slot).collect();
    let kinds: Vec<&str> = sent.iter().map(|(.., k)| k.as_str()).collect();
    let due: Vec<NaiveDate> = sent.iter().map(|(_, s, _)| s.due_date).collect();
    let written: Vec<Uuid> = sqlx::query_scalar(
        "INSERT INTO maintenance.reminders (reminder_id, schedule_id, slot, kind, due_date, sent_at)
         SELECT r.*, $6 FROM UNNEST($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::date[]) AS r
         ON CONFLICT (schedule_id, slot, kind) DO NOTHING
         RETURNING reminder_id",
    )
    .bind(ids)
    .bind(schedules)
    .bind(slots)
    .bind(kinds)
    .bind(due)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    Ok(written.into_iter().map(ReminderId::from_uuid).collect())
}

/// [`update`] of many schedules in one statement.
pub async fn update_many(conn: &mut PgConnection, schedules: &[Schedule]) -> Result<(), Error> {
    let ids: Vec<Uuid> = schedules.iter().map(|s| s.schedule_id.as_uuid()).collect();
    let slots: Vec<i32> = schedules.iter().map(|s| s.slot).collect();
    let due: Vec<NaiveDate> = schedules.iter().map(|s| s.due_date).collect();
    let next: Vec<Option<DateTime<Utc>>> = schedules.iter().map(|s| s.next_reminder_at).collect();
    let snoozed: Vec<Option<DateTime<Utc>>> = schedules.iter().map(|s| s.snoozed_until).collect();
    let snoozes: Vec<i32> = schedules.iter().map(|s| s.snoozes).collect();
    let dismissed: Vec<bool> = schedules.iter().map(|s| s.dismissed).collect();
    let updated: Vec<DateTime<Utc>> = schedules.iter().map(|s| s.updated_at).collect();
    sqlx::query(
        "UPDATE maintenance.schedules s SET slot = u.slot, due_date = u.due_date, next_reminder_at = u.next,
             snoozed_until = u.snoozed_until, snoozes = u.snoozes, dismissed = u.dismissed, updated_at = u.updated_at
         FROM UNNEST($1::uuid[], $2::int[], $3::date[], $4::timestamptz[], $5::timestamptz[], $6::int[],
                     $7::bool[], $8::timestamptz[])
             AS u (id, slot, due_date, next, snoozed_until, snoozes, dismissed, updated_at)
         WHERE s.schedule_id = u.id",
    )
    .bind(ids)
    .bind(slots)
    .bind(due)
    .bind(next)
    .bind(snoozed)
    .bind(snoozes)
    .bind(dismissed)
    .bind(updated)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The kinds of reminder sent for an occurrence.
pub async fn sent(conn: &mut PgConnection, id: ScheduleId, slot: i32) -> Result<Vec<ReminderKind>, Error> {
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM maintenance.reminders WHERE schedule_id = $1 AND slot = $2")
            .bind(id.as_uuid())
            .bind(slot)
            .fetch_all(&mut *conn)
            .await?;
    Ok(kinds
        .iter()
        .map(|k| parse(k, "reminder kind", ReminderKind::parse))
        .collect::<Result<_, _>>()?)
}

/// Writes what moves: the occurrence, its due date, the last service and
/// the next reminder.
pub async fn update(conn: &mut PgConnection, s: &Schedule) -> Result<(), Error> {
    sqlx::query(
        "UPDATE maintenance.schedules SET slot = $2, due_date = $3, last_done_on = $4, next_reminder_at = $5,
             updated_at = $6, snoozed_until = $7, snoozes = $8, dismissed = $9, usage_base = $10
         WHERE schedule_id = $1",
    )
    .bind(s.schedule_id.as_uuid())
    .bind(s.slot)
    .bind(s.due_date)
    .bind(s.last_done_on)
    .bind(s.next_reminder_at)
    .bind(s.updated_at)
    .bind(s.snoozed_until)
    .bind(s.snoozes)
    .bind(s.dismissed)
    .bind(s.usage_base)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records an occurrence done (once per occurrence).
pub async fn record_service(
    conn: &mut PgConnection,
    s: &Schedule,
    slot: i32,
    done_on: NaiveDate,
    by: &Caller,
    notes: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO maintenance.services (schedule_id, slot, done_on, by_role, by_subject, notes, recorded_at)
         VALUES ($1, $2, $3, $4, $7, $5, $6)",
    )
    .bind(s.schedule_id.as_uuid())
    .bind(slot)
    .bind(done_on)
    .bind(by.role.as_str())
    .bind(notes)
    .bind(now)
    .bind(&by.subject)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Ends a replaced unit's schedules; them as they were.
pub async fn end_for(conn: &mut PgConnection, registration: Uuid, now: DateTime<Utc>) -> Result<Vec<Schedule>, Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT} WHERE s.registration_id = $1 AND s.status = 'active' FOR UPDATE OF s"
    ))
    .bind(registration)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE maintenance.schedules SET status = 'ended', next_reminder_at = NULL, updated_at = $2
         WHERE registration_id = $1 AND status = 'active'",
    )
    .bind(registration)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| Schedule::try_from(r).map_err(Error::from))
        .collect()
}

/// The schedule and occurrence a reminder was sent for.
pub async fn reminder(conn: &mut PgConnection, id: ReminderId) -> Result<Option<(ScheduleId, i32)>, Error> {
    let row: Option<(Uuid, i32)> =
        sqlx::query_as("SELECT schedule_id, slot FROM maintenance.reminders WHERE reminder_id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(|(s, slot)| (ScheduleId::from_uuid(s), slot)))
}

/// Records an occurrence skipped (on its due date, without the work).
pub async fn record_skip(
    conn: &mut PgConnection,
    id: ScheduleId,
    slot: i32,
    due: NaiveDate,
    by: &Caller,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO maintenance.services (schedule_id, slot, done_on, by_role, by_subject, notes, recorded_at, skipped)
         VALUES ($1, $2, $3, $4, $5, '', $6, true)",
    )
    .bind(id.as_uuid())
    .bind(slot)
    .bind(due)
    .bind(by.role.as_str())
    .bind(&by.subject)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The active schedules of a registered product, locked.
pub async fn of_product(conn: &mut PgConnection, registration: Uuid) -> Result<Vec<Schedule>, Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT} WHERE s.registration_id = $1 AND s.status = 'active' ORDER BY s.schedule_id FOR UPDATE OF s"
    ))
    .bind(registration)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| Schedule::try_from(r).map_err(Error::from))
        .collect()
}
