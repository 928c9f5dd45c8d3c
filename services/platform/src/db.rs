//! Connection pools and database creation.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool};

pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = url.parse()?;
    let options = options.application_name("aftercare");
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        // sqlx pings every connection before handing it out by default: one
        // extra round trip per call, as much database time as a point read.
        // A connection that was just in use is known good, so only those
        // idle for a while are tested; one broken by a restart in between
        // fails its statement with UNAVAILABLE (retryable) and is dropped.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_with(options)
        .await
}

/// How long a pooled connection may sit idle before it is tested on acquire.
const PING_AFTER_IDLE: Duration = Duration::from_secs(10);

/// Creates `database` through the server's `postgres` database unless it
/// exists.
pub async fn ensure_database(admin_url: &str, database: &str) -> Result<(), sqlx::Error> {
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(database)
        .fetch_one(&mut conn)
        .await?;
    if !exists {
        sqlx::query(&format!("CREATE DATABASE {}", quote_ident(database)))
            .execute(&mut conn)
            .await?;
    }
    conn.close().await
}

/// Quotes an SQL identifier (database names cannot be bind parameters).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
