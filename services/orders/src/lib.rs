//! Order intake: the storefront's paid orders and their deliveries, which
//! every after-sales case starts from.
//!
//! - [`domain`] — pricing, delivery and cancellation rules (pure);
//! - [`store`] — the `orders` schema;
//! - [`api`] — `aftercare.orders.v1.OrderService`.

pub mod api;
pub mod domain;
pub mod store;
