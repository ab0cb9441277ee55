#![doc = include_str!("../README.md")]

pub mod eigentrust;
mod model;
mod store;

pub use eigentrust::{
    Edge, Graph, GraphError, Params, Solution, credibility, eigentrust, vouch_factors,
};
pub use model::{Direction, MAX_NOTE, SIGNED_PREFIX, Vouch, VouchError, signed_message, validate};
pub use store::{VouchEdge, VouchStore};
