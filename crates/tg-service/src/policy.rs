//! The live policy: the configured base (preset or TOML file) with the operator's edits to
//! tiers and catalog, persisted so every instance sees the same policy.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use serde_json::json;
use tg_access::Principal;
use tg_audit::{Actor, AuditEvent, EventType};
use tg_scoring::{ActionRule, Catalog, Policy, TierBand, TierEdit, Tiers};

use crate::{Gateway, PolicyDocument, ServiceError, Tx, in_transaction};

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

    fn store(&self, snapshot: PolicySnapshot) {
        match self.current.write() {
            Ok(mut guard) => *guard = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
    }

    fn apply(&self, doc: &PolicyDocument) -> Result<Policy, ServiceError> {
        let edits: Edits = serde_json::from_str(&doc.document)
            .map_err(|e| ServiceError::Internal(format!("stored policy unreadable: {e}")))?;
        let mut policy = self.base.clone();
        policy.tiers = Tiers::new(edits.tiers)
            .map_err(|e| ServiceError::Internal(format!("stored tiers invalid: {e}")))?;
        let mut catalog = Catalog::default();
        for (name, rule) in edits.actions {
            catalog
                .set(&name, rule, &policy.tiers)
                .map_err(|e| ServiceError::Internal(format!("stored catalog invalid: {e}")))?;
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

fn document_of(policy: &Policy) -> Result<String, ServiceError> {
    let edits = Edits {
        tiers: policy.tiers.bands().to_vec(),
        actions: policy
            .catalog
            .entries()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    };
    serde_json::to_string(&edits).map_err(|e| ServiceError::Internal(e.to_string()))
}

/// What changed, for the `policy_changed` audit event.
struct Change {
    what: String,
    before: serde_json::Value,
    after: serde_json::Value,
}

impl Gateway {
    pub async fn policy(&self) -> Result<PolicySnapshot, ServiceError> {
        let cache = Arc::clone(&self.policy);
        crate::reading(self.store.as_ref(), move |tx| {
            Box::pin(async move { cache.load(tx).await })
        })
        .await
    }

    /// `PUT /tiers/{n}`: edits one band; neighbours' shared boundaries move with it.
    pub async fn edit_tier(
        &self,
        principal: &Principal,
        actor: &Actor,
        n: u8,
        edit: TierEdit,
    ) -> Result<PolicySnapshot, ServiceError> {
        self.require_operator(principal)?;
        self.edit_policy(actor, move |policy| {
            let snapshot = |p: &Policy| {
                json!({"band": p.tiers.band(n), "permissions": p.catalog.permitted_at(n)})
            };
            let before = snapshot(policy);
            policy.tiers = policy
                .tiers
                .edited(n, &edit)
                .map_err(|e| ServiceError::Invalid(e.to_string()))?;
            if let Some(permissions) = &edit.permissions {
                policy
                    .catalog
                    .grant_exactly(n, permissions, &policy.tiers)
                    .map_err(|e| ServiceError::Invalid(e.to_string()))?;
            }
            let after = snapshot(policy);
            // A catalog rule may not require a tier that no longer exists (tiers are fixed in
            // number by edits, so this holds; checked anyway).
            policy
                .validate()
                .map_err(|e| ServiceError::Invalid(e.to_string()))?;
            Ok(Change {
                what: format!("tier {n}"),
                before,
                after,
            })
        })
        .await
    }

    /// `PUT /actions/{name}`: adds or replaces a catalog rule.
    pub async fn put_action(
        &self,
        principal: &Principal,
        actor: &Actor,
        name: String,
        rule: ActionRule,
    ) -> Result<PolicySnapshot, ServiceError> {
        self.require_operator(principal)?;
        self.edit_policy(actor, move |policy| {
            let before = serde_json::to_value(policy.catalog.get(&name)).unwrap_or_default();
            policy
                .catalog
                .set(&name, rule, &policy.tiers)
                .map_err(|e| ServiceError::Invalid(e.to_string()))?;
            Ok(Change {
                what: format!("action {name}"),
                before,
                after: serde_json::to_value(rule).unwrap_or_default(),
            })
        })
        .await
    }

    async fn edit_policy<F>(&self, actor: &Actor, edit: F) -> Result<PolicySnapshot, ServiceError>
    where
        F: FnOnce(&mut Policy) -> Result<Change, ServiceError> + Send + 'static,
    {
        let cache = Arc::clone(&self.policy);
        let now = self.now();
        let actor = actor.clone();
        let snapshot = in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let version = tx.policy_version().await?;
                let mut policy = match tx.policy_document().await? {
                    None => cache.base.clone(),
                    Some(doc) => cache.apply(&doc)?,
                };
                let change = edit(&mut policy)?;
                let doc = PolicyDocument { version: version + 1, document: document_of(&policy)?, updated_at: now };
                tx.save_policy_document(&doc).await?;
                let details = json!({"changed": change.what, "before": change.before, "after": change.after, "version": doc.version});
                tx.append_audit(&AuditEvent::new(EventType::PolicyChanged, None, details, &actor, now)).await?;
                Ok(PolicySnapshot { version: doc.version, policy: Arc::new(policy) })
            })
        })
        .await?;
        self.policy.store(snapshot.clone());
        // Scores follow the new policy at once when read; the next sweep stores the moves
        // as `policy_change` points (on the instance that edited; others sweep them as
        // decay-or-policy moves alike).
        self.maintenance.policy_changed();
        Ok(snapshot)
    }
}
