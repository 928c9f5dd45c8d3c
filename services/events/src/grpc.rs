//! `aftercare.events.v1.EventService`: parse, start the feed.

use aftercare_kernel::Violations;
use aftercare_platform::auth::{Role, RoleTable};
use aftercare_platform::context::ServiceContext;
use aftercare_platform::error::Error;
use aftercare_proto::events as pb;
use aftercare_proto::events::event_service_server::{EventService, EventServiceServer};
use std::sync::Arc;

use tokio::sync::{Semaphore, watch};
use tonic::{Request, Response, Status};

use crate::store;
use crate::stream::{self, Feed, Feeds};
use crate::topics;
use Role::{Admin, Agent, Service};

pub const SERVICE_NAME: &str = "aftercare.events.v1.EventService";

/// Tools and staff follow what happens; customers cannot subscribe.
pub const ROLES: RoleTable = &[("Subscribe", &[Service, Agent, Admin])];

pub struct EventsGrpc {
    feeds: Feeds,
    seats: Arc<Semaphore>,
}

impl EventsGrpc {
    pub fn server(ctx: ServiceContext) -> EventServiceServer<EventsGrpc> {
        let feeds = Feeds {
            pool: ctx.pool.clone(),
            news: watch::channel(()).0,
            seats: Arc::new(Semaphore::new(stream::MAX_FEEDS)),
            stopping: ctx.stopping.clone(),
        };
        // Woken by this server's commits (those of a unit of work; a
        // consumer's are found by the poll).
        tokio::spawn(stream::position(feeds.clone(), ctx.outbox_wake.listen()));
        EventServiceServer::new(EventsGrpc {
            seats: feeds.seats.clone(),
            feeds,
        })
    }
}

#[tonic::async_trait]
impl EventService for EventsGrpc {
    type SubscribeStream = Feed;

    async fn subscribe(&self, request: Request<pb::SubscribeRequest>) -> Result<Response<Feed>, Status> {
        let r = request.into_inner();
        let mut v = Violations::new();
        let wanted = topics::check(&mut v, &r.topics);
        let after = parse_cursor(&mut v, &r.after_cursor);
        let after = v.finish_with(after).map_err(Error::from)?;
        // The seat first: a caller over the limit costs no database read.
        let seat = self.seats.clone().try_acquire_owned().map_err(|_| {
            Status::resource_exhausted(format!(
                "this server feeds {} subscribers already; retry later or on another server",
                stream::MAX_FEEDS
            ))
        })?;
        // Only a position this stream gave: one past its end would silently
        // skip every event until the stream reached it.
        if after > store::last_position(&mut *self.feeds.pool.acquire().await.map_err(Error::from)?).await? {
            return Err(Error::invalid("after_cursor", "is not a cursor of this stream").into());
        }
        Ok(Response::new(stream::start(self.feeds.clone(), wanted, after, seat)))
    }
}

/// Empty: from the start (0). Otherwise a cursor this service gave.
fn parse_cursor(v: &mut Violations, cursor: &str) -> Option<i64> {
    if cursor.is_empty() {
        return Some(0);
    }
    match cursor.parse::<i64>() {
        Ok(p) if p >= 0 && cursor.bytes().all(|b| b.is_ascii_digit()) => Some(p),
        _ => {
            v.add("after_cursor", "is not a cursor of this stream");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_the_streams_own() {
        let parse = |c: &str| {
            let mut v = Violations::new();
            parse_cursor(&mut v, c).filter(|_| v.finish().is_ok())
        };
        assert_eq!(parse(""), Some(0));
        assert_eq!(parse("42"), Some(42));
        assert_eq!(parse(&stream::cursor(i64::MAX)), Some(i64::MAX));
        for hostile in ["-1", "+1", " 1", "1.0", "9223372036854775808", "abc", "0x10"] {
            assert_eq!(parse(hostile), None, "{hostile}");
        }
    }
}
