//! The refund automation's work, apart from its command line so a test can
//! run it: follow `ReturnReceived` on the event stream, refund the returns
//! the rules allow, and keep the stream cursor in a file.
//!
//! Exactly one refund per return, whatever happens to this process:
//! - the refund is asked for with a request_id made from the return id
//!   (`refund-automation:<return_id>`), so asking again, after a restart
//!   or for an event seen twice, answers the first refund and makes none;
//! - the cursor is saved after the refund is asked for, so a crash in
//!   between sees the event again (and asks again, harmlessly), and no
//!   event is skipped.

use std::path::PathBuf;
use std::str::FromStr;

use aftercare_proto::events::SubscribeRequest;
use aftercare_proto::events::event_service_client::EventServiceClient;
use aftercare_proto::return_events::ReturnReceived;
use aftercare_proto::returns::return_service_client::ReturnServiceClient;
use aftercare_proto::returns::{IssueRefundRequest, Resolution};
use prost::Message;
use rust_decimal::Decimal;
use tokio::sync::mpsc;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

pub const TOPIC: &str = "aftercare.returns.events.v1.ReturnReceived";

pub struct Config {
    pub channel: Channel,
    /// A `service` token (the automation acts as a backend).
    pub token: String,
    /// Where the cursor of the last event handled is kept.
    pub cursor_file: PathBuf,
    /// The rules: refunds (not exchanges or store credit) of at most this
    /// much, in any currency.
    pub max_refund: Decimal,
}

/// What the automation did with one received return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Refunded {
        return_id: String,
        refund_id: String,
        amount: String,
    },
    Skipped {
        return_id: String,
        why: String,
    },
}

fn authorized<T>(config: &Config, message: T) -> Result<Request<T>, Status> {
    let mut request = Request::new(message);
    let token = MetadataValue::try_from(format!("Bearer {}", config.token))
        .map_err(|_| Status::invalid_argument("the token is not a header value"))?;
    request.metadata_mut().insert("authorization", token);
    Ok(request)
}

/// One subscription: handles events until the stream ends or fails (the
/// caller subscribes again; the cursor file says where to go on).
pub async fn follow(config: &Config, outcomes: &mpsc::UnboundedSender<Outcome>) -> Result<(), Status> {
    let after_cursor = std::fs::read_to_string(&config.cursor_file)
        .unwrap_or_default()
        .trim()
        .to_owned();
    let subscribe = SubscribeRequest {
        topics: vec![TOPIC.into()],
        after_cursor,
    };
    let mut events = EventServiceClient::new(config.channel.clone())
        .subscribe(authorized(config, subscribe)?)
        .await?
        .into_inner();
    while let Some(event) = events.message().await? {
        let received = event
            .payload
            .as_ref()
            .and_then(|any| ReturnReceived::decode(any.value.as_slice()).ok())
            .and_then(|r| r.summary)
            .ok_or_else(|| Status::data_loss(format!("event {} is not a ReturnReceived", event.event_id)))?;
        let outcome = decide(config, &received).await?;
        save_cursor(config, &event.cursor)?;
        let _ = outcomes.send(outcome);
    }
    Ok(())
}

/// Applies the rules to one received return, and refunds it if they allow.
async fn decide(config: &Config, r: &aftercare_proto::return_events::ReturnSummary) -> Result<Outcome, Status> {
    let skipped = |why: &str| {
        Ok(Outcome::Skipped {
            return_id: r.return_id.clone(),
            why: why.to_owned(),
        })
    };
    if r.resolution() != Resolution::Refund {
        return skipped("not a refund");
    }
    let total = r.refund_total.as_ref().map(|m| m.amount.as_str()).unwrap_or("0");
    match Decimal::from_str(total) {
        Ok(amount) if amount <= config.max_refund => {}
        Ok(_) => return skipped("over the automatic limit: a person decides"),
        Err(_) => return skipped("an amount this automation cannot read"),
    }
    let request = IssueRefundRequest {
        return_id: r.return_id.clone(),
        request_id: format!("refund-automation:{}", r.return_id),
    };
    match ReturnServiceClient::new(config.channel.clone())
        .issue_refund(authorized(config, request)?)
        .await
    {
        Ok(refund) => {
            let refund = refund.into_inner();
            Ok(Outcome::Refunded {
                return_id: r.return_id.clone(),
                refund_id: refund.refund_id,
                amount: refund.amount.map(|m| m.amount).unwrap_or_default(),
            })
        }
        // Someone refunded it by hand, or it was canceled meanwhile.
        Err(status) if status.code() == Code::FailedPrecondition => skipped(status.message()),
        Err(status) => Err(status),
    }
}

/// Written whole, then renamed over the old one: a crash leaves one or
/// the other, never half a cursor.
fn save_cursor(config: &Config, cursor: &str) -> Result<(), Status> {
    let temporary = config.cursor_file.with_extension("tmp");
    std::fs::write(&temporary, cursor)
        .and_then(|()| std::fs::rename(&temporary, &config.cursor_file))
        .map_err(|e| Status::internal(format!("saving the cursor: {e}")))
}
