//! MaintenanceService end to end, on helpers shared here:
//! - [`schedules`] — products scheduled from warranty's registrations,
//!   reminders at the customer's local morning and each sent once (also by
//!   three servers), completion, opt-out, hostile plans;
//! - [`crashes`] — a simulated year of 10,000 schedules on three servers
//!   killed in turn: every reminder once;
//! - [`access`] — every role against every RPC, a hostile request to each;
//! - [`controls`] — snooze, dismiss, skip, muting, the daily cap;
//! - [`usage`] — meter readings and usage thresholds;
//! - [`appointments`] — centres' slots, booking races, moving, canceling,
//!   the visit's reminder and outcome, who may see what.

mod access;
mod appointments;
mod centres;
mod claim_visits;
mod controls;
mod crashes;
mod notifier;
mod schedules;
mod usage;

use aftercare_platform::auth::Role;
use aftercare_proto::maintenance::*;
use aftercare_proto::orders::RecordDeliveryRequest;
use chrono::{DateTime, Utc};

use crate::fixtures::{order, ts};
use crate::support::{Maintenance, TestApp, start_time};

const CUSTOMER: &str = "c-1";

fn customer(app: &TestApp) -> Maintenance {
    app.maintenance(Role::Customer, CUSTOMER)
}

fn descale() -> MaintenanceTask {
    MaintenanceTask {
        task_id: "descale".into(),
        name: "Descale".into(),
        interval_days: 0,
        interval_months: 6,
        anchor: "fixed".into(),
        lead_days: 7,
        overdue_days: 14,
        max_reminders: 3,
        ..Default::default()
    }
}

/// Every kitchen product: descale every 6 months.
async fn kitchen_plan(app: &TestApp) -> MaintenancePlan {
    app.maintenance(Role::Admin, "admin-1")
        .upsert_plan(UpsertPlanRequest {
            plan: Some(MaintenancePlan {
                category: "kitchen".into(),
                name: "Kitchen care".into(),
                tasks: vec![descale()],
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
}

/// Records `order_id` of c-1 (four kitchen units) delivered at the start,
/// and waits until warranty registered them and maintenance scheduled them.
async fn delivered(app: &TestApp, order_id: &str) {
    let mut orders = app.storefront();
    orders.record_order(order(order_id, CUSTOMER)).await.unwrap();
    orders
        .record_delivery(RecordDeliveryRequest {
            order_id: order_id.into(),
            line_ids: vec![],
            delivered_at: ts(start_time()),
        })
        .await
        .unwrap();
    app.settle().await;
}

/// The customer's schedules as listed, each checked to be what
/// GetSchedule says of it (the list reads a narrower row of its own), and
/// the list walked three at a time checked to be the list in one page
/// (the first page and the next ones are different statements).
async fn schedules(app: &TestApp) -> Vec<Schedule> {
    let mut c = customer(app);
    let page = |page_size, page_token| ListSchedulesRequest {
        customer_id: CUSTOMER.into(),
        page_size,
        page_token,
    };
    let listed = c.list_schedules(page(100, String::new())).await.unwrap().into_inner();
    assert_eq!(listed.next_page_token, "", "one page holds them all");
    let listed = listed.schedules;
    let (mut walked, mut token) = (Vec::new(), String::new());
    for _ in 0..=listed.len() {
        let p = c.list_schedules(page(3, token)).await.unwrap().into_inner();
        assert!(p.schedules.len() <= 3);
        walked.extend(p.schedules);
        token = p.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(token, "", "the pages end");
    assert_eq!(walked, listed, "pages of three are the list, in its order");
    let order: Vec<_> = listed
        .iter()
        .map(|s| (s.due_date.clone(), s.schedule_id.clone()))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "soonest due first: {order:?}");
    for s in &listed {
        let got = c
            .get_schedule(GetScheduleRequest {
                schedule_id: s.schedule_id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(&got, s, "listed as it is");
    }
    listed
}

/// The reminder events sent, as (schedule, kind).
async fn reminders(app: &TestApp) -> Vec<(String, String)> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT s.schedule_id::text, r.kind FROM maintenance.reminders r JOIN maintenance.schedules s
         USING (schedule_id) ORDER BY r.sent_at, s.schedule_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let events = app
        .count("SELECT count(*) FROM platform.outbox_events WHERE topic = 'aftercare.maintenance.events.v1.MaintenanceReminderDue'")
        .await;
    assert_eq!(events, rows.len() as i64, "one event per reminder recorded");
    rows
}

async fn preferences(app: &TestApp) -> Preferences {
    customer(app)
        .get_preferences(GetPreferencesRequest {
            customer_id: CUSTOMER.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// Saves c-1's preferences as `change` leaves them, from the app.
async fn change_preferences(app: &TestApp, change: impl FnOnce(&mut Preferences)) {
    let mut prefs = preferences(app).await;
    change(&mut prefs);
    customer(app)
        .update_preferences(UpdatePreferencesRequest {
            preferences: Some(prefs),
            source: "app".into(),
        })
        .await
        .unwrap();
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// The events of type `M` written so far, in order.
async fn events_of<M: prost::Message + prost::Name + Default>(app: &TestApp) -> Vec<M> {
    let payloads: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT payload FROM platform.outbox_events WHERE topic = $1 ORDER BY seq")
            .bind(M::full_name())
            .fetch_all(&app.pool)
            .await
            .unwrap();
    payloads.iter().map(|p| M::decode(p.as_slice()).unwrap()).collect()
}
