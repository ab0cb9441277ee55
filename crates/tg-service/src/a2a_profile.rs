//! The agent's A2A profile: set or cleared by its owner, audited like every change.

use serde_json::json;
use tg_access::{Principal, Scope};
use tg_audit::{Actor, EventType};
use tg_core::AgentId;
use tg_identity::A2aProfile;

use crate::trust_view::TrustView;
use crate::{Gateway, ServiceError};

impl Gateway {
    /// `PUT /agents/{id}/a2a` (`Some`) and `DELETE /agents/{id}/a2a` (`None`). Without a
    /// profile the agent has no A2A card.
    pub async fn set_a2a_profile(
        &self,
        principal: &Principal,
        actor: &Actor,
        id: &AgentId,
        profile: Option<A2aProfile>,
    ) -> Result<TrustView, ServiceError> {
        self.require(principal, Scope::Write)?;
        if let Some(p) = &profile {
            p.validate()
                .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        }
        self.edit_agent(
            principal,
            actor,
            id,
            EventType::AgentProfileChanged,
            move |agent, now| {
                if agent.a2a == profile {
                    return None;
                }
                let details = match &profile {
                    Some(p) => {
                        json!({"a2a": {"url": p.url, "protocol_binding": p.protocol_binding}})
                    }
                    None => json!({"a2a": null}),
                };
                agent.a2a = profile;
                agent.updated_at = now;
                Some(details)
            },
        )
        .await
    }
}
