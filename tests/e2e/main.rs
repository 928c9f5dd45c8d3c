//! End-to-end tests: the real server over a socket, real Postgres, generated
//! clients. See `support` for the harness.

mod checks;
mod cli;
mod console;
mod console_pages;
mod dead_letters;
mod events;
mod feedback;
mod fixtures;
mod gateway;
mod hostile;
mod idempotency;
mod insight;
mod loyalty;
mod maintenance;
mod nats;
mod orders;
mod outage;
mod outbox;
mod platform;
mod receiver;
mod restart;
mod returns;
mod roles;
mod support;
mod test_db;
mod warranty;
mod webhooks;
