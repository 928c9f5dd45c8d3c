//! Per-caller rate limits: a token bucket per customer or partner (by
//! token subject) and per IP address for calls without a valid token.
//! Staff and service tokens are not limited here: they are a few trusted
//! backends and people whose volume is the store's own, sized by capacity.
//!
//! A refused call is RESOURCE_EXHAUSTED with `RetryInfo` (when a token will
//! be there) and `ErrorInfo` reason `RATE_LIMITED`; over REST, 429 with
//! `Retry-After`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::auth::{Caller, Role};
use crate::error::ERROR_DOMAIN;

/// A sustained rate and the burst allowed above it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: u32,
}

impl Rate {
    /// `20/s` or `20/s:40` (the burst; default twice the rate, at least 1).
    pub fn parse(text: &str) -> Result<Rate, String> {
        let bad = || format!("{text:?} is not a rate like 20/s or 20/s:40");
        let (rate, burst) = match text.split_once(':') {
            Some((rate, burst)) => (rate, Some(burst.parse::<u32>().map_err(|_| bad())?)),
            None => (text, None),
        };
        let per_second: f64 = rate.strip_suffix("/s").ok_or_else(bad)?.parse().map_err(|_| bad())?;
        if !(per_second.is_finite() && per_second > 0.0) {
            return Err(bad());
        }
        let burst = burst
            .unwrap_or((per_second * 2.0).ceil().min(f64::from(u32::MAX)) as u32)
            .max(1);
        Ok(Rate { per_second, burst })
    }
}

/// Who a bucket is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Subject(Role, String),
    Ip(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets kept before full ones (which are as good as none) are dropped.
const SWEEP_ABOVE: usize = 100_000;

/// The limits of one server; each replica keeps its own buckets.
#[derive(Debug)]
pub struct RateLimiter {
    per_caller: Option<Rate>,
    per_ip: Option<Rate>,
    buckets: Mutex<HashMap<Key, Bucket>>,
}

impl RateLimiter {
    pub fn new(per_caller: Option<Rate>, per_ip: Option<Rate>) -> RateLimiter {
        RateLimiter {
            per_caller,
            per_ip,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// An authenticated call: customers and partners pay from their bucket.
    pub fn admit_caller(&self, caller: &Caller) -> Result<(), Status> {
        match (caller.role, self.per_caller) {
            (Role::Customer | Role::Partner, Some(rate)) => {
                self.take(Key::Subject(caller.role, caller.subject.clone()), rate, Instant::now())
            }
            _ => Ok(()),
        }
    }

    /// A call without a valid token, from `ip` (when known).
    pub fn admit_anonymous(&self, ip: Option<IpAddr>) -> Result<(), Status> {
        match (ip, self.per_ip) {
            (Some(ip), Some(rate)) => self.take(Key::Ip(ip), rate, Instant::now()),
            _ => Ok(()),
        }
    }

    fn take(&self, key: Key, rate: Rate, now: Instant) -> Result<(), Status> {
        let burst = f64::from(rate.burst);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > SWEEP_ABOVE {
            buckets.retain(|_, b| refill(b, rate.per_second, burst, now) < burst);
        }
        let bucket = buckets.entry(key).or_insert(Bucket { tokens: burst, at: now });
        bucket.tokens = refill(bucket, rate.per_second, burst, now);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = Duration::from_secs_f64((1.0 - bucket.tokens) / rate.per_second);
        Err(limited(wait))
    }
}

fn refill(bucket: &Bucket, per_second: f64, burst: f64, now: Instant) -> f64 {
    let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
    (bucket.tokens + elapsed * per_second).min(burst)
}

fn limited(wait: Duration) -> Status {
    let mut details = ErrorDetails::with_retry_info(Some(wait));
    details.set_error_info("RATE_LIMITED", ERROR_DOMAIN, std::collections::HashMap::new());
    Status::with_error_details(Code::ResourceExhausted, "too many calls; retry later", details)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(id: &str) -> Caller {
        Caller {
            role: Role::Customer,
            subject: id.into(),
        }
    }

    #[test]
    fn rates_parse() {
        assert_eq!(
            Rate::parse("20/s").unwrap(),
            Rate {
                per_second: 20.0,
                burst: 40
            }
        );
        assert_eq!(
            Rate::parse("0.5/s:3").unwrap(),
            Rate {
                per_second: 0.5,
                burst: 3
            }
        );
        assert_eq!(Rate::parse("0.1/s").unwrap().burst, 1);
        for bad in ["20", "0/s", "-1/s", "NaN/s", "inf/s", "20/s:x", "/s", "20/m"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        let limiter = RateLimiter::new(
            Some(Rate {
                per_second: 2.0,
                burst: 3,
            }),
            None,
        );
        let key = Key::Subject(Role::Customer, "c-1".into());
        let rate = limiter.per_caller.unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.take(key.clone(), rate, t0).unwrap();
        }
        let refused = limiter.take(key.clone(), rate, t0).unwrap_err();
        assert_eq!(refused.code(), Code::ResourceExhausted);
        let wait = refused.get_details_retry_info().unwrap().retry_delay.unwrap();
        assert_eq!(wait, Duration::from_millis(500), "one token comes every half second");
        assert_eq!(refused.get_details_error_info().unwrap().reason, "RATE_LIMITED");
        // Half a second later exactly one more call goes through.
        let t1 = t0 + Duration::from_millis(500);
        limiter.take(key.clone(), rate, t1).unwrap();
        assert!(limiter.take(key.clone(), rate, t1).is_err());
        // Another customer has a bucket of their own.
        limiter
            .take(Key::Subject(Role::Customer, "c-2".into()), rate, t1)
            .unwrap();
    }

    #[test]
    fn staff_and_services_are_not_limited_and_anonymous_calls_are_per_ip() {
        let one = Some(Rate {
            per_second: 0.001,
            burst: 1,
        });
        let limiter = RateLimiter::new(one, one);
        for role in [Role::Service, Role::Agent, Role::Admin] {
            let caller = Caller {
                role,
                subject: "s".into(),
            };
            for _ in 0..10 {
                limiter.admit_caller(&caller).unwrap();
            }
        }
        limiter.admit_caller(&customer("c-1")).unwrap();
        assert!(limiter.admit_caller(&customer("c-1")).is_err());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        limiter.admit_anonymous(Some(ip)).unwrap();
        assert!(limiter.admit_anonymous(Some(ip)).is_err());
        limiter.admit_anonymous(Some("192.0.2.2".parse().unwrap())).unwrap();
    }

    #[test]
    fn full_buckets_are_swept_when_there_are_many() {
        let rate = Rate {
            per_second: 1000.0,
            burst: 1,
        };
        let limiter = RateLimiter::new(Some(rate), None);
        let t0 = Instant::now();
        for i in 0..=SWEEP_ABOVE {
            limiter
                .take(Key::Subject(Role::Customer, i.to_string()), rate, t0)
                .unwrap();
        }
        // A second later every bucket is full again, so the next call
        // sweeps them all but its own.
        let later = t0 + Duration::from_secs(1);
        limiter
            .take(Key::Subject(Role::Customer, "new".into()), rate, later)
            .unwrap();
        assert_eq!(limiter.buckets.lock().unwrap().len(), 1);
    }
}
