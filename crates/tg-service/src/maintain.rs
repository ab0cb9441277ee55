//! `Gateway::maintain`: one round of background upkeep now, as the worker runs it.

use crate::ServiceError;
use crate::runtime::maintenance::MaintenanceRound;

impl crate::Gateway {
    /// One round of background upkeep (what the worker runs every period): when this
    /// instance holds the lease, the score sweep and a slice of chain verification.
    pub async fn maintain(&self) -> Result<MaintenanceRound, ServiceError> {
        self.maintenance.round().await
    }
}
