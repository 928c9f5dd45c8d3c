//! `aftercare.events.v1.WebhookService`: admin-registered endpoints posted
//! the event stream's events of their topics, signed, in order, with
//! retries, dead letters and replays.
//!
//! - `store`: the `events` schema;
//! - `job`: the delivery job (every server that runs this service);
//! - `body`: what one POST carries.

mod body;
pub mod job;
mod store;

use aftercare_kernel::{Violations, validate};
use aftercare_platform::auth::{Role, RoleTable, caller};
use aftercare_platform::context::ServiceContext;
use aftercare_platform::embedded::random_hex;
use aftercare_platform::error::Error;
use aftercare_platform::uow::Replay;
use aftercare_platform::webhook::Endpoint;
use aftercare_platform::wire::timestamp;
use aftercare_proto::events as pb;
use aftercare_proto::events::webhook_service_server::{WebhookService, WebhookServiceServer};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::topics;

pub const SERVICE_NAME: &str = "aftercare.events.v1.WebhookService";

/// Where the store's events go is the store's decision: admins only.
pub const ROLES: RoleTable = &[
    ("RegisterWebhook", &[Role::Admin]),
    ("ListWebhooks", &[Role::Admin]),
    ("DeleteWebhook", &[Role::Admin]),
    ("ListWebhookDeadLetters", &[Role::Admin]),
    ("ReplayWebhookDeadLetters", &[Role::Admin]),
];

const MAX_URL_LEN: usize = 2000;
const MAX_ID_LEN: usize = 200;

pub struct WebhooksGrpc {
    ctx: ServiceContext,
}

impl WebhooksGrpc {
    pub fn server(ctx: ServiceContext) -> WebhookServiceServer<WebhooksGrpc> {
        WebhookServiceServer::new(WebhooksGrpc { ctx })
    }
}

fn to_pb(w: &store::Webhook, with_secret: bool) -> pb::Webhook {
    pb::Webhook {
        webhook_id: w.webhook_id.to_string(),
        url: w.url.clone(),
        topics: w.topics.clone(),
        secret: if with_secret { w.secret.clone() } else { String::new() },
        delivered_cursor: w.after_position.to_string(),
        failed_attempts: w.failed_attempts,
        last_error: w.last_error.clone().unwrap_or_default(),
        next_attempt_at: Some(timestamp(w.next_attempt_at)),
        created_at: Some(timestamp(w.created_at)),
        deleted_at: w.deleted_at.map(timestamp),
    }
}

fn webhook_id(id: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(id).map_err(|_| Error::invalid("webhook_id", "is not a webhook id"))
}

fn not_found(id: Uuid) -> Error {
    Error::NotFound(format!("webhook {id}"))
}

#[tonic::async_trait]
impl WebhookService for WebhooksGrpc {
    async fn register_webhook(
        &self,
        request: Request<pb::RegisterWebhookRequest>,
    ) -> Result<Response<pb::Webhook>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        let mut v = Violations::new();
        // The secret is made here: a URL that fits a real one is one the
        // job can post to.
        let secret = random_hex(32).map_err(|e| Error::internal(e.to_string()))?;
        if r.url.len() > MAX_URL_LEN {
            v.add("url", format!("at most {MAX_URL_LEN} characters"));
        } else if let Err(e) = Endpoint::new(&r.url, &secret) {
            v.add("url", e);
        } else if r
            .url
            .split("://")
            .nth(1)
            .is_some_and(|rest| rest.split('/').next().unwrap_or_default().contains('@'))
        {
            // Credentials would be stored, listed and logged with the URL.
            v.add("url", "must not carry credentials (user:password@)");
        }
        let wanted = topics::check(&mut v, &r.topics);
        validate::id(&mut v, "request_id", &r.request_id, MAX_ID_LEN);
        v.finish().map_err(Error::from)?;

        // From the next event: what is committed now gets its position
        // first, so the cursor is after it.
        crate::store::position_pending(&self.ctx.pool, 100_000).await?;
        let mut uow = self.ctx.begin().await?;
        let id = Uuid::now_v7();
        let canonical = format!("{}\u{0}{}", r.url, wanted.join("\u{0}")).into_bytes();
        if let Replay::Stored(stored) = uow
            .claim_answered(
                "events.RegisterWebhook",
                &caller,
                "request_id",
                &r.request_id,
                &canonical,
                id.as_bytes(),
            )
            .await?
        {
            let id = Uuid::from_slice(&stored).map_err(Error::internal)?;
            let w = store::get(uow.conn(), id).await?.ok_or_else(|| not_found(id))?;
            // The same request answers the same webhook; its secret only
            // while it is live.
            return Ok(Response::new(to_pb(&w, w.deleted_at.is_none())));
        }
        let now = uow.now();
        let after_position = crate::store::last_position(uow.conn()).await?;
        let w = store::Webhook {
            webhook_id: id,
            url: r.url,
            secret,
            topics: wanted,
            after_position,
            failed_attempts: 0,
            last_error: None,
            next_attempt_at: now,
            created_at: now,
            deleted_at: None,
        };
        store::insert(uow.conn(), &w).await?;
        uow.commit().await?;
        tracing::info!(webhook_id = %id, url = %w.url, "webhook registered");
        Ok(Response::new(to_pb(&w, true)))
    }

    async fn list_webhooks(
        &self,
        _: Request<pb::ListWebhooksRequest>,
    ) -> Result<Response<pb::ListWebhooksResponse>, Status> {
        let all = store::list(&mut *self.ctx.read().await?).await?;
        Ok(Response::new(pb::ListWebhooksResponse {
            webhooks: all.iter().map(|w| to_pb(w, false)).collect(),
        }))
    }

    async fn delete_webhook(
        &self,
        request: Request<pb::DeleteWebhookRequest>,
    ) -> Result<Response<pb::Webhook>, Status> {
        let id = webhook_id(&request.get_ref().webhook_id)?;
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let w = store::delete(uow.conn(), id, now).await?.ok_or_else(|| not_found(id))?;
        uow.commit().await?;
        Ok(Response::new(to_pb(&w, false)))
    }

    async fn list_webhook_dead_letters(
        &self,
        request: Request<pb::ListWebhookDeadLettersRequest>,
    ) -> Result<Response<pb::ListWebhookDeadLettersResponse>, Status> {
        let id = webhook_id(&request.get_ref().webhook_id)?;
        let mut conn = self.ctx.read().await?;
        if store::get(&mut conn, id).await?.is_none() {
            return Err(not_found(id).into());
        }
        let letters = store::dead_letters(&mut conn, id).await?;
        Ok(Response::new(pb::ListWebhookDeadLettersResponse {
            dead_letters: letters
                .into_iter()
                .map(|d| pb::WebhookDeadLetter {
                    event_id: d.event_id.to_string(),
                    cursor: d.position.to_string(),
                    topic: d.topic,
                    attempts: d.attempts,
                    last_error: d.last_error,
                    dead_at: Some(timestamp(d.dead_at)),
                    replay_requested_at: d.replay_requested_at.map(timestamp),
                })
                .collect(),
        }))
    }

    async fn replay_webhook_dead_letters(
        &self,
        request: Request<pb::ReplayWebhookDeadLettersRequest>,
    ) -> Result<Response<pb::ReplayWebhookDeadLettersResponse>, Status> {
        let id = webhook_id(&request.get_ref().webhook_id)?;
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let live = store::get(uow.conn(), id)
            .await?
            .is_some_and(|w| w.deleted_at.is_none());
        if !live {
            return Err(not_found(id).into());
        }
        let queued = store::request_replay(uow.conn(), id, now).await?;
        uow.commit().await?;
        Ok(Response::new(pb::ReplayWebhookDeadLettersResponse {
            queued: i32::try_from(queued).unwrap_or(i32::MAX),
        }))
    }
}
