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
        // At least one call a day: a slower bucket's wait overflows a
        // duration, and is a ban rather than a limit.
        if !(1.0 / 86_400.0..=1e9).contains(&per_second) {
            return Err(format!("{text:?}: the rate must be between one a day and 1e9/s"));
        }
        if burst == Some(0) {
            return Err(format!("{text:?}: a burst of 0 admits nothing; use `off` for no limit"));
        }
        let burst = burst
            .unwrap_or((per_second * 2.0).ceil().min(f64::from(u32::MAX)) as u32)
            .max(1);
        Ok(Rate { per_second, burst })
    }
}

/// Marks a request already charged to its caller (by the REST gateway,
/// before it read the body): the auth layer does not charge it again. Only
/// code in the server can set an extension, so no client can.
#[derive(Debug, Clone, Copy)]
pub struct Charged;

/// Who a bucket is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Subject(Role, String),
    Ip(IpAddr),
}

/// The address a bucket is kept for: an IPv6 client by its /64 (one
/// network hands out the rest freely), an IPv4-mapped one as IPv4.
fn network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets kept before full ones (which are as good as none) are dropped.
const SWEEP_ABOVE: usize = 100_000;
/// Buckets kept at most (a few tens of MB).
const MAX_BUCKETS: usize = 1_000_000;

#[derive(Debug)]
struct Buckets {
    map: HashMap<Key, Bucket>,
    /// The size at which the map is next swept.
    sweep_at: usize,
}

impl Buckets {
    fn new() -> Mutex<Buckets> {
        Mutex::new(Buckets {
            map: HashMap::new(),
            sweep_at: SWEEP_ABOVE,
        })
    }
}

/// The limits of one server; each replica keeps its own buckets.
#[derive(Debug)]
pub struct RateLimiter {
    per_caller: Option<Rate>,
    per_ip: Option<Rate>,
    /// Callers' and addresses' buckets apart, each swept by its own rate.
    callers: Mutex<Buckets>,
    ips: Mutex<Buckets>,
    trusted: Vec<Cidr>,
}

/// An address range, `10.0.0.0/8` or `2001:db8::/32` (a bare address is
/// one host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let bad = || format!("{text:?} is not an address range like 10.0.0.0/8");
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix.parse::<u8>().map_err(|_| bad())?)),
            None => (text, None),
        };
        let network: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let masked = |bits: u128, width: u32| match self.prefix {
            0 => 0,
            p => bits >> (width - u32::from(p)),
        };
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => masked(u32::from(n).into(), 32) == masked(u32::from(a).into(), 32),
            (IpAddr::V6(n), IpAddr::V6(a)) => masked(u128::from(n), 128) == masked(u128::from(a), 128),
            _ => false,
        }
    }
}

/// The client behind `peer`: `peer` itself unless it is a trusted proxy,
/// else the right-most address of `X-Forwarded-For` that is not one (each
/// proxy appends the address it was called from; what is left of the last
/// trusted one is the caller's to write, so not believed).
pub fn client_ip(peer: IpAddr, headers: &http::HeaderMap, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if is_trusted(ip) => client = ip,
            Ok(ip) => return ip,
            Err(_) => return client,
        }
    }
    client
}

impl RateLimiter {
    pub fn new(per_caller: Option<Rate>, per_ip: Option<Rate>) -> RateLimiter {
        RateLimiter {
            per_caller,
            per_ip,
            callers: Buckets::new(),
            ips: Buckets::new(),
            trusted: Vec::new(),
        }
    }

    /// An authenticated call: customers and partners pay from their bucket.
    pub fn admit_caller(&self, caller: &Caller) -> Result<(), Status> {
        match (caller.role, self.per_caller) {
            (Role::Customer | Role::Partner, Some(rate)) => take(
                &self.callers,
                Key::Subject(caller.role, caller.subject.clone()),
                rate,
                None,
            ),
            _ => Ok(()),
        }
    }

    /// Proxies (load balancers) whose `X-Forwarded-For` is believed: a call
    /// from one is counted against the client it names.
    pub fn with_trusted_proxies(mut self, proxies: Vec<Cidr>) -> RateLimiter {
        self.trusted = proxies;
        self
    }

    /// A call without a valid token, from `peer` (when known), through the
    /// proxies `headers` name.
    pub fn admit_anonymous(&self, peer: Option<IpAddr>, headers: &http::HeaderMap) -> Result<(), Status> {
        let ip = peer.map(|peer| client_ip(peer, headers, &self.trusted));
        match (ip, self.per_ip) {
            (Some(ip), Some(rate)) => take(&self.ips, Key::Ip(network(ip)), rate, None),
            _ => Ok(()),
        }
    }
}

/// Takes a token from `key`'s bucket. The time is read under the lock (or
/// given, in tests), so a bucket's clock never runs backwards.
fn take(map: &Mutex<Buckets>, key: Key, rate: Rate, at: Option<Instant>) -> Result<(), Status> {
    let burst = f64::from(rate.burst);
    let mut buckets = map.lock().unwrap_or_else(|p| p.into_inner());
    let now = at.unwrap_or_else(Instant::now);
    if buckets.map.len() > buckets.sweep_at {
        // Full buckets are as good as none. Swept again only once the map
        // has doubled, so a flood of keys that cannot be swept costs a
        // sweep per doubling, not one per call; past the cap, every bucket
        // goes (a moment's looser limits, bounded memory).
        buckets
            .map
            .retain(|_, b| refill(b, rate.per_second, burst, now) < burst);
        if buckets.map.len() > MAX_BUCKETS {
            buckets.map.clear();
        }
        buckets.sweep_at = (buckets.map.len() * 2).max(SWEEP_ABOVE);
    }
    let bucket = buckets.map.entry(key).or_insert(Bucket { tokens: burst, at: now });
    bucket.tokens = refill(bucket, rate.per_second, burst, now);
    bucket.at = now;
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        return Ok(());
    }
    let wait = Duration::from_secs_f64((1.0 - bucket.tokens) / rate.per_second);
    Err(limited(wait))
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
        for bad in [
            "20", "0/s", "-1/s", "NaN/s", "inf/s", "20/s:x", "/s", "20/m", "1e-30/s", "20/s:0",
        ] {
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
            take(&limiter.callers, key.clone(), rate, Some(t0)).unwrap();
        }
        let refused = take(&limiter.callers, key.clone(), rate, Some(t0)).unwrap_err();
        assert_eq!(refused.code(), Code::ResourceExhausted);
        let wait = refused.get_details_retry_info().unwrap().retry_delay.unwrap();
        assert_eq!(wait, Duration::from_millis(500), "one token comes every half second");
        assert_eq!(refused.get_details_error_info().unwrap().reason, "RATE_LIMITED");
        // Half a second later exactly one more call goes through.
        let t1 = t0 + Duration::from_millis(500);
        take(&limiter.callers, key.clone(), rate, Some(t1)).unwrap();
        assert!(take(&limiter.callers, key.clone(), rate, Some(t1)).is_err());
        // Another customer has a bucket of their own.
        take(
            &limiter.callers,
            Key::Subject(Role::Customer, "c-2".into()),
            rate,
            Some(t1),
        )
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
        limiter.admit_anonymous(Some(ip), &http::HeaderMap::new()).unwrap();
        assert!(limiter.admit_anonymous(Some(ip), &http::HeaderMap::new()).is_err());
        limiter
            .admit_anonymous(Some("192.0.2.2".parse().unwrap()), &http::HeaderMap::new())
            .unwrap();
        // An IPv6 network is one client; an IPv4-mapped address is IPv4.
        limiter
            .admit_anonymous(Some("2001:db8::1".parse().unwrap()), &http::HeaderMap::new())
            .unwrap();
        assert!(
            limiter
                .admit_anonymous(Some("2001:db8::ffff:1".parse().unwrap()), &http::HeaderMap::new())
                .is_err()
        );
        limiter
            .admit_anonymous(Some("2001:db8:0:1::1".parse().unwrap()), &http::HeaderMap::new())
            .unwrap();
        assert!(
            limiter
                .admit_anonymous(Some("::ffff:192.0.2.1".parse().unwrap()), &http::HeaderMap::new())
                .is_err()
        );
    }

    #[test]
    fn the_client_is_found_behind_trusted_proxies_only() {
        let trusted = [
            Cidr::parse("10.0.0.0/8").unwrap(),
            Cidr::parse("2001:db8::/32").unwrap(),
        ];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let forwarded = |v: &str| {
            let mut h = http::HeaderMap::new();
            h.insert("x-forwarded-for", v.parse().unwrap());
            h
        };
        // Straight from the client: its address, whatever it claims.
        assert_eq!(
            client_ip(ip("198.51.100.7"), &forwarded("1.2.3.4"), &trusted),
            ip("198.51.100.7")
        );
        // Through the load balancer: the hop it saw.
        assert_eq!(
            client_ip(ip("10.1.2.3"), &forwarded("198.51.100.7"), &trusted),
            ip("198.51.100.7")
        );
        // A forged entry left of the real client is not believed.
        assert_eq!(
            client_ip(ip("10.1.2.3"), &forwarded("1.2.3.4, 198.51.100.7, 10.9.9.9"), &trusted),
            ip("198.51.100.7")
        );
        // Nothing usable: the proxy itself.
        assert_eq!(
            client_ip(ip("10.1.2.3"), &forwarded("garbage"), &trusted),
            ip("10.1.2.3")
        );
        assert_eq!(
            client_ip(ip("10.1.2.3"), &http::HeaderMap::new(), &trusted),
            ip("10.1.2.3")
        );
        assert!(Cidr::parse("2001:db8::/32").unwrap().contains(ip("2001:db8:1::1")));
        assert!(!Cidr::parse("2001:db8::/32").unwrap().contains(ip("2001:db9::1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("203.0.113.1")));
        assert!(Cidr::parse("192.0.2.1").unwrap().contains(ip("192.0.2.1")));
        for bad in ["10.0.0.0/33", "nope", "10.0.0.0/x", "::/129"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
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
            take(
                &limiter.callers,
                Key::Subject(Role::Customer, i.to_string()),
                rate,
                Some(t0),
            )
            .unwrap();
        }
        // A second later every bucket is full again, so the next call
        // sweeps them all but its own.
        let later = t0 + Duration::from_secs(1);
        take(
            &limiter.callers,
            Key::Subject(Role::Customer, "new".into()),
            rate,
            Some(later),
        )
        .unwrap();
        assert_eq!(limiter.callers.lock().unwrap().map.len(), 1);
    }
}
