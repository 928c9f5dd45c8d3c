//! OrderService end to end: recording, replays and conflicts, deliveries,
//! cancellation, reads, paging, events, and every kind of bad input.

mod bad_input;
mod intake;
mod lifecycle;

use aftercare_proto::common::Money;

fn amount(m: &Option<Money>) -> &str {
    &m.as_ref().expect("money set").amount
}
