//! The live policy: the configured base (preset or TOML file) with the operator's edits to
//! tiers and catalog, persisted so every instance sees the same policy, and held in memory
//! until another version is persisted.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use tg_scoring::{ActionRule, Catalog, Policy, TierBand, Tiers};

use crate::{PolicyDocument, ServiceError, Tx};

/// A policy and the persisted version it reflects (0 = the configured base, unedited).
#[derive(Debug, Clone)]
pub struct PolicySnapshot {
    pub version: i64,
    pub policy: Arc<Policy>,
}

#[derive(Debug)]
pub(crate) struct PolicyCache {
    base: Policy,
    current: RwLock<PolicySnapshot>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Edits {
    tiers: Vec<TierBand>,
    actions: BTreeMap<String, ActionRule>,
}

impl PolicyCache {
    pub(crate) fn new(base: Policy) -> Self {
        let current = RwLock::new(PolicySnapshot {
            version: 0,
            policy: Arc::new(base.clone()),
        });
        Self { base, current }
    }

    /// The configured base, before any persisted edit.
    pub(crate) fn base(&self) -> &Policy {
        &self.base
    }

    fn cached(&self) -> PolicySnapshot {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The policy at `version` if it is the one held (no database needed).
    pub(crate) fn at(&self, version: i64) -> Option<PolicySnapshot> {
        Some(self.cached()).filter(|c| c.version == version)
    }

    pub(crate) fn store(&self, snapshot: PolicySnapshot) {
        match self.current.write() {
            Ok(mut guard) => *guard = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
    }

    /// The configured base with `doc`'s edits applied.
    pub(crate) fn apply(&self, doc: &PolicyDocument) -> Result<Policy, ServiceError> {
        let edits: Edits = serde_json::from_str(&doc.document)
            .map_err(|e| ServiceError::internal_because("stored policy unreadable", e))?;
        let mut policy = self.base.clone();
        policy.tiers = Tiers::new(edits.tiers)
            .map_err(|e| ServiceError::internal_because("stored tiers invalid", e))?;
        let mut catalog = Catalog::default();
        for (name, rule) in edits.actions {
            catalog
                .set(&name, rule, &policy.tiers)
                .map_err(|e| ServiceError::internal_because("stored catalog invalid", e))?;
        }
        policy.catalog = catalog;
        Ok(policy)
    }

    /// The policy as persisted now: one small query to compare versions; the document is
    /// read and parsed only when another instance (or this one) changed it.
    pub(crate) async fn load(&self, tx: &mut dyn Tx) -> Result<PolicySnapshot, ServiceError> {
        let version = tx.policy_version().await?;
        self.load_at(tx, version).await
    }

    /// The policy at `version` (already read by the caller).
    pub(crate) async fn load_at(
        &self,
        tx: &mut dyn Tx,
        version: i64,
    ) -> Result<PolicySnapshot, ServiceError> {
        let cached = self.cached();
        if cached.version == version {
            return Ok(cached);
        }
        let Some(doc) = tx.policy_document().await? else {
            return Ok(PolicySnapshot {
                version: 0,
                policy: Arc::new(self.base.clone()),
            });
        };
        let snapshot = PolicySnapshot {
            version: doc.version,
            policy: Arc::new(self.apply(&doc)?),
        };
        if snapshot.version > cached.version {
            self.store(snapshot.clone());
        }
        Ok(snapshot)
    }
}

pub(crate) fn document_of(policy: &Policy) -> Result<String, ServiceError> {
    let edits = Edits {
        tiers: policy.tiers.bands().to_vec(),
        actions: policy
            .catalog
            .entries()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    };
    serde_json::to_string(&edits)
        .map_err(|e| ServiceError::internal_because("the policy as JSON", e))
}
