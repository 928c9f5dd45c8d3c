//! The `aftercare` binary's commands: migrate, token, JSON logs, and the
//! error when Postgres binaries are missing, the outbox's dead letters and
//! the insight rebuild.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use aftercare_platform::auth::{Authenticator, JwtKey, Role};
use aftercare_platform::db::quote_ident;
use sqlx::ConnectOptions;
use sqlx::postgres::PgConnectOptions;

use crate::support::TestDb;

fn aftercare() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aftercare"));
    for (key, _) in std::env::vars() {
        if key.starts_with("AFTERCARE_") {
            c.env_remove(key);
        }
    }
    c
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("aftercare-{name}-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn url(options: &PgConnectOptions) -> String {
    options.to_url_lossy().to_string()
}

#[tokio::test]
async fn migrate_applies_every_migration_and_logs_json() {
    let template_db = TestDb::create().await;
    // An empty database next to the test one.
    let empty = format!("{}_empty", template_db.name);
    let mut conn = template_db
        .options
        .clone()
        .database("postgres")
        .connect()
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {}", quote_ident(&empty)))
        .execute(&mut conn)
        .await
        .unwrap();
    let options = template_db.options.clone().database(&empty);

    let out = aftercare()
        .args(["--log-format", "json", "--database-url", &url(&options), "migrate"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let logs = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).expect("every log line is JSON"))
        .collect();
    assert!(
        lines.iter().any(|l| l["fields"]["message"] == "migrations applied"),
        "{logs}"
    );

    let pool = sqlx::PgPool::connect_with(options).await.unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(applied as usize, aftercare::database::MIGRATOR.iter().count());
    pool.close().await;
    sqlx::query(&format!("DROP DATABASE {} WITH (FORCE)", quote_ident(&empty)))
        .execute(&mut conn)
        .await
        .unwrap();
}

#[test]
fn token_mints_what_the_configured_secret_verifies() {
    let secret = "a-configured-secret-of-enough-length!!";
    let out = aftercare()
        .args([
            "--jwt-secret",
            secret,
            "token",
            "--role",
            "agent",
            "--subject",
            "agent-7",
            "--ttl",
            "5m",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap();
    let auth = Authenticator::new(&JwtKey::Secret(secret.as_bytes().to_vec())).unwrap();
    let mut metadata = http::HeaderMap::new();
    metadata.insert("authorization", format!("Bearer {}", token.trim()).parse().unwrap());
    let caller = auth.authenticate(&metadata).unwrap();
    assert_eq!((caller.role, caller.subject.as_str()), (Role::Agent, "agent-7"));

    let bad = aftercare()
        .args(["--jwt-secret", secret, "token", "--role", "root", "--subject", "x"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

#[test]
fn token_refuses_to_invent_a_secret_and_finds_the_servers_from_a_subdirectory() {
    let dir = temp_dir("token");
    let checkout = dir.join("checkout");
    let sub = checkout.join("services").join("returns");
    std::fs::create_dir_all(&sub).unwrap();
    let mint = |cwd: &std::path::Path| {
        aftercare()
            .current_dir(cwd)
            .args(["token", "--role", "service", "--subject", "s"])
            .output()
            .unwrap()
    };
    // Before the server ever ran: a clear error, and no secret made up.
    let out = mint(&sub);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no JWT secret") && err.contains("start the server"),
        "{err}"
    );
    assert!(!sub.join(".aftercare").exists() && !checkout.join(".aftercare").exists());

    // The server creates it once (0600) in the checkout's data directory...
    let secret = aftercare::keys::load_or_create_secret(&checkout.join(".aftercare")).unwrap();
    assert_eq!(
        aftercare::keys::load_or_create_secret(&checkout.join(".aftercare")).unwrap(),
        secret
    );
    let secret_file = checkout.join(".aftercare").join("jwt-secret");
    assert_eq!(
        std::fs::metadata(&secret_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // ...and `token` finds it from anywhere below.
    let auth = Authenticator::new(&JwtKey::Secret(secret)).unwrap();
    for cwd in [&checkout, &sub] {
        let out = mint(cwd);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let token = String::from_utf8(out.stdout).unwrap();
        let mut headers = http::HeaderMap::new();
        headers.insert("authorization", format!("Bearer {}", token.trim()).parse().unwrap());
        assert!(auth.authenticate(&headers).is_ok());
    }
    assert!(!sub.join(".aftercare").exists(), "no second data directory");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn text_logs_carry_no_colour_codes_when_redirected() {
    let db = TestDb::create().await;
    let out = aftercare()
        .args(["--database-url", &url(&db.options), "migrate"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(logs.contains("migrations applied"), "{logs}");
    assert!(!logs.contains('\u{1b}'), "escape codes in {logs:?}");
}

#[test]
fn missing_postgres_binaries_are_a_clear_error() {
    let dir = temp_dir("nopg");
    let out = aftercare()
        .env("AFTERCARE_PG_BINDIR", dir.join("no-postgres-here"))
        .args(["--data-dir", dir.to_str().unwrap(), "migrate"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("has no initdb/pg_ctl"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn outbox_dead_lists_dead_letters_and_replay_queues_them_again() {
    let db = TestDb::create().await;
    let pool = db.pool(2).await;
    aftercare_platform::outbox::register_consumer(&pool, "cli.test", &["test.Happened".to_owned()])
        .await
        .unwrap();
    let mut tx = pool.begin().await.unwrap();
    let event = aftercare_platform::outbox::enqueue_raw(&mut tx, "test.Happened", "agg-1", b"x", chrono::Utc::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    sqlx::query("UPDATE platform.outbox_deliveries SET dead_at = now(), attempts = 15, last_error = 'boom'")
        .execute(&pool)
        .await
        .unwrap();

    let dead = aftercare()
        .args([
            "--database-url",
            &url(&db.options),
            "outbox",
            "dead",
            "--consumer",
            "cli.test",
        ])
        .output()
        .unwrap();
    assert!(dead.status.success(), "{}", String::from_utf8_lossy(&dead.stderr));
    let listing = String::from_utf8(dead.stdout).unwrap();
    let row = listing.lines().nth(1).expect("one dead letter");
    let fields: Vec<&str> = row.split('\t').collect();
    assert_eq!(
        (fields[0], fields[1], fields[2], fields[3], fields[4], fields[6]),
        (
            "cli.test",
            event.to_string().as_str(),
            "test.Happened",
            "agg-1",
            "15",
            "boom"
        )
    );

    let replay = aftercare()
        .args([
            "--database-url",
            &url(&db.options),
            "outbox",
            "replay",
            "--event",
            &event.to_string(),
        ])
        .output()
        .unwrap();
    assert!(replay.status.success(), "{}", String::from_utf8_lossy(&replay.stderr));
    assert!(String::from_utf8_lossy(&replay.stderr).contains("1 dead letter(s) queued again"));
    let (attempts, dead_at): (i32, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as("SELECT attempts, dead_at FROM platform.outbox_deliveries")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((attempts, dead_at), (0, None));
}

#[tokio::test]
async fn rebuild_insight_replays_the_history_into_the_read_model() {
    use aftercare_proto::order_events::{OrderRecorded, RecordedLine};
    let db = TestDb::create().await;
    let pool = db.pool(2).await;
    let event = OrderRecorded {
        order_id: "o-before".into(),
        placed_at: Some(aftercare_platform::wire::timestamp(chrono::Utc::now())),
        lines: vec![RecordedLine {
            line_id: "L1".into(),
            category: "kitchen".into(),
            quantity: 3,
            ..Default::default()
        }],
        ..Default::default()
    };
    // Written before anything followed it: only a rebuild takes it in.
    let mut tx = pool.begin().await.unwrap();
    aftercare_platform::outbox::enqueue(&mut tx, "o-before", &event, chrono::Utc::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let out = aftercare()
        .args(["--database-url", &url(&db.options), "rebuild-insight"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1 events applied\n");
    let units: i64 =
        sqlx::query_scalar("SELECT sum(quantity)::bigint FROM insight.order_lines WHERE order_id = 'o-before'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(units, 3);
}

#[test]
fn the_configuration_reference_is_the_flags_own() {
    let out = aftercare().arg("config-reference").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let generated = String::from_utf8(out.stdout).unwrap();
    let checked_in = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/configuration.md")).unwrap();
    assert_eq!(
        generated, checked_in,
        "docs/configuration.md is stale: run `cargo run -- config-reference > docs/configuration.md`"
    );
    for flag in ["--database-url", "--http-listen", "--services", "--notifier-url"] {
        assert!(generated.contains(&format!("`{flag}`")), "{flag}");
    }
}
