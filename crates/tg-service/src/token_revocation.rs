//! Token revocation by `jti` (`POST /tokens/revoke`), and the one check every online use of
//! a token makes: introspection, witness reports, delegation hand-offs.

use serde_json::json;
use tg_access::{Principal, Scope};
use tg_audit::{Actor, AuditEvent, EventType};
use tg_core::{AgentId, Timestamp};
use tg_tokens::{RevokedToken, TokenClaims};

use crate::tokens::MAX_EXPIRES_IN;
use crate::trust_view::agent_id;
use crate::{Gateway, ServiceError, in_transaction};

/// `POST /tokens/revoke`: the token itself, or its `jti` with its agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRevocation {
    Token(String),
    Jti { jti: String, agent_id: String },
}

/// What was revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    pub jti: String,
    pub agent_id: AgentId,
    /// Until when it is remembered (its `exp`, or the longest lifetime a token can have
    /// when only the `jti` was given).
    pub expires_at: Timestamp,
}

impl Gateway {
    /// The claims of `token` when it proves something about `agent` (a witness's
    /// interaction, a delegator's hand-off): ours, issued to that agent, and at most
    /// [`crate::WITNESS_GRACE_SECS`] past `exp`. 403 otherwise, saying what it fails to prove.
    /// Whether it is still live is [`require_live`]'s question, inside the transaction.
    pub(crate) fn agent_token(
        &self,
        token: &str,
        agent: &AgentId,
        proves: &str,
    ) -> Result<TokenClaims, ServiceError> {
        let claims = self
            .tokens()
            .verify_within(token, self.now(), crate::recording::WITNESS_GRACE_SECS)
            .map_err(|e| ServiceError::Forbidden(format!("`token` proves no {proves}: {e}")))?;
        // An exchanged token proves that its actors act for the agent, not that the agent
        // itself dealt with anyone.
        if !claims.act.is_empty() {
            return Err(ServiceError::Forbidden(format!(
                "`token` proves no {proves}: it was exchanged (it has `act`); present the agent's own token"
            )));
        }
        if claims.sub != agent.as_str() {
            return Err(ServiceError::Forbidden(format!(
                "`token` proves no {proves}: it was issued to another agent"
            )));
        }
        Ok(claims)
    }
}

fn valid_jti(jti: &str) -> Result<String, ServiceError> {
    let ok = !jti.is_empty()
        && jti.len() <= 128
        && jti
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(jti.to_owned())
    } else {
        Err(ServiceError::Invalid(
            "`jti` must be 1–128 characters of A-Z, a-z, 0-9, `_`, `-`, `.`".into(),
        ))
    }
}

impl Gateway {
    /// Revokes one token of an agent: by the agent's account (`write`) or the operator; 404
    /// to anyone else. Idempotent. Online checks refuse it at once; offline verifiers see
    /// it only at `exp`. Audited as `token_revoked`.
    pub async fn revoke_token(
        &self,
        principal: &Principal,
        actor: &Actor,
        req: TokenRevocation,
    ) -> Result<Revoked, ServiceError> {
        self.require(principal, Scope::Write)?;
        let now = self.now();
        let revoked = match req {
            TokenRevocation::Token(token) => {
                // Up to a day past `exp` still names its agent; older tokens are dead anyway.
                let claims = self
                    .tokens()
                    .verify_any_audience(&token, now, MAX_EXPIRES_IN)
                    .map_err(|e| ServiceError::Invalid(format!("`token`: {e}")))?;
                Revoked {
                    agent_id: agent_id(&claims.sub)?,
                    jti: claims.jti,
                    expires_at: Timestamp::from_secs(claims.exp),
                }
            }
            TokenRevocation::Jti { jti, agent_id: a } => Revoked {
                jti: valid_jti(&jti)?,
                agent_id: agent_id(&a)?,
                // No token lives longer than MAX_EXPIRES_IN, plus the witnesses' grace.
                expires_at: now
                    .plus_secs(MAX_EXPIRES_IN + crate::recording::WITNESS_GRACE_SECS + 60),
            },
        };
        let (r, principal, actor) = (revoked.clone(), principal.clone(), actor.clone());
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let agent = match tx.get_agent(&r.agent_id).await? {
                    Some(agent) if principal.can_write(&agent.account_id) => agent,
                    _ => return Err(ServiceError::agent_not_found(r.agent_id.as_str())),
                };
                tx.purge_revoked_tokens(now).await?;
                // Idempotent: a token revoked again is no news to webhooks or streams.
                let first = tx
                    .revoke_token(&RevokedToken {
                        jti: r.jti.clone(),
                        agent_id: r.agent_id.clone(),
                        revoked_at: now,
                        expires_at: r.expires_at,
                    })
                    .await?;
                if first {
                    tx.append_outbox(&crate::events::agent_event(
                        tg_webhooks::EventKind::TokenRevoked,
                        &agent,
                        json!({"jti": r.jti, "expires_at": r.expires_at}),
                        now,
                    ))
                    .await?;
                }
                tx.append_audit(&AuditEvent::new(
                    EventType::TokenRevoked,
                    Some(r.agent_id.clone()),
                    json!({"jti": r.jti, "expires_at": r.expires_at}),
                    &actor,
                    now,
                ))
                .await?;
                Ok(())
            })
        })
        .await?;
        self.webhooks.wake();
        Ok(revoked)
    }
}
