//! Who may name a SPIFFE ID: proof of possession of an X509-SVID's key (a single-use
//! gateway nonce the key signs), and claims that a proof supersedes.

use serde_json::json;
use tg_access::{Principal, Scope};
use tg_audit::{Actor, AuditEvent, EventType};
use tg_core::{AccountId, Timestamp};
use tg_identity::{Agent, Attestation, AttestationNonce, MAX_PENDING_NONCES, NONCE_TTL_SECS};

use crate::{Conflict, Gateway, ServiceError, Tx, in_transaction};

/// A nonce issued by `POST /attestation/nonce`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedNonce {
    pub nonce: String,
    pub expires_in: i64,
}

impl Gateway {
    /// `POST /attestation/nonce`: a single-use nonce (120 s) for the caller's account, which
    /// an X509-SVID's key signs to prove possession at registration or re-attestation. At
    /// most [`MAX_PENDING_NONCES`] unanswered nonces per account (else 429).
    pub async fn issue_attestation_nonce(
        &self,
        principal: &Principal,
    ) -> Result<IssuedNonce, ServiceError> {
        self.require(principal, Scope::Write)?;
        let nonce = AttestationNonce::issue(principal.account_id.clone(), self.now());
        let (n, now) = (nonce.clone(), self.now());
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                tx.purge_nonces(&n.account_id, now).await?;
                if tx.pending_nonces(&n.account_id).await? >= MAX_PENDING_NONCES {
                    return Err(ServiceError::TooMany(format!(
                        "this account holds {MAX_PENDING_NONCES} unanswered nonces; answer or let them expire ({NONCE_TTL_SECS} s)"
                    )));
                }
                tx.insert_nonce(&n).await?;
                Ok(())
            })
        })
        .await?;
        Ok(IssuedNonce {
            nonce: nonce.nonce,
            expires_in: NONCE_TTL_SECS,
        })
    }
}

/// Takes the nonce an attestation's proof of possession answers: it must be one this
/// account was issued, unexpired and unused (422 otherwise). Attestations without a nonce
/// pass.
pub(crate) async fn take_attestation_nonce(
    tx: &mut dyn Tx,
    attestation: &Attestation,
    account: &AccountId,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let Some(nonce) = attestation.nonce() else {
        return Ok(());
    };
    if tx.take_nonce(nonce, account, now).await? {
        Ok(())
    } else {
        Err(ServiceError::Invalid(
            "`nonce` is unknown, expired, already used, or was issued to another account: get a fresh one from POST /attestation/nonce".into(),
        ))
    }
}

/// Settles the other agents naming `agent`'s SPIFFE ID before `agent` is written with it:
/// another holder is a conflict; when `agent` holds the ID (it proved it), every unproven
/// claim of it is superseded — its `spiffe_id` cleared, audited as `identity_superseded`
/// and sent as that webhook. An unproven claim next to other unproven claims passes.
pub(crate) async fn settle_spiffe_claims(
    tx: &mut dyn Tx,
    agent: &Agent,
    actor: &Actor,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let Some(spiffe_id) = &agent.spiffe_id else {
        return Ok(());
    };
    let others: Vec<Agent> = tx
        .agents_naming_spiffe_id(spiffe_id)
        .await?
        .into_iter()
        .filter(|a| a.id != agent.id)
        .collect();
    if others.iter().any(Agent::holds_spiffe_id) {
        // The only conflict this returns (registration words it as its own).
        return Err(ServiceError::Conflict(Conflict::SpiffeIdHeld(
            spiffe_id.clone(),
        )));
    }
    if !agent.holds_spiffe_id() {
        return Ok(());
    }
    for mut claimant in others {
        claimant.spiffe_id = None;
        claimant.updated_at = now;
        crate::trust_view::save_agent(tx, &claimant).await?;
        let details = json!({
            "spiffe_id": spiffe_id.to_string(),
            "superseded_by": agent.id,
            "reason": "another registration proved the SPIFFE ID; this one only claimed it",
        });
        tx.append_audit(&AuditEvent::new(
            EventType::IdentitySuperseded,
            Some(claimant.id.clone()),
            details.clone(),
            actor,
            now,
        ))
        .await?;
        tx.append_outbox(&crate::events::agent_event(
            tg_webhooks::EventKind::IdentitySuperseded,
            &claimant,
            details,
            now,
        ))
        .await?;
    }
    Ok(())
}
