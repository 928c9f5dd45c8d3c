//! Conversions between `google.protobuf.Timestamp` and `chrono`.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;

use crate::clock::to_micros;

/// A wire timestamp as a UTC instant truncated to microseconds, or `None`
/// when it is out of range (nanos outside 0..1e9, or beyond year 9999).
pub fn from_proto(ts: &Timestamp) -> Option<DateTime<Utc>> {
    if !(0..1_000_000_000).contains(&ts.nanos) {
        return None;
    }
    let t = DateTime::from_timestamp(ts.seconds, ts.nanos as u32)?;
    (t.timestamp() < 253_402_300_800).then(|| to_micros(t))
}

pub fn to_proto(t: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}
