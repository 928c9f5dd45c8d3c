//! Run-once for mutating requests (AIP-155 `request_id`s and business keys).
//!
//! In the transaction of the effect, [`claim`] the key with the request's
//! hash, do the effect, then [`complete`] with the encoded response (or,
//! when the response is known up front — the id the effect will create —
//! claim with it and skip the second write). Because
//! the key row is inserted in that transaction, a concurrent duplicate blocks
//! on the key's unique index until the first commits (then it replays the
//! stored response) or rolls back (then it runs the effect itself): however
//! many duplicates race, the effect happens once.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

use crate::error::Error;

/// What a key already did.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// First time: run the effect, then [`complete`].
    Fresh,
    /// Done before with the same request: answer with this stored response.
    Replay(Vec<u8>),
    /// Done before with a different request under the same key.
    Conflict,
}

/// SHA-256 of a request's canonical bytes (e.g. its protobuf encoding).
pub fn request_hash(canonical: &[u8]) -> [u8; 32] {
    Sha256::digest(canonical).into()
}

/// The error for a key reused with a different request.
pub fn key_reused(field: &str) -> Error {
    Error::AlreadyExists {
        reason: "REQUEST_ID_REUSED",
        message: format!("{field} was already used for a different request"),
    }
}

/// Claims `key` of `owner` (who calls: e.g. "customer:c-42") within `scope`
/// (the RPC, e.g. "returns.IssueRefund") for a request with `hash`, inside
/// the caller's transaction. Keys of different owners or RPCs never meet, so
/// nobody can squat or probe another caller's keys.
pub async fn claim(
    tx: &mut PgConnection,
    scope: &str,
    owner: &str,
    key: &str,
    hash: &[u8; 32],
    response: Option<&[u8]>,
    now: DateTime<Utc>,
) -> Result<Claim, Error> {
    let inserted = sqlx::query(
        "INSERT INTO platform.idempotency_keys (scope, owner, key, request_hash, created_at, response)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (scope, owner, key) DO NOTHING",
    )
    .bind(scope)
    .bind(owner)
    .bind(key)
    .bind(&hash[..])
    .bind(now)
    .bind(response)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::Fresh);
    }
    let (stored_hash, response): (Vec<u8>, Option<Vec<u8>>) = sqlx::query_as(
        "SELECT request_hash, response FROM platform.idempotency_keys WHERE scope = $1 AND owner = $2 AND key = $3",
    )
    .bind(scope)
    .bind(owner)
    .bind(key)
    .fetch_one(&mut *tx)
    .await?;
    if stored_hash != hash {
        return Ok(Claim::Conflict);
    }
    // The key row and its response commit together, so a committed key always
    // has its response.
    response
        .map(Claim::Replay)
        .ok_or_else(|| Error::internal("idempotency key committed without a response"))
}

/// Stores the response of a [`Claim::Fresh`] key, in the same transaction.
pub async fn complete(
    tx: &mut PgConnection,
    scope: &str,
    owner: &str,
    key: &str,
    response: &[u8],
) -> Result<(), Error> {
    sqlx::query("UPDATE platform.idempotency_keys SET response = $4 WHERE scope = $1 AND owner = $2 AND key = $3")
        .bind(scope)
        .bind(owner)
        .bind(key)
        .bind(response)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
