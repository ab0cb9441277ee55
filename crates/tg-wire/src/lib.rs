//! The HTTP API's wire types: every request and response body and query string of
//! `tg-api`, shared with the SDK so that what the server serialises is, by construction,
//! what its clients parse.
//!
//! Domain types that travel as they are (`Receipt`, `AuditEvent`, `TrustResult`, …) come
//! from their own crates. The conversions from the server's views sit behind the `server`
//! feature, which only `tg-api` turns on: without it this crate links no server code. With
//! the `openapi` feature every type also derives its OpenAPI schema (used by `tg-api`).

pub mod a2a;
pub mod admin;
pub mod agents;
pub mod audit;
pub mod authorize;
pub mod delegations;
pub mod error;
#[cfg(feature = "server")]
mod from_service;
pub mod identity;
pub mod lifecycle;
pub mod live;
pub mod log;
pub mod oauth;
pub mod page;
pub mod policy;
pub mod receipts;
pub mod signed;
pub mod ssf;
pub mod system;
pub mod vouches;
pub mod webhooks;

pub use page::{Page, default_page_limit, empty_as_none};

/// The README's usage, run as a doc test.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
