//! The unit of work: the one sequence every mutating call runs, written once
//! so that no call can forget a step.
//!
//! ```text
//! begin -> claim the request_id (replay / conflict) -> load with lock
//!       -> domain decision -> store -> emit events -> complete the key
//!       -> commit -> wake the events' consumers
//! ```
//!
//! A call that knows its response up front (the id it creates) claims the
//! key with it and has no "complete" step.
//!
//! The idempotency key, the effect, the events and the stored response
//! commit together or not at all. [`UnitOfWork::commit`] refuses to commit a
//! claimed key without its response, and wakes only the consumers of the
//! events written (none when there were none).

use aftercare_kernel::fingerprint::sha256;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::auth::Caller;
use crate::error::Error;
use crate::idempotency::{self, Claim};
use crate::outbox::{self, Waker};

pub struct UnitOfWork<'c> {
    tx: Transaction<'c, Postgres>,
    now: DateTime<Utc>,
    wake: Waker,
    /// A key claimed fresh (scope, owner, key), waiting for its response.
    open_key: Option<(String, String, String)>,
    /// The topics of the events written, to wake their consumers.
    topics: Vec<String>,
}

/// What a claimed key says about this request.
#[derive(Debug, PartialEq, Eq)]
pub enum Replay {
    /// First time: run the effect.
    Fresh,
    /// Done before with the same request: answer with this stored response.
    Stored(Vec<u8>),
}

impl UnitOfWork<'static> {
    pub(crate) async fn begin(pool: &PgPool, now: DateTime<Utc>, wake: Waker) -> Result<Self, Error> {
        Ok(UnitOfWork {
            tx: pool.begin().await?,
            now,
            wake,
            open_key: None,
            topics: Vec::new(),
        })
    }
}

impl<'c> UnitOfWork<'c> {
    /// A unit of work inside a transaction already open (an event
    /// consumer's delivery): a savepoint, so a use case runs in a consumer
    /// as it runs for an RPC, and commits or rolls back with the delivery.
    /// The dispatcher delivers what it emits on its next round.
    pub async fn within(conn: &'c mut PgConnection, now: DateTime<Utc>) -> Result<UnitOfWork<'c>, Error> {
        Ok(UnitOfWork {
            tx: sqlx::Connection::begin(conn).await?,
            now,
            wake: Waker::default(),
            open_key: None,
            topics: Vec::new(),
        })
    }

    /// The instant this unit of work runs at (one clock read per call).
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// The transaction, for the store.
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// Claims `caller`'s `key` for the RPC `scope` and a request whose
    /// canonical bytes are `request`. Keys are the caller's own: another
    /// caller's identical key is another key. A different request under a
    /// claimed key is ALREADY_EXISTS (`REQUEST_ID_REUSED`, naming `field`).
    /// Concurrent duplicates wait for the first to commit and replay it.
    pub async fn claim(
        &mut self,
        scope: &str,
        caller: &Caller,
        field: &str,
        key: &str,
        request: &[u8],
    ) -> Result<Replay, Error> {
        self.claim_key(scope, caller, field, key, request, None).await
    }

    /// [`UnitOfWork::claim`] for a call whose response is known before its
    /// effect runs (the id of what it will create): the key is stored with
    /// that response in one statement and no [`UnitOfWork::complete`]
    /// follows. It still commits or rolls back with the effect.
    pub async fn claim_answered(
        &mut self,
        scope: &str,
        caller: &Caller,
        field: &str,
        key: &str,
        request: &[u8],
        response: &[u8],
    ) -> Result<Replay, Error> {
        self.claim_key(scope, caller, field, key, request, Some(response)).await
    }

    async fn claim_key(
        &mut self,
        scope: &str,
        caller: &Caller,
        field: &str,
        key: &str,
        request: &[u8],
        response: Option<&[u8]>,
    ) -> Result<Replay, Error> {
        let hash = sha256(request);
        let owner = format!("{}:{}", caller.role, caller.subject);
        match idempotency::claim(&mut self.tx, scope, &owner, key, &hash, response, self.now).await? {
            Claim::Fresh => {
                if response.is_none() {
                    self.open_key = Some((scope.to_owned(), owner, key.to_owned()));
                }
                Ok(Replay::Fresh)
            }
            Claim::Replay(response) => Ok(Replay::Stored(response)),
            Claim::Conflict => Err(idempotency::key_reused(field)),
        }
    }

    /// Stores the response of the claimed key, in this transaction.
    pub async fn complete(&mut self, response: &[u8]) -> Result<(), Error> {
        let (scope, owner, key) = self
            .open_key
            .take()
            .ok_or_else(|| Error::internal("complete() without a claimed key"))?;
        idempotency::complete(&mut self.tx, &scope, &owner, &key, response).await
    }

    /// Writes a typed event about `aggregate_id` in this transaction.
    pub async fn emit<M: prost::Message + prost::Name>(
        &mut self,
        aggregate_id: &str,
        message: &M,
    ) -> Result<(), Error> {
        outbox::enqueue(&mut self.tx, aggregate_id, message, self.now).await?;
        let topic = M::full_name();
        if !self.topics.contains(&topic) {
            self.topics.push(topic);
        }
        Ok(())
    }

    /// Commits everything, then wakes the consumers of the events.
    pub async fn commit(self) -> Result<(), Error> {
        if let Some((scope, ..)) = &self.open_key {
            // Rolled back on drop: a key must never commit without its answer.
            return Err(Error::internal(format!(
                "{scope}: claimed key committed without a response"
            )));
        }
        self.tx.commit().await?;
        self.wake.wake(self.topics.iter().map(String::as_str));
        Ok(())
    }
}
