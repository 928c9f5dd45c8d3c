//! An internal tool built on aftercare's event stream: it refunds received
//! returns its rules allow, idempotently, and survives its own restarts
//! without refunding anything twice (see `automation.rs`).
//!
//! ```sh
//! TOKEN=$(cargo run -q -- token --role service --subject refund-automation)
//! cargo run --example refund_automation -- --url http://127.0.0.1:50051 \
//!     --token "$TOKEN" --cursor-file refunds.cursor --max-refund 50.00
//! ```

mod automation;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use rust_decimal::Decimal;
use tokio::sync::mpsc;
use tonic::transport::Channel;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = arg("--url").unwrap_or_else(|| "http://127.0.0.1:50051".into());
    let config = automation::Config {
        channel: Channel::from_shared(url)?.connect_lazy(),
        token: arg("--token")
            .or_else(|| std::env::var("AFTERCARE_TOKEN").ok())
            .ok_or("--token or AFTERCARE_TOKEN")?,
        cursor_file: PathBuf::from(arg("--cursor-file").unwrap_or_else(|| "refund-automation.cursor".into())),
        max_refund: Decimal::from_str(&arg("--max-refund").unwrap_or_else(|| "50.00".into()))?,
    };
    let (outcomes, mut done) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(outcome) = done.recv().await {
            println!("{outcome:?}");
        }
    });
    // Subscribe again after any end or failure, backing off while the
    // server is away; the cursor file says where to go on.
    let mut wait = Duration::from_secs(1);
    loop {
        match automation::follow(&config, &outcomes).await {
            Ok(()) => wait = Duration::from_secs(1),
            Err(status) => {
                eprintln!(
                    "refund automation: {} ({:?}); again in {wait:?}",
                    status.message(),
                    status.code()
                );
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = tokio::signal::ctrl_c() => return Ok(()),
                }
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        }
    }
}
