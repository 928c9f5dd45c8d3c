//! The rules of order intake, on the kernel only: what a reported order must
//! satisfy and how it is priced ([`intake`]), what a recorded order may do
//! next ([`order`]), and what can go wrong ([`error`]).

pub mod error;
pub mod intake;
pub mod order;

pub use error::OrderError;
pub use intake::{NewLine, NewOrder, PricedLine, PricedOrder};
pub use order::{Line, Order, OrderStatus};

pub const MAX_LINES: usize = 500;
pub const MAX_QUANTITY: i32 = 10_000;
pub const MAX_ID_LEN: usize = 128;
pub const MAX_PRODUCT_NAME_LEN: usize = 300;
pub const MAX_CATEGORY_LEN: usize = 100;
pub const MAX_REASON_LEN: usize = 500;
/// No order is older than this: earlier times are typos or hostile input.
pub const EARLIEST_ORDER: aftercare_kernel::DateTime<aftercare_kernel::Utc> =
    aftercare_kernel::DateTime::from_timestamp_nanos(946_684_800_000_000_000);
/// How far in the future a reported time may be, for clock skew between the
/// storefront and us.
pub const CLOCK_SKEW: aftercare_kernel::Duration = aftercare_kernel::Duration::minutes(5);
