//! Configuration integrity: agents report their current `config_hash`; a hash other than
//! the approved one lowers the config factor until an admin approves it.

use std::sync::Arc;
use tg_core::AgentId;

use serde_json::json;
use tg_access::{Principal, Scope};
use tg_audit::{Actor, AuditEvent, EventType};
use tg_scoring::Trigger;

use crate::trust_view::TrustView;
use crate::{Gateway, ServiceError, in_transaction};

/// Validates a reported hash (same bounds as at registration).
fn hash(value: &str) -> Result<String, ServiceError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > 256 || v.chars().any(char::is_control) {
        return Err(ServiceError::Invalid(
            "`config_hash` must be 1–256 characters without control characters".into(),
        ));
    }
    Ok(v.to_owned())
}

impl Gateway {
    /// `POST /agents/{id}/config` (report) and `POST /agents/{id}/config/approve` (admin).
    ///
    /// `approve: false` records the reported hash; `approve: true` makes `config_hash` (or,
    /// without one, the last reported hash) the approved one. A score change appends a
    /// `config_drift` history point; both are audited as `config_drift`.
    pub async fn update_config(
        &self,
        principal: &Principal,
        actor: &Actor,
        id: &AgentId,
        config_hash: Option<&str>,
        approve: bool,
    ) -> Result<TrustView, ServiceError> {
        self.require(principal, if approve { Scope::Admin } else { Scope::Write })?;
        let reported = match (config_hash, approve) {
            (Some(h), _) => Some(hash(h)?),
            (None, true) => None,
            (None, false) => return Err(ServiceError::Invalid("`config_hash` is required".into())),
        };
        let id = id.clone();
        let (cache, now, principal, actor) = (
            Arc::clone(&self.policy),
            self.now(),
            principal.clone(),
            actor.clone(),
        );
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let before =
                    crate::trust_view::load_owned(tx, &cache, &principal, &id, now, true).await?;
                let mut agent = before.agent.clone();
                if let Some(h) = reported {
                    agent.config_hash = h;
                }
                if approve {
                    agent.approved_config_hash = agent.config_hash.clone();
                }
                if agent == before.agent {
                    return Ok(before);
                }
                agent.updated_at = now;
                let saved = crate::trust_view::save_agent(tx, &agent).await?;
                let drift_flipped = (agent.config_hash != agent.approved_config_hash)
                    != (before.agent.config_hash != before.agent.approved_config_hash);
                let mut after = crate::trust_view::rescore_announcing(
                    tx,
                    &before,
                    agent.clone(),
                    before.state.clone(),
                    Trigger::ConfigDrift,
                    drift_flipped,
                    now,
                )
                .await?;
                after.state.version = after.state.version.max(saved);
                let details = json!({
                    "reported": agent.config_hash,
                    "approved": agent.approved_config_hash,
                    "drifted": agent.config_hash != agent.approved_config_hash,
                    "approval": approve,
                    "old_score": before.breakdown.composite,
                    "new_score": after.breakdown.composite,
                });
                tx.append_audit(&AuditEvent::new(
                    EventType::ConfigDrift,
                    Some(id.clone()),
                    details,
                    &actor,
                    now,
                ))
                .await?;
                Ok(after)
            })
        })
        .await
    }
}
