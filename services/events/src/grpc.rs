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

/// Tools and staff follow what happens; customers cannot subscribe. Dead
/// letters are admins'.
pub const ROLES: RoleTable = &[
    ("Subscribe", &[Service, Agent, Admin]),
    ("ListDeadLetters", &[Admin]),
    ("ReplayDeadLetters", &[Admin]),
];

/// Dead letters listed at most.
const MAX_DEAD_LETTERS: i64 = 500;

pub struct EventsGrpc {
    feeds: Feeds,
    seats: Arc<Semaphore>,
    ctx: ServiceContext,
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
            ctx,
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

    async fn list_dead_letters(
        &self,
        request: Request<pb::ListDeadLettersRequest>,
    ) -> Result<Response<pb::ListDeadLettersResponse>, Status> {
        let consumer = consumer(&request.get_ref().consumer)?;
        // One more than shown: whether there are more.
        let mut dead =
            aftercare_platform::outbox::dead_letters(&self.ctx.pool, consumer, Some(MAX_DEAD_LETTERS + 1)).await?;
        let truncated = dead.len() as i64 > MAX_DEAD_LETTERS;
        dead.truncate(MAX_DEAD_LETTERS as usize);
        Ok(Response::new(pb::ListDeadLettersResponse {
            dead_letters: dead
                .into_iter()
                .map(|d| pb::DeadLetter {
                    consumer: d.consumer,
                    event_id: d.event_id.to_string(),
                    topic: d.topic,
                    aggregate_id: d.aggregate_id,
                    attempts: d.attempts,
                    last_error: d.last_error.unwrap_or_default(),
                    dead_at: Some(aftercare_platform::wire::timestamp(d.dead_at)),
                })
                .collect(),
            truncated,
        }))
    }

    async fn replay_dead_letters(
        &self,
        request: Request<pb::ReplayDeadLettersRequest>,
    ) -> Result<Response<pb::ReplayDeadLettersResponse>, Status> {
        let r = request.get_ref();
        let consumer = consumer(&r.consumer)?;
        let event = match r.event_id.as_str() {
            "" => None,
            id => Some(uuid::Uuid::parse_str(id).map_err(|_| Error::invalid("event_id", "is not a valid id"))?),
        };
        if consumer.is_none() && event.is_none() {
            return Err(Error::invalid("consumer", "name a consumer, an event, or both").into());
        }
        let now = self.ctx.clock.now();
        let queued = aftercare_platform::outbox::replay(&self.ctx.pool, consumer, event, now).await?;
        // The consumers take them at their next round.
        self.ctx.outbox_wake.wake_all();
        Ok(Response::new(pb::ReplayDeadLettersResponse {
            queued: i64::try_from(queued).unwrap_or(i64::MAX),
        }))
    }
}

/// An optional consumer name, as the outbox names them.
fn consumer(name: &str) -> Result<Option<&str>, Error> {
    match name {
        "" => Ok(None),
        n if n.len() <= 100 && n.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) => Ok(Some(n)),
        _ => Err(Error::invalid("consumer", "is not a consumer's name")),
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
