#![doc = include_str!("../README.md")]

mod clock;
mod error;
mod id;
mod kinds;
mod outcome;
mod provenance;
mod random;
mod secret;
mod timestamp;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Cause, ErrorChain, StoreError, Unique};
pub use id::{Id, IdError, IdKind};
pub use kinds::*;
pub use outcome::Outcome;
pub use provenance::Provenance;
pub use random::{random_bytes, random_hex};
pub use secret::Secret;
pub use timestamp::{
    Timestamp, TimestampError, deserialize_lenient as deserialize_lenient_timestamp,
};
