use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use tg_access::{Principal, Scope};
use tg_audit::{Actor, AuditEvent, EventType};
use tg_core::AgentId;
use tg_identity::AgentStatus;
use tg_tokens::{DpopError, DpopProof, DpopTarget, IssuedToken, TokenRequest};

use crate::runtime::audit_batch::Record;
use crate::{Conflict, Gateway, ServiceError};

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
    /// `cnf.jkt` when the token is bound to a DPoP key (`token_type: DPoP`).
    pub jkt: Option<String>,
}

impl Gateway {
    /// Issues a short-lived bearer token for an active agent; audited as `token_issued`.
    pub async fn issue_token(
        &self,
        principal: &Principal,
        actor: &Actor,
        id: &AgentId,
        expires_in: i64,
    ) -> Result<TokenGrant, ServiceError> {
        self.issue_bound_token(principal, actor, id, expires_in, None)
            .await
    }

    /// Checks a DPoP proof presented to this instance (RFC 9449 §4.3) for `target`, now,
    /// and records it so it is accepted once.
    pub fn check_dpop(&self, proof: &str, target: DpopTarget<'_>) -> Result<DpopProof, DpopError> {
        let now = self.now();
        let proof = tg_tokens::verify_dpop_proof(proof, target, now, None)?;
        self.dpop_replay.check(&proof, now)?;
        Ok(proof)
    }

    /// [`Gateway::issue_token`], bound to the key of a checked DPoP proof when one is given
    /// (`cnf.jkt`, RFC 9449 §6). An agent that proved an Ed25519 key (challenge-response)
    /// may bind its tokens to that key only: a proof by any other key is refused.
    pub async fn issue_bound_token(
        &self,
        principal: &Principal,
        actor: &Actor,
        id: &AgentId,
        expires_in: i64,
        dpop: Option<DpopProof>,
    ) -> Result<TokenGrant, ServiceError> {
        self.require(principal, Scope::Write)?;
        if !(MIN_EXPIRES_IN..=MAX_EXPIRES_IN).contains(&expires_in) {
            return Err(ServiceError::Invalid(format!(
                "`expires_in` must be between {MIN_EXPIRES_IN} and {MAX_EXPIRES_IN} seconds"
            )));
        }
        let view = self.decision_view(principal, id, None).await?;
        if !principal.can_write(&view.agent.account_id) {
            return Err(ServiceError::agent_not_found(id.as_str()));
        }
        let id = view.agent.id.clone();
        if view.agent.status != AgentStatus::Active {
            return Err(ServiceError::Conflict(Conflict::NoTokenWhile {
                id,
                status: view.agent.status.as_str(),
            }));
        }
        if let Some(proof) = &dpop {
            require_agent_key(&view.agent, proof)?;
        }
        let now = self.now();
        let req = TokenRequest {
            agent_id: id.clone(),
            name: view.agent.name.clone(),
            tier: view.breakdown.tier,
            trust_score: view.breakdown.composite,
            permitted_actions: view.permitted_actions(),
            expires_in,
            epoch: view.agent.token_epoch,
            state_version: view.state.version,
            exchange: None,
            jkt: dpop.map(|p| p.jkt),
        };
        let issued = self
            .issue_recorded(&req, actor, now, json!({"cnf_jkt": req.jkt}))
            .await?;
        Ok(TokenGrant {
            issued,
            expires_in,
            tier: req.tier,
            trust_score: req.trust_score,
            permitted_actions: req.permitted_actions,
            jkt: req.jkt,
        })
    }
}

impl Gateway {
    /// Signs `req`'s token and records it as `token_issued` (`jti`, `alg`, `expires_at`,
    /// `tier`, and the fields of `more`), returning it only once that record has committed
    /// (a durable group commit): the one way a token leaves the gateway.
    pub(crate) async fn issue_recorded(
        &self,
        req: &TokenRequest,
        actor: &Actor,
        now: tg_core::Timestamp,
        more: serde_json::Value,
    ) -> Result<IssuedToken, ServiceError> {
        let issued = self
            .tokens()
            .issue(req, now)
            .map_err(|e| ServiceError::internal_because("issuing a token", e))?;
        let mut details = json!({"jti": issued.jti, "alg": issued.alg, "expires_at": issued.expires_at, "tier": req.tier});
        if let (Some(all), serde_json::Value::Object(more)) = (details.as_object_mut(), more) {
            all.extend(more);
        }
        let event = AuditEvent::new(
            EventType::TokenIssued,
            Some(req.agent_id.clone()),
            details,
            actor,
            now,
        );
        self.audit_batch
            .append_durable(Record::Audit((&event).into()))
            .await?;
        Ok(issued)
    }
}

/// An agent with a proven Ed25519 key binds tokens to that key only: the proof's `jwk`
/// must be that key (RFC 8037 `OKP` / `Ed25519`, `x` its 32 bytes).
pub(crate) fn require_agent_key(
    agent: &tg_identity::Agent,
    proof: &DpopProof,
) -> Result<(), ServiceError> {
    let (Some(_), Some(pem)) = (agent.key_verified_at, agent.public_key.as_deref()) else {
        return Ok(());
    };
    let key = tg_identity::Ed25519Key::parse(pem, "Ed25519")
        .map_err(|e| ServiceError::internal_because(format!("stored key of `{}`", agent.id), e))?;
    let text = |name: &str| proof.jwk.get(name).and_then(serde_json::Value::as_str);
    let x = text("x").and_then(|x| URL_SAFE_NO_PAD.decode(x).ok());
    let same = text("kty") == Some("OKP")
        && text("crv") == Some("Ed25519")
        && x.as_deref() == Some(key.raw().as_slice());
    if same {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(format!(
            "agent `{}` proved an Ed25519 key: its tokens bind to that key only, and the DPoP proof is by another",
            agent.id
        )))
    }
}
