//! Leader election for background work shared by every instance on one database: a named
//! lease, held by one instance until it expires and renewed while that instance works.

use tg_core::{StoreError, Timestamp};

/// Storage of leases.
///
/// `take_lease` gives `holder` the lease `name` until `until` when the lease is free,
/// expired at `now`, or already `holder`'s, and answers whether `holder` holds it now. Two
/// instances asking at once: exactly one wins.
#[async_trait::async_trait]
pub trait LeaseStore: Send {
    async fn take_lease(
        &mut self,
        name: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError>;
}
