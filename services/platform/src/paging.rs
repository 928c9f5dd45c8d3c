//! Page sizes and opaque keyset page tokens.
//!
//! A token remembers where the previous page ended (a sort key and an id) and
//! a fingerprint of the query it belongs to, so a token cannot be replayed
//! against another query. Clients must treat it as opaque.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use crate::error::Error;

pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 200;
const VERSION: u8 = 1;

/// The page size a request asked for: 0 means the default; negative is
/// invalid; anything above the maximum is clamped to it (AIP-158).
pub fn page_size(requested: i32) -> Result<i64, Error> {
    match requested {
        0 => Ok(DEFAULT_PAGE_SIZE),
        n if n < 0 => Err(Error::invalid("page_size", "must not be negative")),
        n => Ok(i64::from(n).min(MAX_PAGE_SIZE)),
    }
}

/// The most a list response carries, encoded: well under the 4 MiB a gRPC
/// client accepts by default, however large each item may be.
pub const MAX_RESPONSE_BYTES: usize = 2 * 1024 * 1024;

/// How many leading items fit in `budget` bytes, given their encoded sizes:
/// always at least one, so a page always makes progress.
pub fn fitting(sizes: impl IntoIterator<Item = usize>, budget: usize) -> usize {
    let mut used = 0;
    let mut count = 0;
    for size in sizes {
        if count > 0 && used + size > budget {
            break;
        }
        used += size;
        count += 1;
    }
    count
}

/// Where a page ended: the last item's sort time and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: String,
}

fn fingerprint(query: &str) -> [u8; 8] {
    // FNV-1a: a stable fingerprint, not a security boundary.
    let mut hash: u64 = 0xcbf29ce484222325;
    for b in query.as_bytes() {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x100000001b3);
    }
    hash.to_be_bytes()
}

/// Encodes a cursor for the query described by `query`.
pub fn encode(query: &str, cursor: &Cursor) -> String {
    let mut bytes = Vec::with_capacity(17 + cursor.id.len());
    bytes.push(VERSION);
    bytes.extend_from_slice(&fingerprint(query));
    bytes.extend_from_slice(&cursor.at.timestamp_micros().to_be_bytes());
    bytes.extend_from_slice(cursor.id.as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes a token from the request field `field`; empty means the first page.
pub fn decode(field: &str, query: &str, token: &str) -> Result<Option<Cursor>, Error> {
    if token.is_empty() {
        return Ok(None);
    }
    let invalid = || Error::invalid(field, "not a page token from this query");
    if token.len() > 512 {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    if bytes.len() < 17 || bytes[0] != VERSION || bytes[1..9] != fingerprint(query) {
        return Err(invalid());
    }
    let micros = i64::from_be_bytes(bytes[9..17].try_into().expect("8 bytes"));
    // The fingerprint is no secret: a forged token must still name an
    // instant the database can compare with.
    let at = DateTime::from_timestamp_micros(micros)
        .filter(|t| (crate::wire::EARLIEST..=crate::wire::LATEST).contains(&t.timestamp()))
        .ok_or_else(invalid)?;
    let id = String::from_utf8(bytes[17..].to_vec()).map_err(|_| invalid())?;
    Ok(Some(Cursor { at, id }))
}

/// Cuts a page read with one row more than `limit` back to `limit`, and
/// the next page's token (empty on the last) from the last row's key.
pub fn next_token<T>(
    rows: &mut Vec<T>,
    limit: i64,
    query: &str,
    key: impl Fn(&T) -> (DateTime<Utc>, String),
) -> String {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    match rows.last().map(key) {
        Some((at, id)) if more => encode(query, &Cursor { at, id }),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_are_bound_to_their_query() {
        let cursor = Cursor {
            at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            id: "o-9".into(),
        };
        let token = encode("orders:c-1", &cursor);
        assert_eq!(decode("page_token", "orders:c-1", &token).unwrap(), Some(cursor));
        assert!(decode("page_token", "orders:c-2", &token).is_err());
        assert!(decode("page_token", "orders:c-1", "garbage!").is_err());
        assert!(decode("page_token", "orders:c-1", "AAAA").is_err());
        assert_eq!(decode("page_token", "orders:c-1", "").unwrap(), None);
    }

    #[test]
    fn pages_fit_their_byte_budget() {
        assert_eq!(fitting([10, 10, 10], 25), 2);
        assert_eq!(fitting([10, 10, 10], 30), 3);
        assert_eq!(fitting([100, 1], 10), 1, "at least one item");
        assert_eq!(fitting([], 10), 0);
    }

    #[test]
    fn page_sizes() {
        assert_eq!(page_size(0).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(7).unwrap(), 7);
        assert_eq!(page_size(10_000).unwrap(), MAX_PAGE_SIZE);
        assert!(page_size(-1).is_err());
    }
}
