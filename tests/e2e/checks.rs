//! Checks the tests share: waiting for a task to block on a lock, and the
//! google.rpc details of a status.

use std::time::Duration;

use sqlx::PgPool;

/// Waits (bounded) until `task` has finished or a session of this database
/// waits on a lock: the moment a test that holds a lock lets it go, to show
/// that the task waited for it rather than going ahead without it.
pub async fn until_finished_or_waiting_on_a_lock<T>(pool: &PgPool, task: &tokio::task::JoinHandle<T>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let waiting: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                            WHERE wait_event_type = 'Lock' AND datname = current_database())",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if task.is_finished() || waiting {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "neither finished nor waiting on a lock"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The google.rpc BadRequest field paths of an INVALID_ARGUMENT status.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .expect("BadRequest details")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect()
}

/// The google.rpc ErrorInfo reason of a status.
pub fn reason(status: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    status.get_details_error_info().map(|i| i.reason).unwrap_or_default()
}
