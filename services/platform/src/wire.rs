//! The wire forms of kernel types: `aftercare.common.v1.Money`,
//! `aftercare.common.v1.Channel` and `google.protobuf.Timestamp`.

use aftercare_kernel::channel::Channel;
use aftercare_kernel::clock::to_micros;
use aftercare_kernel::money::{Currency, Money, MoneyError};
use aftercare_kernel::{DateTime, Utc};
use aftercare_proto::common::{Channel as PbChannel, Money as PbMoney};
use prost_types::Timestamp;

pub fn money(m: Money) -> PbMoney {
    PbMoney {
        currency_code: m.currency().code().to_owned(),
        amount: m.to_amount_string(),
    }
}

/// Parses a wire amount in whatever currency it names.
pub fn parse_money(m: &PbMoney) -> Result<Money, MoneyError> {
    let currency = Currency::from_code(&m.currency_code)
        .ok_or_else(|| MoneyError::UnknownCurrency(m.currency_code.chars().take(8).collect()))?;
    Money::parse(currency, &m.amount)
}

const CHANNELS: [(PbChannel, Channel); 7] = [
    (PbChannel::Web, Channel::Web),
    (PbChannel::MobileApp, Channel::MobileApp),
    (PbChannel::Phone, Channel::Phone),
    (PbChannel::Email, Channel::Email),
    (PbChannel::LiveChat, Channel::LiveChat),
    (PbChannel::Social, Channel::Social),
    (PbChannel::Store, Channel::Store),
];

/// The channel of a wire enum value; `None` for unspecified or unknown.
pub fn channel_from_proto(value: i32) -> Option<Channel> {
    CHANNELS.iter().find(|(p, _)| *p as i32 == value).map(|(_, c)| *c)
}

pub fn channel_to_proto(c: Channel) -> i32 {
    CHANNELS
        .iter()
        .find(|(_, k)| *k == c)
        .map(|(p, _)| *p as i32)
        .unwrap_or_default()
}

/// The instants a request may name: years 1 to 9999 (Postgres stores less
/// than chrono can represent; both ends fit both).
pub const EARLIEST: i64 = -62_135_596_800;
pub const LATEST: i64 = 253_402_300_799;

/// A wire timestamp as a UTC instant truncated to microseconds, or `None`
/// when it is out of range (nanos outside 0..1e9, or outside years 1-9999).
pub fn from_timestamp(ts: &Timestamp) -> Option<DateTime<Utc>> {
    if !(0..1_000_000_000).contains(&ts.nanos) || !(EARLIEST..=LATEST).contains(&ts.seconds) {
        return None;
    }
    DateTime::from_timestamp(ts.seconds, ts.nanos as u32).map(to_micros)
}

pub fn timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_outside_years_1_to_9999_are_refused() {
        let ts = |seconds, nanos| Timestamp { seconds, nanos };
        assert!(from_timestamp(&ts(EARLIEST, 0)).is_some());
        assert!(from_timestamp(&ts(LATEST, 999_999_999)).is_some());
        for bad in [
            ts(EARLIEST - 1, 0),
            ts(LATEST + 1, 0),
            ts(-8_000_000_000_000, 0),
            ts(i64::MAX, 0),
            ts(0, -1),
        ] {
            assert_eq!(from_timestamp(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn channels_round_trip() {
        for c in Channel::ALL {
            assert_eq!(channel_from_proto(channel_to_proto(*c)), Some(*c));
        }
        assert_eq!(channel_from_proto(0), None);
        assert_eq!(channel_from_proto(99), None);
    }

    #[test]
    fn money_round_trips() {
        let eur = Currency::from_code("EUR").unwrap();
        let m = Money::parse(eur, "12.5").unwrap();
        assert_eq!(money(m).amount, "12.50");
        assert_eq!(parse_money(&money(m)), Ok(m));
        assert!(
            parse_money(&PbMoney {
                currency_code: "XXX".into(),
                amount: "1".into()
            })
            .is_err()
        );
    }
}
