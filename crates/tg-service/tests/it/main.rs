//! Use cases called as the API calls them, without HTTP: a gateway on a real SQLite file
//! with a manual clock, and principals of two tenants.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod a2a_card;
mod audit_queue;
mod lifecycle;
mod shutdown;
mod support;
mod tenancy;
