use std::sync::Arc;

use serde_json::json;
use tg_access::{Principal, Scope};
use tg_audit::{Actor, AuditEvent, EventType};
use tg_core::{AgentId, Outcome, Provenance, Timestamp};
use tg_identity::AgentStatus;
use tg_receipts::{ChainHead, ChainReport, Draft, Receipt, Witness};
use tg_scoring::{Source, Trigger, validate_action_name};

use crate::agents::{TrustView, agent_id, page_limit, require_visible};
use crate::token_revocation::{credibility, require_live};
use crate::{Gateway, HistoryPoint, ServiceError, in_transaction, reading};

/// `POST /actions/record`.
#[derive(Debug, Clone)]
pub struct RecordAction {
    pub agent_id: String,
    pub action: String,
    pub result: Outcome,
    /// When the client says it happened; kept as `reported_at`, server time is authoritative.
    pub reported_at: Option<Timestamp>,
    /// The agent's gateway token, presented by a witness from another account.
    pub token: Option<String>,
}

/// How long after its `exp` a token still proves an interaction (plus the usual 30 s of
/// clock skew): a witness may report a little after the agent's token ran out.
pub const WITNESS_GRACE_SECS: i64 = 300;

/// Most reports one witness account makes with one token: a token proves an interaction,
/// not an unlimited supply of them.
pub const WITNESS_REPORTS_PER_TOKEN: u64 = 10;

/// What recording changed.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub receipt: Receipt,
    pub old_score: f64,
    pub old_tier: u8,
    pub view: TrustView,
}

impl Gateway {
    /// Appends a signed receipt and updates the score, history and audit trail in one
    /// transaction under the agent's lock.
    pub async fn record_action(
        &self,
        principal: &Principal,
        actor: &Actor,
        req: RecordAction,
    ) -> Result<Recorded, ServiceError> {
        self.require(principal, Scope::Write)?;
        let id = agent_id(&req.agent_id)?;
        validate_action_name(&req.action).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let now = self.now();
        let token = req
            .token
            .as_deref()
            .map(|t| self.agent_token(t, &id, "interaction"))
            .transpose()?;
        let operator = self.admin_account().id.clone();
        let cache = Arc::clone(&self.policy);
        let signer = Arc::clone(&self.signer);
        let principal = principal.clone();
        let actor = actor.clone();
        let violation = req.result == Outcome::Violation;
        let recorded = in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let before = crate::agents::load_view(tx, &cache, &id, now, true).await?;
                let own = principal.account_id == before.agent.account_id;
                if let Some(claims) = &token {
                    require_live(tx, claims, &before.agent, "interaction").await?;
                }
                let (witness, source) = match token.map(|c| c.jti) {
                    // The agent's own account (or the operator acting for it), as before.
                    None if principal.can_write(&before.agent.account_id) => (None, Source::SELF),
                    // Another account without proof: as if the agent did not exist.
                    None => return Err(ServiceError::agent_not_found(id.as_str())),
                    Some(_) if own => (None, Source::SELF),
                    Some(jti) => {
                        let used = tx.witnessed_reports(&id, &principal.account_id, &jti).await?;
                        if used >= WITNESS_REPORTS_PER_TOKEN {
                            return Err(ServiceError::TooMany(format!(
                                "this account already made {used} reports with this token (at most {WITNESS_REPORTS_PER_TOKEN} per token)"
                            )));
                        }
                        let credibility = credibility(tx, &principal.account_id, &operator).await?;
                        let witness = Witness { account_id: principal.account_id.clone(), token_jti: jti };
                        (Some(witness), Source { provenance: Provenance::Witnessed, credibility })
                    }
                };
                if before.agent.status == AgentStatus::Revoked {
                    return Err(ServiceError::Conflict(format!("agent `{id}` is revoked")));
                }
                let head = before.state.chain;
                let draft = Draft {
                    agent_id: id.clone(),
                    action: req.action,
                    result: req.result,
                    timestamp: now,
                    reported_at: req.reported_at,
                    witness,
                };
                let receipt = signer.append(head, draft);
                tx.append_receipt(&receipt).await?;
                if req.result == Outcome::Violation {
                    // Counts against everyone vouching for this agent now.
                    tx.note_vouchee_violation(&id).await?;
                }

                let mut state = before.state.clone();
                state
                    .evidence
                    .record_from(req.result, now, &before.policy.policy.behavior, source);
                let after =
                    TrustView::compute(before.agent.clone(), state, before.policy.clone(), now);
                let mut state = after.state.clone();
                let (old_score, old_tier) = (before.breakdown.composite, before.breakdown.tier);
                let (new_score, new_tier) = (after.breakdown.composite, after.breakdown.tier);
                state.composite = new_score;
                state.tier = new_tier;
                state.updated_at = now;
                state.chain = ChainHead {
                    seq: receipt.seq,
                    hash: receipt.receipt_hash,
                };
                state.chain_mac = Some(signer.head_mac(&id, &state.chain));
                let changed = (new_score - old_score).abs() > 1e-12 || new_tier != old_tier;
                if changed {
                    state.history_seq += 1;
                    let point = HistoryPoint {
                        agent_id: id.clone(),
                        seq: state.history_seq,
                        timestamp: now,
                        composite_score: new_score,
                        tier: new_tier,
                        trigger: Trigger::ActionRecorded,
                    };
                    tx.append_history(&point).await?;
                }
                tx.update_trust(&state).await?;
                tx.append_outbox(&crate::events::agent_event(
                    tg_webhooks::EventKind::ReceiptRecorded,
                    &after.agent,
                    json!({
                        "receipt_id": receipt.id.as_str(), "seq": receipt.seq,
                        "action": receipt.action, "result": receipt.result.as_str(),
                        "provenance": receipt.provenance.as_str(),
                        "old_score": old_score, "new_score": new_score,
                        "old_tier": old_tier, "new_tier": new_tier,
                    }),
                    now,
                ))
                .await?;
                for e in crate::events::score_events(
                    &after.agent,
                    (&before.breakdown).into(),
                    &after.breakdown,
                    Trigger::ActionRecorded,
                    false,
                    after.policy.policy.trust_changed_delta,
                    now,
                ) {
                    tx.append_outbox(&e).await?;
                }

                let details = json!({
                    "receipt_id": receipt.id.as_str(),
                    "seq": receipt.seq,
                    "action": receipt.action,
                    "result": receipt.result.as_str(),
                    "provenance": receipt.provenance.as_str(),
                    "witness": receipt.witness,
                    "credibility": source.credibility,
                });
                tx.append_audit(&AuditEvent::new(
                    EventType::ReceiptRecorded,
                    Some(id.clone()),
                    details,
                    &actor,
                    now,
                ))
                .await?;
                if changed {
                    let details = json!({
                        "old_score": old_score, "new_score": new_score,
                        "old_tier": old_tier, "new_tier": new_tier,
                        "trigger": Trigger::ActionRecorded.as_str(),
                    });
                    tx.append_audit(&AuditEvent::new(
                        EventType::TrustScoreChanged,
                        Some(id.clone()),
                        details,
                        &actor,
                        now,
                    ))
                    .await?;
                }
                Ok(Recorded {
                    receipt,
                    old_score,
                    old_tier,
                    view: TrustView { state, ..after },
                })
            })
        })
        .await?;
        if violation {
            self.vouching.wake();
        }
        self.metrics.receipt_recorded();
        self.webhooks.wake();
        Ok(recorded)
    }

    /// `GET /receipts/{agent_id}`: newest first.
    pub async fn receipts(
        &self,
        principal: &Principal,
        id: &str,
        limit: u32,
        before_seq: Option<u64>,
    ) -> Result<Vec<Receipt>, ServiceError> {
        self.require(principal, Scope::Read)?;
        let id = agent_id(id)?;
        let limit = page_limit(limit)?;
        let principal = principal.clone();
        reading(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                require_visible(tx, &principal, &id).await?;
                Ok(tx.list_receipts(&id, limit, before_seq).await?)
            })
        })
        .await
    }

    /// `GET /receipts/{agent_id}/verify`: walks the whole chain page by page.
    pub async fn verify_chain(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<ChainReport, ServiceError> {
        self.require(principal, Scope::Read)?;
        let id: AgentId = agent_id(id)?;
        let viewer = principal.clone();
        let (agent, report) = crate::chain_check::verify_stored_chain(
            self.store.as_ref(),
            &self.signer,
            &id,
            move |a| viewer.sees(&a.account_id),
        )
        .await?;
        if !report.valid {
            // Reported once per verification that finds it: receivers see every check
            // that fails, with where and why.
            let event = crate::events::agent_event(
                tg_webhooks::EventKind::ReceiptChainBroken,
                &agent,
                json!({"length": report.length, "first_broken_seq": report.first_broken_seq, "reason": report.reason}),
                self.now(),
            );
            in_transaction(self.store.as_ref(), move |tx| {
                Box::pin(async move { Ok(tx.append_outbox(&event).await?) })
            })
            .await?;
            self.webhooks.wake();
        }
        Ok(report)
    }
}
