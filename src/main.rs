use std::process::ExitCode;
use std::sync::Arc;

use aftercare::BoxError;
use aftercare::cli::{Cli, Command, OutboxCommand};
use aftercare::database::Database;
use aftercare::server::{AppState, Listeners, ServeOptions, serve};
use aftercare_platform::auth::Authenticator;
use aftercare_platform::clock::{Clock, SystemClock};
use aftercare_platform::outbox;
use aftercare_platform::telemetry::{Metrics, init_logging};
use aftercare_platform::webhook;
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
            // Never mint with a secret the server does not have.
            let key = aftercare::keys::jwt_key(common, false)?;
            let auth = Authenticator::with_claims(&key, &common.jwt_issuer, &common.jwt_audience)?;
            println!("{}", auth.issue(args.role, &args.subject, args.ttl)?);
            Ok(())
        }
        Command::ConfigReference => {
            print!("{}", aftercare::cli::reference());
            Ok(())
        }
        Command::Openapi => {
            let services: Vec<&str> = aftercare::registry::SERVICES.iter().map(|s| s.grpc_service).collect();
            print!("{}", aftercare_gateway::openapi::json(&services)?);
            Ok(())
        }
        Command::Migrate => {
            let db = Database::open(common.database_url.as_deref(), &common.data_dir(), 2).await?;
            tracing::info!("migrations applied");
            db.close().await;
            Ok(())
        }
        Command::Serve(args) => {
            let key = aftercare::keys::jwt_key(common, true)?;
            let auth = Arc::new(Authenticator::with_claims(
                &key,
                &common.jwt_issuer,
                &common.jwt_audience,
            )?);
            let grpc = tokio::net::TcpListener::bind(args.listen).await?;
            let admin = tokio::net::TcpListener::bind(args.admin_listen).await?;
            let http = match args.http_listen.0 {
                Some(addr) => Some(tokio::net::TcpListener::bind(addr).await?),
                None => None,
            };
            let db = Database::open(
                common.database_url.as_deref(),
                &common.data_dir(),
                args.db_max_connections,
            )
            .await?;
            let state = AppState {
                pool: db.pool.clone(),
                clock: Arc::new(SystemClock),
                auth,
                metrics: Metrics::default(),
            };
            let notifier = match (&args.notifier_url, &args.notifier_secret) {
                (Some(url), Some(secret)) => Some(webhook::Endpoint::new(url, secret)?),
                _ => None,
            };
            let options = ServeOptions {
                services: args.services,
                shutdown_grace: args.shutdown_grace,
                notifier,
                cors_origins: args.cors_origin,
                rate_per_caller: args.rate_limit_caller.0,
                rate_per_ip: args.rate_limit_ip.0,
                trusted_proxies: args.trusted_proxy.clone(),
                nats_url: args.nats_url.clone(),
                gateway: aftercare_gateway::Options {
                    max_body: args.http_max_body,
                    ..aftercare_gateway::Options::default()
                },
                ..ServeOptions::default()
            };
            let listeners = Listeners {
                grpc,
                admin: Some(admin),
                http,
            };
            let result = serve(state, listeners, options, shutdown_signal()).await;
            db.close().await;
            result
        }
        Command::Outbox(command) => {
            let db = Database::open(common.database_url.as_deref(), &common.data_dir(), 2).await?;
            let result = run_outbox(&db.pool, command).await;
            db.close().await;
            result
        }
        Command::RebuildInsight => {
            let db = Database::open(common.database_url.as_deref(), &common.data_dir(), 2).await?;
            let result = aftercare_insight::rebuild::rebuild(&db.pool).await;
            db.close().await;
            println!("{} events applied", result?);
            Ok(())
        }
    }
}

async fn run_outbox(pool: &sqlx::PgPool, command: OutboxCommand) -> Result<(), BoxError> {
    match command {
        OutboxCommand::Dead { consumer } => {
            let dead = outbox::dead_letters(pool, consumer.as_deref(), None).await?;
            println!("consumer\tevent\ttopic\taggregate\tattempts\tdead_at\tlast_error");
            for d in &dead {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    d.consumer,
                    d.event_id,
                    d.topic,
                    d.aggregate_id,
                    d.attempts,
                    d.dead_at.to_rfc3339(),
                    d.last_error.as_deref().unwrap_or_default().replace(['\t', '\n'], " ")
                );
            }
            eprintln!("{} dead letter(s)", dead.len());
            Ok(())
        }
        OutboxCommand::Replay { consumer, event } => {
            let n = outbox::replay(pool, consumer.as_deref(), event, SystemClock.now()).await?;
            eprintln!("{n} dead letter(s) queued again");
            Ok(())
        }
        OutboxCommand::Discard { consumer, event } => {
            let n = outbox::discard(pool, consumer.as_deref(), event, SystemClock.now()).await?;
            eprintln!("{n} dead letter(s) discarded");
            Ok(())
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
