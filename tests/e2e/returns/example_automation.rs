//! The example refund automation (`examples/refund_automation`) against the
//! real server: it refunds the received returns its rules allow, skips the
//! rest, and after a restart from an old cursor (a crash before it saved)
//! it asks again and gets the same refund: one per return.

use std::time::Duration;

use rust_decimal::Decimal;
use tokio::sync::mpsc;

use super::*;

#[path = "../../../examples/refund_automation/automation.rs"]
mod automation;

use automation::{Config, Outcome};

async fn next(outcomes: &mut mpsc::UnboundedReceiver<Outcome>) -> Outcome {
    tokio::time::timeout(Duration::from_secs(30), outcomes.recv())
        .await
        .expect("the automation handled the event in time")
        .expect("the automation runs")
}

#[tokio::test]
async fn the_example_automation_refunds_each_allowed_return_once_across_restarts() {
    let app = TestApp::spawn().await;
    for order in ["o-1", "o-2", "o-3"] {
        delivered_order(&app, order).await;
    }
    let dir = std::env::temp_dir().join(format!("aftercare-automation-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = || Config {
        channel: app.channel(),
        token: app.token(Role::Service, "refund-automation"),
        cursor_file: dir.join("cursor"),
        max_refund: Decimal::new(1000, 2),
    };

    let (tx, mut outcomes) = mpsc::unbounded_channel();
    let first = config();
    let running = tokio::spawn(async move { automation::follow(&first, &tx).await });
    let small = received_return(&app, "o-1", vec![refund_item("L2", 1)], &[("L2", 1, Grade::Resellable)]).await;
    let Outcome::Refunded { refund_id, amount, .. } = next(&mut outcomes).await else {
        panic!("7.50 is within the rules");
    };
    assert_eq!(amount, "7.50");
    // It stops (a crash); meanwhile two more returns are received.
    running.abort();
    let large = received_return(&app, "o-2", vec![refund_item("L1", 2)], &[("L1", 2, Grade::Resellable)]).await;
    let other = received_return(&app, "o-3", vec![refund_item("L3", 1)], &[("L3", 1, Grade::Resellable)]).await;

    // Back from before its first save: it sees every event again.
    std::fs::remove_file(dir.join("cursor")).unwrap();
    let (tx, mut outcomes) = mpsc::unbounded_channel();
    let second = config();
    let running = tokio::spawn(async move { automation::follow(&second, &tx).await });
    let again = next(&mut outcomes).await;
    assert_eq!(
        again,
        Outcome::Refunded {
            return_id: small.return_id.clone(),
            refund_id: refund_id.clone(),
            amount: "7.50".into()
        },
        "asked again, the first refund answers"
    );
    assert!(
        matches!(next(&mut outcomes).await, Outcome::Skipped { return_id, .. } if return_id == large.return_id),
        "30.00 is over the limit: a person decides"
    );
    assert!(matches!(next(&mut outcomes).await, Outcome::Refunded { return_id, .. } if return_id == other.return_id));
    running.abort();

    for (r, refunds) in [(&small, 1), (&large, 0), (&other, 1)] {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM returns.refunds WHERE return_id = $1::uuid")
            .bind(&r.return_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(n, refunds, "{}", r.return_id);
    }
    let saved = std::fs::read_to_string(dir.join("cursor")).unwrap();
    assert!(saved.parse::<i64>().is_ok(), "the cursor is kept: {saved}");
    let _ = std::fs::remove_dir_all(&dir);
}
