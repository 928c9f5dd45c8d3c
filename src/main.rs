use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use aftercare::BoxError;
use aftercare::cli::{Cli, Command};
use aftercare::database::Database;
use aftercare::server::{AppState, ServeOptions, serve};
use aftercare_platform::auth::Authenticator;
use aftercare_platform::clock::SystemClock;
use aftercare_platform::telemetry::{Metrics, init_logging};
use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.common.log_format.into());
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aftercare: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), BoxError> {
    let common = &cli.common;
    match cli.command {
        Command::Token(args) => {
            let auth = Authenticator::new(&aftercare::keys::jwt_key(common)?)?;
            println!("{}", auth.issue(args.role, &args.subject, args.ttl)?);
            Ok(())
        }
        Command::Migrate => {
            let db = Database::open(common.database_url.as_deref(), &common.data_dir, 2).await?;
            tracing::info!("migrations applied");
            db.close().await;
            Ok(())
        }
        Command::Serve(args) => {
            let auth = Arc::new(Authenticator::new(&aftercare::keys::jwt_key(common)?)?);
            let grpc = tokio::net::TcpListener::bind(args.listen).await?;
            let admin = tokio::net::TcpListener::bind(args.admin_listen).await?;
            let db = Database::open(
                common.database_url.as_deref(),
                &common.data_dir,
                args.db_max_connections,
            )
            .await?;
            let state = AppState {
                pool: db.pool.clone(),
                clock: Arc::new(SystemClock),
                auth,
                metrics: Metrics::default(),
            };
            let options = ServeOptions {
                services: args.services,
                shutdown_grace: args.shutdown_grace,
                outbox_poll_interval: Duration::from_millis(500),
            };
            let result = serve(state, grpc, Some(admin), options, shutdown_signal()).await;
            db.close().await;
            result
        }
    }
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
