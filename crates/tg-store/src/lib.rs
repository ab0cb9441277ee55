#![doc = include_str!("../README.md")]

mod access;
mod agents;
mod audit;
mod challenges;
mod checkpointer;
mod conn;
mod conn_threads;
mod db;
mod delegations;
mod error;
mod keys;
mod leases;
mod log;
mod pg_pool;
mod pg_unnest;
mod receipts;
mod revocations;
mod schema;
mod signals;
mod trust;
mod vouches;
mod webhooks;

pub use db::{Db, DbConfig, migrate};

/// Fresh stores for tests (this crate's and the server's).
pub mod testing;
