//! Test databases: one Postgres per test run (`AFTERCARE_TEST_DATABASE_URL`,
//! or a private cluster in the system temp directory, started by the first
//! test process that needs it, under a file lock so parallel test processes
//! share it), a migrated template built once per migration set, and a fresh
//! database per test cloned from it.

use std::path::PathBuf;
use std::sync::OnceLock;

use aftercare::database::MIGRATOR;
use aftercare_platform::db::quote_ident;
use aftercare_platform::embedded::{EmbeddedPostgres, Options};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use tokio::sync::OnceCell;

/// The test cluster, kept for the life of the process so it is never stopped
/// by a drop while other test processes use it.
static CLUSTER: OnceLock<EmbeddedPostgres> = OnceLock::new();
static SERVER: OnceCell<(PgConnectOptions, String)> = OnceCell::const_new();

/// Connection options for the test server's maintenance database, and the
/// name of the migrated template.
async fn server() -> &'static (PgConnectOptions, String) {
    SERVER
        .get_or_init(|| async {
            let admin: PgConnectOptions = match std::env::var("AFTERCARE_TEST_DATABASE_URL") {
                Ok(url) => url.parse().expect("AFTERCARE_TEST_DATABASE_URL"),
                Err(_) => {
                    let url = tokio::task::spawn_blocking(start_cluster).await.unwrap();
                    url.parse().unwrap()
                }
            };
            let template = ensure_template(&admin).await;
            (admin, template)
        })
        .await
}

/// The test cluster's directory: `AFTERCARE_TEST_CLUSTER_DIR` (set by
/// `scripts/test`, which stops the cluster afterwards), else one private to
/// this user and this checkout, so two checkouts or users never share one.
pub fn cluster_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("AFTERCARE_TEST_CLUSTER_DIR") {
        return dir.into();
    }
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or_default();
    let checkout = aftercare_platform::kernel::fingerprint::sha256(env!("CARGO_MANIFEST_DIR").as_bytes());
    let tag: String = checkout[..6].iter().map(|b| format!("{b:02x}")).collect();
    std::env::temp_dir().join(format!("aftercare-test-pg-{uid}-{tag}"))
}

fn start_cluster() -> String {
    let dir = cluster_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let lock = std::fs::File::create(dir.with_extension("lock")).unwrap();
    lock.lock().unwrap();
    let cluster = EmbeddedPostgres::start(&dir, Options { fsync: false }).expect("starting the test Postgres");
    let url = cluster.url("postgres");
    let _ = CLUSTER.set(cluster);
    lock.unlock().unwrap();
    url
}

/// Builds the migrated template once per migration set, under an advisory
/// lock so concurrent test processes build it once.
async fn ensure_template(admin: &PgConnectOptions) -> String {
    let fingerprint = MIGRATOR.iter().fold(0xcbf29ce484222325u64, |h, m| {
        m.checksum
            .iter()
            .fold(h, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100000001b3))
    });
    let template = format!("aftercare_tpl_{fingerprint:016x}");
    let mut conn = admin.connect().await.expect("connecting to the test Postgres");
    sqlx::query("SELECT pg_advisory_lock(727001)")
        .execute(&mut conn)
        .await
        .unwrap();
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(&template)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    if !exists {
        // Built under another name and renamed when complete, so a crash
        // never leaves a half-migrated template behind.
        let building = format!("{template}_building");
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(&building)
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        sqlx::query(&format!("CREATE DATABASE {}", quote_ident(&building)))
            .execute(&mut conn)
            .await
            .unwrap();
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(admin.clone().database(&building))
            .await
            .unwrap();
        MIGRATOR.run(&pool).await.expect("migrating the template");
        pool.close().await;
        sqlx::query(&format!(
            "ALTER DATABASE {} RENAME TO {}",
            quote_ident(&building),
            quote_ident(&template)
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    sqlx::query("SELECT pg_advisory_unlock(727001)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    template
}

/// A database of one test, dropped when the test ends.
pub struct TestDb {
    pub name: String,
    pub options: PgConnectOptions,
    admin: PgConnectOptions,
}

impl TestDb {
    pub async fn create() -> TestDb {
        let (admin, template) = server().await;
        let name = format!("aftercare_test_{}", uuid::Uuid::now_v7().simple());
        let mut conn = admin.connect().await.unwrap();
        sqlx::query(&format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quote_ident(&name),
            quote_ident(template)
        ))
        .execute(&mut conn)
        .await
        .expect("cloning the template");
        conn.close().await.unwrap();
        TestDb {
            options: admin.clone().database(&name),
            name,
            admin: admin.clone(),
        }
    }

    /// A database with no migration applied, for testing migrations on
    /// the data of an earlier release.
    pub async fn empty() -> TestDb {
        let (admin, _) = server().await;
        let name = format!("aftercare_test_{}", uuid::Uuid::now_v7().simple());
        let mut conn = admin.connect().await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {}", quote_ident(&name)))
            .execute(&mut conn)
            .await
            .expect("creating an empty database");
        conn.close().await.unwrap();
        TestDb {
            options: admin.clone().database(&name),
            name,
            admin: admin.clone(),
        }
    }

    pub async fn pool(&self, max_connections: u32) -> PgPool {
        PgPoolOptions::new()
            .max_connections(max_connections)
            .connect_with(self.options.clone())
            .await
            .unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop runs outside async; a short-lived runtime of its own does it.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    if let Ok(mut conn) = admin.connect().await {
                        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(&name)))
                            .execute(&mut conn)
                            .await;
                    }
                })
        })
        .join();
    }
}
