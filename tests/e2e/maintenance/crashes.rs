//! Reminders exactly once across crashes: 10,000 schedules over a
//! simulated year, the job run by three servers, one of them killed (no
//! graceful shutdown, its transactions cut off) and replaced every month.
//! Every reminder due in the year is sent, none twice.

use std::time::{Duration, Instant};

use chrono::{Days, Months, NaiveDate};

use super::*;
use crate::support::TestApp;

const SCHEDULES: i64 = 10_000;

/// The schedules' start dates: spread over 170 days before the first
/// day, so that every first occurrence (six months on) is due at least
/// two weeks into the year and its lead reminder falls inside it.
fn start_of(i: i64, first_day: NaiveDate) -> NaiveDate {
    first_day - Days::new((i % 170) as u64)
}

/// Lead (7 days before), due and overdue (14 days after) of every
/// occurrence, each at 09:00 Istanbul (06:00 UTC; no daylight saving):
/// the reminders sent by `end`.
fn expected(first_day: NaiveDate, end: DateTime<Utc>) -> i64 {
    let mut n = 0;
    for i in 0..SCHEDULES {
        let start = start_of(i, first_day);
        for k in 1.. {
            let due = start.checked_add_months(Months::new(6 * k)).unwrap();
            let days = [due - Days::new(7), due, due + Days::new(14)];
            let sent = days
                .iter()
                .filter(|d| d.and_hms_opt(6, 0, 0).unwrap().and_utc() <= end)
                .count();
            if sent == 0 {
                break;
            }
            n += sent as i64;
        }
    }
    n
}

async fn until_idle(app: &TestApp, now: DateTime<Utc>) {
    let due = format!(
        "SELECT count(*) FROM maintenance.schedules WHERE status = 'active' AND next_reminder_at <= '{}'",
        now.to_rfc3339()
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    while app.count(&due).await > 0 {
        assert!(Instant::now() < deadline, "the servers never caught up at {now}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_year_of_reminders_is_sent_once_by_servers_killed_in_turn() {
    let app = TestApp::spawn().await;
    kitchen_plan(&app).await;
    let first_day: NaiveDate = "2026-03-02".parse().unwrap();
    // Seeded in one statement (the products' registrations are not what
    // is tested): each schedule's next reminder is "now", so the first
    // run of the job plans every one of them.
    sqlx::query(
        "INSERT INTO maintenance.schedules (schedule_id, registration_id, customer_id, sku, product_name,
             plan_category, plan_sku, plan_version, task_id, time_zone, start_date, slot, due_date, status,
             next_reminder_at, created_at, updated_at, task_name)
         SELECT gen_random_uuid(), gen_random_uuid(), 'c-' || (i % 500), 'KETTLE-1', 'Kettle', 'kitchen', '', 1,
             'descale', 'Europe/Istanbul', $1::date - (i % 170), 1,
             (($1::date - (i % 170)) + interval '6 months')::date, 'active', $2, $2, $2, 'Descale'
         FROM generate_series(0, $3::int - 1) AS i",
    )
    .bind(first_day)
    .bind(start_time())
    .bind(SCHEDULES)
    .execute(&app.pool)
    .await
    .unwrap();

    let job_interval = Duration::from_millis(10);
    let mut servers: Vec<_> = (0..3)
        .map(|_| app.spawn_replica(&["maintenance"], job_interval))
        .collect();
    let mut now = start_time();
    until_idle(&app, now).await;
    for day in 1..=365 {
        now = first_day.and_hms_opt(12, 0, 0).unwrap().and_utc() + chrono::Duration::days(day);
        app.clock.set(now);
        if day % 30 == 0 {
            // The oldest server dies while the others (and it) are at work.
            servers.remove(0).kill();
            servers.push(app.spawn_replica(&["maintenance"], job_interval));
        }
        until_idle(&app, now).await;
    }
    drop(servers);

    let want = expected(first_day, now);
    let rows = app.count("SELECT count(*) FROM maintenance.reminders").await;
    let events = app
        .count("SELECT count(*) FROM platform.outbox_events WHERE topic = 'aftercare.maintenance.events.v1.MaintenanceReminderDue'")
        .await;
    assert_eq!((rows, events), (want, want), "every reminder of the year, each once");
    // And each occurrence's three, none missing in the middle: an
    // occurrence whose lead went three weeks before the end has all three.
    let gaps = app
        .count(&format!(
            "SELECT count(*) FROM (SELECT schedule_id, slot FROM maintenance.reminders GROUP BY 1, 2
             HAVING count(*) <> 3 AND min(sent_at) <= '{}'::timestamptz - interval '21 days') g",
            now.to_rfc3339()
        ))
        .await;
    assert_eq!(gaps, 0);
}
