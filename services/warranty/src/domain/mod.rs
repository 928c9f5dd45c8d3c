//! Warranty's rules, free of transport and storage: the terms
//! ([`terms`]), registrations and whether they are covered on a day
//! ([`registration`]), claims with their status graph ([`claim`]), their
//! service-level clocks ([`sla`]), repeat-failure rights ([`repeat`]) and
//! repairs at service centres ([`service_order`]).

pub mod claim;
pub mod error;
pub mod extension;
pub mod registration;
pub mod repeat;
pub mod service_order;
pub mod sla;
pub mod terms;

pub use claim::{Claim, ClaimStatus, ClaimStep, RejectionReason, TimelineEntry};
pub use error::WarrantyError;
pub use extension::{Base, Extension, Plan};
pub use registration::{Coverage, CoverageReason, Registration, RegistrationStatus, Source, TermsRef};
pub use repeat::{Entitlement, PastFault, Trigger};
pub use service_order::{CentreKind, ServiceOrder, ServiceOrderStatus, ServiceStep};
pub use sla::{Alarm, Clocks, Sla};
pub use terms::{Exclusion, Remedy, RepeatFailureRule, Terms};

aftercare_kernel::uuid_id!(
    /// A registered product.
    RegistrationId
);
aftercare_kernel::uuid_id!(
    /// A warranty claim.
    ClaimId
);
aftercare_kernel::uuid_id!(
    /// A repair at a service centre.
    ServiceOrderId
);
aftercare_kernel::uuid_id!(
    /// Money paid back on a claim (a refund or a price reduction) or a
    /// canceled plan.
    ClaimRefundId
);
aftercare_kernel::uuid_id!(
    /// An extended-warranty plan sold on an order line.
    ExtensionId
);

/// Customer ids, SKUs, order ids and references are the storefront's.
pub const MAX_ID_LEN: usize = 128;
pub const MAX_SERIAL_LEN: usize = 64;
pub const MAX_TEXT_LEN: usize = 4000;
pub const MAX_NOTE_LEN: usize = 2000;
pub const MAX_PHOTOS: usize = 10;
