//! Where a customer reached the store. The wire enum is
//! `aftercare.common.v1.Channel`; its conversions live with the transport.

crate::named_enum!(
    /// A contact channel; every case history merges them.
    Channel {
        Web = "web",
        MobileApp = "mobile_app",
        Phone = "phone",
        Email = "email",
        LiveChat = "live_chat",
        Social = "social",
        Store = "store",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(*c));
        }
        assert_eq!(Channel::parse("fax"), None);
    }
}
