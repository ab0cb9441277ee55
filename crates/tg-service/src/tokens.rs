use std::sync::Arc;

use serde_json::json;
use tg_access::{Principal, Scope};
use tg_audit::{Actor, AuditEvent, EventType};
use tg_identity::AgentStatus;
use tg_tokens::{IssuedToken, TokenRequest};

use crate::agents::agent_id;
use crate::{Gateway, ServiceError, in_transaction};

pub const MIN_EXPIRES_IN: i64 = 60;
pub const MAX_EXPIRES_IN: i64 = 86_400;

/// A token and what it carries (V2 `POST /agents/{id}/token` response).
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub issued: IssuedToken,
    pub expires_in: i64,
    pub tier: u8,
    pub trust_score: f64,
    pub permitted_actions: Vec<String>,
}

impl Gateway {
    /// Issues a short-lived token for an active agent; audited as `token_issued`.
    pub async fn issue_token(
        &self,
        principal: &Principal,
        actor: &Actor,
        id: &str,
        expires_in: i64,
    ) -> Result<TokenGrant, ServiceError> {
        self.require(principal, Scope::Write)?;
        if !(MIN_EXPIRES_IN..=MAX_EXPIRES_IN).contains(&expires_in) {
            return Err(ServiceError::Invalid(format!(
                "`expires_in` must be between {MIN_EXPIRES_IN} and {MAX_EXPIRES_IN} seconds"
            )));
        }
        let id = agent_id(id)?;
        let cache = Arc::clone(&self.policy);
        let now = self.now();
        let principal = principal.clone();
        let actor = actor.clone();
        let gateway_tokens = self.tokens_handle();
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let view = crate::agents::load_owned(tx, &cache, &principal, &id, now, false).await?;
                if view.agent.status != AgentStatus::Active {
                    return Err(ServiceError::Conflict(format!("agent `{id}` is {}: no token can be issued", view.agent.status.as_str())));
                }
                let req = TokenRequest {
                    agent_id: id.clone(),
                    name: view.agent.name.clone(),
                    tier: view.breakdown.tier,
                    trust_score: view.breakdown.composite,
                    permitted_actions: view.permitted_actions.clone(),
                    expires_in,
                    epoch: view.agent.token_epoch,
                    state_version: view.state.version,
                    exchange: None,
                    jkt: None,
                };
                let issued = gateway_tokens.issue(&req, now).map_err(|e| ServiceError::Internal(e.to_string()))?;
                let details = json!({"jti": issued.jti, "alg": issued.alg, "expires_at": issued.expires_at, "tier": req.tier});
                tx.append_audit(&AuditEvent::new(EventType::TokenIssued, Some(id.clone()), details, &actor, now)).await?;
                Ok(TokenGrant { issued, expires_in, tier: req.tier, trust_score: req.trust_score, permitted_actions: req.permitted_actions })
            })
        })
        .await
    }

    fn tokens_handle(&self) -> Arc<tg_tokens::TokenIssuer> {
        self.tokens()
    }
}
