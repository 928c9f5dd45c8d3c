//! aftercare's gRPC contracts: the `.proto` files under `aftercare/` and the
//! Rust generated from them at build time.

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
    }
    pub mod returns {
        pub mod v1 {
            tonic::include_proto!("aftercare.returns.v1");
        }
    }
}

pub use aftercare::common::v1 as common;
pub use aftercare::orders::v1 as orders;
pub use aftercare::returns::v1 as returns;
