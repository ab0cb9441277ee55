//! Reading and editing the live policy (`GET`/`PATCH` of tiers and actions): the use cases.

use std::sync::Arc;

use serde_json::json;
use tg_access::Principal;
use tg_audit::{Actor, AuditEvent, EventType};
use tg_scoring::{ActionRule, Policy, TierEdit};

use crate::policy_cache::{PolicySnapshot, document_of};
use crate::{Gateway, PolicyDocument, ServiceError, in_transaction};

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
                    None => cache.base().clone(),
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
