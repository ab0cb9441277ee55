//! The SDK against a spawned gateway (the server's own start-up on a SQLite file), and
//! against stand-ins that fail in the ways a network does.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod blocking;
mod coverage;
mod examples;
mod fail_closed;
mod live;
mod session;
mod support;
mod tokens;
