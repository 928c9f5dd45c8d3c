//! Every list query has an index for its filter and its order: with
//! sequential scans disabled, no plan of a returns listing reads the whole
//! table.

use aftercare_returns::domain::{Reason as DomainReason, ReturnFilter, Status as DomainStatus};
use aftercare_returns::store::returns::list_sql;

use super::*;

#[tokio::test]
async fn every_listing_of_returns_uses_an_index() {
    let app = TestApp::spawn().await;
    let mut conn = app.pool.acquire().await.unwrap();
    sqlx::query("SET enable_seqscan = off")
        .execute(&mut *conn)
        .await
        .unwrap();
    let some = || Some(String::from("x"));
    let filters = [
        ("staff, unfiltered", ReturnFilter::default()),
        (
            "a customer's",
            ReturnFilter {
                customer_id: some(),
                ..Default::default()
            },
        ),
        (
            "a status queue",
            ReturnFilter {
                status: Some(DomainStatus::Requested),
                oldest_first: true,
                ..Default::default()
            },
        ),
        (
            "an order's",
            ReturnFilter {
                order_id: some(),
                ..Default::default()
            },
        ),
        (
            "by reason",
            ReturnFilter {
                reason: Some(DomainReason::Defective),
                ..Default::default()
            },
        ),
        (
            "a period",
            ReturnFilter {
                created_after: Some(start_time()),
                created_before: Some(start_time()),
                ..Default::default()
            },
        ),
    ];
    for (name, filter) in filters {
        for paging_on in [false, true] {
            let sql = format!("EXPLAIN (COSTS OFF) {}", list_sql(&filter, paging_on));
            let mut explain = sqlx::query_scalar::<_, String>(&sql);
            if filter.customer_id.is_some() {
                explain = explain.bind("c-1");
            }
            if let Some(status) = filter.status {
                explain = explain.bind(status.as_str());
            }
            if let Some(reason) = filter.reason {
                explain = explain.bind(reason.as_str());
            }
            if filter.order_id.is_some() {
                explain = explain.bind("o-1");
            }
            if let Some(after) = filter.created_after {
                explain = explain.bind(after);
            }
            if let Some(before) = filter.created_before {
                explain = explain.bind(before);
            }
            if paging_on {
                explain = explain.bind(start_time()).bind(uuid::Uuid::now_v7());
            }
            let plan = explain.bind(50i64).fetch_all(&mut *conn).await.unwrap().join("\n");
            assert!(!plan.contains("Seq Scan"), "{name} (paging {paging_on}):\n{plan}");
        }
    }
    sqlx::query("RESET enable_seqscan").execute(&mut *conn).await.unwrap();
}
