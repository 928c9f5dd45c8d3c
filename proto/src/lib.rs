//! aftercare's contracts: the `.proto` files under `aftercare/` and the Rust
//! generated from them at build time. `aftercare.<area>.v1` holds each
//! service's RPCs; `aftercare.<area>.events.v1` the payloads of its events.

/// Encoded `FileDescriptorSet` of every contract (with its imports), served by
/// gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/aftercare_descriptor.bin"));

pub mod aftercare {
    pub mod common {
        pub mod v1 {
            tonic::include_proto!("aftercare.common.v1");
        }
    }
    pub mod orders {
        pub mod v1 {
            tonic::include_proto!("aftercare.orders.v1");
        }
        pub mod events {
            pub mod v1 {
                tonic::include_proto!("aftercare.orders.events.v1");
            }
        }
    }
    pub mod events {
        pub mod v1 {
            tonic::include_proto!("aftercare.events.v1");
        }
    }
    pub mod loyalty {
        pub mod v1 {
            tonic::include_proto!("aftercare.loyalty.v1");
        }
        pub mod events {
            pub mod v1 {
                tonic::include_proto!("aftercare.loyalty.events.v1");
            }
        }
    }
    pub mod returns {
        pub mod v1 {
            tonic::include_proto!("aftercare.returns.v1");
        }
        pub mod events {
            pub mod v1 {
                tonic::include_proto!("aftercare.returns.events.v1");
            }
        }
    }
    pub mod feedback {
        pub mod v1 {
            tonic::include_proto!("aftercare.feedback.v1");
        }
        pub mod events {
            pub mod v1 {
                tonic::include_proto!("aftercare.feedback.events.v1");
            }
        }
    }
    pub mod insight {
        pub mod v1 {
            tonic::include_proto!("aftercare.insight.v1");
        }
    }
    pub mod maintenance {
        pub mod v1 {
            tonic::include_proto!("aftercare.maintenance.v1");
        }
        pub mod events {
            pub mod v1 {
                tonic::include_proto!("aftercare.maintenance.events.v1");
            }
        }
    }
    pub mod warranty {
        pub mod v1 {
            tonic::include_proto!("aftercare.warranty.v1");
        }
        pub mod events {
            pub mod v1 {
                tonic::include_proto!("aftercare.warranty.events.v1");
            }
        }
    }
}

pub use aftercare::common::v1 as common;
pub use aftercare::events::v1 as events;
pub use aftercare::feedback::events::v1 as feedback_events;
pub use aftercare::feedback::v1 as feedback;
pub use aftercare::insight::v1 as insight;
pub use aftercare::loyalty::events::v1 as loyalty_events;
pub use aftercare::loyalty::v1 as loyalty;
pub use aftercare::maintenance::events::v1 as maintenance_events;
pub use aftercare::maintenance::v1 as maintenance;
pub use aftercare::orders::events::v1 as order_events;
pub use aftercare::orders::v1 as orders;
pub use aftercare::returns::events::v1 as return_events;
pub use aftercare::returns::v1 as returns;
pub use aftercare::warranty::events::v1 as warranty_events;
pub use aftercare::warranty::v1 as warranty;
