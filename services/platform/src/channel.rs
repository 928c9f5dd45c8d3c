//! Where a customer reached the store (`aftercare.common.v1.Channel`).

use aftercare_proto::common::Channel as ProtoChannel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Web,
    MobileApp,
    Phone,
    Email,
    LiveChat,
    Social,
    Store,
}

impl Channel {
    pub const ALL: [Channel; 7] = [
        Channel::Web,
        Channel::MobileApp,
        Channel::Phone,
        Channel::Email,
        Channel::LiveChat,
        Channel::Social,
        Channel::Store,
    ];

    /// The stable name stored in the database and in events.
    pub fn as_str(&self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::MobileApp => "mobile_app",
            Channel::Phone => "phone",
            Channel::Email => "email",
            Channel::LiveChat => "live_chat",
            Channel::Social => "social",
            Channel::Store => "store",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The channel of a wire enum value; `None` for unspecified or unknown.
    pub fn from_proto(value: i32) -> Option<Channel> {
        Some(match ProtoChannel::try_from(value).ok()? {
            ProtoChannel::Unspecified => return None,
            ProtoChannel::Web => Channel::Web,
            ProtoChannel::MobileApp => Channel::MobileApp,
            ProtoChannel::Phone => Channel::Phone,
            ProtoChannel::Email => Channel::Email,
            ProtoChannel::LiveChat => Channel::LiveChat,
            ProtoChannel::Social => Channel::Social,
            ProtoChannel::Store => Channel::Store,
        })
    }

    pub fn to_proto(self) -> ProtoChannel {
        match self {
            Channel::Web => ProtoChannel::Web,
            Channel::MobileApp => ProtoChannel::MobileApp,
            Channel::Phone => ProtoChannel::Phone,
            Channel::Email => ProtoChannel::Email,
            Channel::LiveChat => ProtoChannel::LiveChat,
            Channel::Social => ProtoChannel::Social,
            Channel::Store => ProtoChannel::Store,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
            assert_eq!(Channel::from_proto(c.to_proto() as i32), Some(c));
        }
        assert_eq!(Channel::from_proto(0), None);
        assert_eq!(Channel::from_proto(99), None);
    }
}
