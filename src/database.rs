//! Opening the one database: a configured URL or the embedded cluster, then
//! migrations.

use std::path::Path;

use aftercare_platform::db;
use aftercare_platform::embedded::{EmbeddedPostgres, Options};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

use crate::BoxError;

/// Every migration in `migrations/`, compiled into the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The database name inside the embedded cluster.
const EMBEDDED_DATABASE: &str = "aftercare";

pub struct Database {
    pub pool: PgPool,
    embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// Connects to `url`, or starts (or attaches to) the embedded cluster in
    /// `data_dir`, and applies pending migrations.
    pub async fn open(url: Option<&str>, data_dir: &Path, max_connections: u32) -> Result<Database, BoxError> {
        let (pool, embedded) = match url {
            Some(url) => (db::connect(url, max_connections).await?, None),
            None => {
                let dir = data_dir.to_owned();
                let cluster =
                    tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&dir, Options { fsync: true }))
                        .await??;
                tracing::info!(port = cluster.port(), data_dir = %data_dir.display(), "embedded Postgres is up");
                db::ensure_database(&cluster.url("postgres"), EMBEDDED_DATABASE).await?;
                (
                    db::connect(&cluster.url(EMBEDDED_DATABASE), max_connections).await?,
                    Some(cluster),
                )
            }
        };
        MIGRATOR.run(&pool).await?;
        Ok(Database { pool, embedded })
    }

    /// The URL of `database` in the embedded cluster, when this process
    /// started one (for tools such as pgbench pointed at the same cluster).
    pub fn embedded_url(&self, database: &str) -> Option<String> {
        self.embedded.as_ref().map(|cluster| cluster.url(database))
    }

    /// Closes the pool and stops the embedded cluster if this process started it.
    pub async fn close(self) {
        self.pool.close().await;
        if let Some(mut cluster) = self.embedded {
            match tokio::task::spawn_blocking(move || cluster.stop()).await {
                Ok(Ok(())) => tracing::info!("embedded Postgres stopped"),
                Ok(Err(e)) => tracing::warn!(error = %e, "stopping embedded Postgres"),
                Err(e) => tracing::warn!(error = %e, "stopping embedded Postgres"),
            }
        }
    }
}
