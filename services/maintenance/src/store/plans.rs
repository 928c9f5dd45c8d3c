//! Plans, one version per write; the newest version of a key is in force.

use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::error::Error;
use sqlx::PgConnection;

use super::parse;
use crate::domain::{Anchor, Interval, MaintenanceError, Plan, ReminderRule, Task, Usage, UsageThreshold};

#[derive(sqlx::FromRow)]
struct TaskRow {
    category: String,
    sku: String,
    version: i32,
    plan_name: String,
    created_at: DateTime<Utc>,
    #[sqlx(flatten)]
    task: TaskColumns,
}

/// A task's columns, also read with a schedule.
#[derive(sqlx::FromRow)]
pub(super) struct TaskColumns {
    task_id: String,
    name: String,
    interval_days: Option<i32>,
    interval_months: Option<i32>,
    anchor: String,
    lead_days: i32,
    overdue_days: i32,
    max_reminders: i32,
    usage_meter: Option<String>,
    usage_every: Option<i64>,
}

impl TryFrom<&TaskColumns> for Task {
    type Error = MaintenanceError;
    fn try_from(r: &TaskColumns) -> Result<Task, MaintenanceError> {
        let interval = match (r.interval_days, r.interval_months) {
            (Some(d), None) => Interval::Days(d.unsigned_abs()),
            (None, Some(m)) => Interval::Months(m.unsigned_abs()),
            _ => {
                return Err(MaintenanceError::Corrupt(format!(
                    "task {} has no one interval",
                    r.task_id
                )));
            }
        };
        Ok(Task {
            task_id: r.task_id.clone(),
            name: r.name.clone(),
            interval,
            anchor: parse(&r.anchor, "anchor", |a| match a {
                "fixed" => Some(Anchor::Fixed),
                "completion" => Some(Anchor::Completion),
                _ => None,
            })?,
            reminders: ReminderRule {
                lead_days: r.lead_days.unsigned_abs(),
                overdue_days: r.overdue_days.unsigned_abs(),
                max_per_occurrence: r.max_reminders.unsigned_abs(),
            },
            usage: r.usage_meter.clone().zip(r.usage_every).map(|(meter, every)| Usage {
                meter,
                threshold: UsageThreshold { every },
            }),
        })
    }
}

const SELECT: &str = "SELECT p.category, p.sku, p.version, p.name AS plan_name, p.created_at, t.task_id, t.name,
        t.interval_days, t.interval_months, t.anchor, t.lead_days, t.overdue_days, t.max_reminders, t.usage_meter,
        t.usage_every
    FROM maintenance.plans p JOIN maintenance.plan_tasks t USING (category, sku, version)";

/// Rows of one or more plans (ordered by plan), grouped back into plans.
fn plans(rows: Vec<TaskRow>) -> Result<Vec<Plan>, Error> {
    let mut out: Vec<Plan> = Vec::new();
    for r in &rows {
        let task = Task::try_from(&r.task)?;
        match out.last_mut() {
            Some(p) if (p.category.as_str(), p.sku.as_str(), p.version) == (&r.category, &r.sku, r.version) => {
                p.tasks.push(task)
            }
            _ => out.push(Plan {
                category: r.category.clone(),
                sku: r.sku.clone(),
                version: r.version,
                name: r.plan_name.clone(),
                tasks: vec![task],
                created_at: r.created_at,
            }),
        }
    }
    Ok(out)
}

/// The plan in force for a product: its SKU's, else its category's, else
/// the default (""); `None` when there is none.
pub async fn in_force(conn: &mut PgConnection, category: &str, sku: &str) -> Result<Option<Plan>, Error> {
    let rows: Vec<TaskRow> = sqlx::query_as(&format!(
        "{SELECT} WHERE (p.category, p.sku, p.version) = (
             SELECT category, sku, version FROM maintenance.plans
             WHERE (category, sku) IN (($1, $2), ('', $2), ($1, ''), ('', ''))
             ORDER BY (sku = $2 AND $2 <> '') DESC, (category = $1 AND $1 <> '') DESC, version DESC
             LIMIT 1)
         ORDER BY t.task_id"
    ))
    .bind(category)
    .bind(sku)
    .fetch_all(&mut *conn)
    .await?;
    Ok(plans(rows)?.pop())
}

/// The newest version of every plan, the default first.
pub async fn all_in_force(conn: &mut PgConnection) -> Result<Vec<Plan>, Error> {
    let rows: Vec<TaskRow> = sqlx::query_as(&format!(
        "{SELECT} WHERE (p.category, p.sku, p.version) IN (
             SELECT category, sku, max(version) FROM maintenance.plans GROUP BY category, sku)
         ORDER BY p.category, p.sku, t.task_id"
    ))
    .fetch_all(&mut *conn)
    .await?;
    plans(rows)
}

/// Writes the next version of the plan's key with its tasks; concurrent
/// writes serialize on a transaction lock, so versions never collide.
pub async fn insert_next(conn: &mut PgConnection, p: &Plan, now: DateTime<Utc>) -> Result<i32, Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('maintenance.plans'))")
        .execute(&mut *conn)
        .await?;
    let version: i32 = sqlx::query_scalar(
        "INSERT INTO maintenance.plans (category, sku, version, name, created_at)
         SELECT $1, $2, COALESCE(max(version), 0) + 1, $3, $4 FROM maintenance.plans WHERE category = $1 AND sku = $2
         RETURNING version",
    )
    .bind(&p.category)
    .bind(&p.sku)
    .bind(&p.name)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let (days, months): (Vec<Option<i32>>, Vec<Option<i32>>) = p
        .tasks
        .iter()
        .map(|t| match t.interval {
            Interval::Days(d) => (Some(d as i32), None),
            Interval::Months(m) => (None, Some(m as i32)),
        })
        .unzip();
    let ids: Vec<&str> = p.tasks.iter().map(|t| t.task_id.as_str()).collect();
    let names: Vec<&str> = p.tasks.iter().map(|t| t.name.as_str()).collect();
    let anchors: Vec<&str> = p
        .tasks
        .iter()
        .map(|t| match t.anchor {
            Anchor::Fixed => "fixed",
            Anchor::Completion => "completion",
        })
        .collect();
    let rule = |f: fn(&ReminderRule) -> u32| -> Vec<i32> { p.tasks.iter().map(|t| f(&t.reminders) as i32).collect() };
    let meters: Vec<Option<&str>> = p
        .tasks
        .iter()
        .map(|t| t.usage.as_ref().map(|u| u.meter.as_str()))
        .collect();
    let every: Vec<Option<i64>> = p
        .tasks
        .iter()
        .map(|t| t.usage.as_ref().map(|u| u.threshold.every))
        .collect();
    sqlx::query(
        "INSERT INTO maintenance.plan_tasks (category, sku, version, task_id, name, interval_days, interval_months,
             anchor, lead_days, overdue_days, max_reminders, usage_meter, usage_every)
         SELECT $1, $2, $3, t.* FROM UNNEST($4::text[], $5::text[], $6::int[], $7::int[], $8::text[], $9::int[],
             $10::int[], $11::int[], $12::text[], $13::bigint[]) AS t",
    )
    .bind(&p.category)
    .bind(&p.sku)
    .bind(version)
    .bind(ids)
    .bind(names)
    .bind(days)
    .bind(months)
    .bind(anchors)
    .bind(rule(|r| r.lead_days))
    .bind(rule(|r| r.overdue_days))
    .bind(rule(|r| r.max_per_occurrence))
    .bind(meters)
    .bind(every)
    .execute(&mut *conn)
    .await?;
    Ok(version)
}
