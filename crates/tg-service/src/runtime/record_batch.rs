//! Recording receipts at the speed of the agent: concurrent `POST /actions/record` calls
//! for one agent on this instance run as one transaction — one row lock, the receipts
//! appended in arrival order, one score update, one commit — and each caller gets its own
//! receipt (or its own refusal) only after that commit.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;
use tg_access::Principal;
use tg_audit::{Actor, AuditEvent, EventType};
use tg_core::{AccountId, AgentId, Clock, Outcome, Provenance, Timestamp};
use tg_identity::AgentStatus;
use tg_receipts::{ChainHead, Draft, Receipt, ReceiptSigner, Witness};
use tg_scoring::{Source, Trigger};
use tg_tokens::TokenClaims;
use tg_webhooks::{EventKind, OutboxEvent};

use crate::coalesce::{Batch, Coalescer};
use crate::policy_cache::PolicyCache;
use crate::recording::{Recorded, WITNESS_REPORTS_PER_TOKEN};
use crate::token_evidence::{credibility, require_live};
use crate::trust_view::{TrustView, load_view};
use crate::{Conflict, HistoryPoint, ReceiptCommit, ServiceError, Store, Tx, in_transaction};

/// Most receipts one transaction appends; more queued calls form the next one.
pub const MAX_RECEIPTS_PER_COMMIT: usize = 256;

/// One checked call to record, waiting for its batch.
#[derive(Debug)]
pub(crate) struct Report {
    pub principal: Principal,
    pub actor: Actor,
    pub action: String,
    pub result: Outcome,
    pub reported_at: Option<Timestamp>,
    /// The agent's token a witness presented, already verified.
    pub token: Option<TokenClaims>,
}

type Answer = Result<Recorded, ServiceError>;

/// What the record path needs, cheap to clone into the batch's task.
#[derive(Clone)]
pub(crate) struct Recorder {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub policy: Arc<PolicyCache>,
    pub signer: Arc<ReceiptSigner>,
    /// The operator's account: its reports count with full credibility.
    pub operator: AccountId,
    pub batches: Arc<Coalescer<AgentId, Report, Answer>>,
    pub metrics: Arc<crate::Metrics>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("batches", &self.batches)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// Records `report` for `id` in the next batch for that agent.
    pub async fn record(&self, id: AgentId, report: Report) -> Answer {
        let this = self.clone();
        self.batches
            .submit(id, report, move |id, batch| {
                let this = this.clone();
                async move { this.commit(id, batch).await }
            })
            .await
            .unwrap_or_else(|| {
                Err(ServiceError::internal(
                    "the receipt batch failed before it answered",
                ))
            })
    }

    /// One transaction for the batch: an answer per report, in order. The batch is taken
    /// once the agent's row is locked, so it holds every call queued until then (and the
    /// next runner can wait on the lock meanwhile). A refused report writes nothing and the
    /// others go on; a storage error fails them all, with nothing written.
    async fn commit(&self, id: AgentId, batch: Batch<Report, Answer>) -> Vec<Answer> {
        let this = self.clone();
        let taking = batch.clone();
        let done = in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move { this.append(tx, &id, &taking).await })
        })
        .await;
        match done {
            Ok(answers) => {
                let appended = answers.iter().filter(|a| a.is_ok()).count();
                if appended > 0 {
                    self.metrics.receipts_committed(appended);
                }
                answers
            }
            Err(e) => {
                // Failed before taking (the agent is gone, the store is down): the calls
                // queued now get the error.
                batch.take();
                vec![Err(e); batch.taken()]
            }
        }
    }

    async fn append(
        &self,
        tx: &mut dyn Tx,
        id: &AgentId,
        batch: &Batch<Report, Answer>,
    ) -> Result<Vec<Answer>, ServiceError> {
        let first = load_view(tx, &self.policy, id, self.clock.now(), true).await?;
        let batch = batch.take();
        let mut writes = Writes::default();
        let mut view = first;
        let mut answers = Vec::with_capacity(batch.len());
        for report in batch {
            match self.one(tx, &view, report, &mut writes).await {
                Ok(recorded) => {
                    view = recorded.view.clone();
                    answers.push(Ok(recorded));
                }
                Err(Refused(e)) => answers.push(Err(e)),
                Err(Failed(e)) => return Err(e),
            }
        }
        if !writes.receipts.is_empty() {
            let version = tx
                .commit_receipts(&ReceiptCommit {
                    receipts: &writes.receipts,
                    history: &writes.history,
                    state: &view.state,
                    outbox: &writes.outbox,
                    audit: &writes.audit,
                    guard: None,
                })
                .await?;
            // Every caller's receipt is in the state this version names.
            for recorded in answers.iter_mut().flatten() {
                recorded.view.state.version = version;
            }
        }
        Ok(answers)
    }

    /// Appends one report after `view`, the agent as the batch has left it so far.
    async fn one(
        &self,
        tx: &mut dyn Tx,
        view: &TrustView,
        report: Report,
        writes: &mut Writes,
    ) -> Result<Recorded, Step> {
        let now = self.clock.now();
        let before = TrustView::compute(
            view.agent.clone(),
            view.state.clone(),
            view.policy.clone(),
            now,
        );
        let id = &before.agent.id;
        let principal = &report.principal;
        let own = principal.account_id == before.agent.account_id;
        if let Some(claims) = &report.token {
            require_live(tx, claims, &before.agent, "interaction").await?;
        }
        let (witness, source) = match report.token.map(|c| c.jti) {
            // The agent's own account (or the operator acting for it).
            None if principal.can_write(&before.agent.account_id) => (None, Source::SELF),
            // Another account without proof: as if the agent did not exist.
            None => return Err(Refused(ServiceError::agent_not_found(id.as_str()))),
            Some(_) if own => (None, Source::SELF),
            Some(jti) => {
                let key = (principal.account_id.clone(), jti);
                let stored = tx.witnessed_reports(id, &key.0, &key.1).await?;
                let used = stored + writes.witnessed.get(&key).copied().unwrap_or(0);
                if used >= WITNESS_REPORTS_PER_TOKEN {
                    return Err(Refused(ServiceError::TooMany(format!(
                        "this account already made {used} reports with this token (at most {WITNESS_REPORTS_PER_TOKEN} per token)"
                    ))));
                }
                let credibility = credibility(tx, &key.0, &self.operator).await?;
                *writes.witnessed.entry(key.clone()).or_default() += 1;
                let (account_id, token_jti) = key;
                let witness = Witness {
                    account_id,
                    token_jti,
                };
                let source = Source {
                    provenance: Provenance::Witnessed,
                    credibility,
                };
                (Some(witness), source)
            }
        };
        if before.agent.status == AgentStatus::Revoked {
            return Err(Refused(ServiceError::Conflict(Conflict::AgentRevoked(
                id.clone(),
            ))));
        }
        let draft = Draft {
            agent_id: id.clone(),
            action: report.action,
            result: report.result,
            timestamp: now,
            reported_at: report.reported_at,
            witness,
        };
        let receipt = self.signer.append(before.state.chain, draft);
        if report.result == Outcome::Violation {
            // Counts against everyone vouching for this agent now.
            tx.note_vouchee_violation(id).await?;
        }

        let mut state = before.state.clone();
        state
            .evidence
            .record_from(report.result, now, &before.policy.policy.behavior, source);
        let after = TrustView::compute(before.agent.clone(), state, before.policy.clone(), now);
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
        state.chain_mac = Some(self.signer.head_mac(id, &state.chain));
        let changed = (new_score - old_score).abs() > 1e-12 || new_tier != old_tier;
        if changed {
            state.history_seq += 1;
            writes.history.push(HistoryPoint {
                agent_id: id.clone(),
                seq: state.history_seq,
                timestamp: now,
                composite_score: new_score,
                tier: new_tier,
                trigger: Trigger::ActionRecorded,
            });
        }
        writes.outbox.push(crate::events::agent_event(
            EventKind::ReceiptRecorded,
            &after.agent,
            json!({
                "receipt_id": receipt.id.as_str(), "seq": receipt.seq,
                "action": receipt.action, "result": receipt.result.as_str(),
                "provenance": receipt.provenance.as_str(),
                "old_score": old_score, "new_score": new_score,
                "old_tier": old_tier, "new_tier": new_tier,
            }),
            now,
        ));
        writes.outbox.extend(crate::events::score_events(
            &after.agent,
            (&before.breakdown).into(),
            &after.breakdown,
            Trigger::ActionRecorded,
            false,
            after.policy.policy.trust_changed_delta,
            now,
        ));
        let details = json!({
            "receipt_id": receipt.id.as_str(),
            "seq": receipt.seq,
            "action": receipt.action,
            "result": receipt.result.as_str(),
            "provenance": receipt.provenance.as_str(),
            "witness": receipt.witness,
            "credibility": source.credibility,
        });
        writes.audit.push(AuditEvent::new(
            EventType::ReceiptRecorded,
            Some(id.clone()),
            details,
            &report.actor,
            now,
        ));
        if changed {
            let details = json!({
                "old_score": old_score, "new_score": new_score,
                "old_tier": old_tier, "new_tier": new_tier,
                "trigger": Trigger::ActionRecorded.as_str(),
            });
            writes.audit.push(AuditEvent::new(
                EventType::TrustScoreChanged,
                Some(id.clone()),
                details,
                &report.actor,
                now,
            ));
        }
        writes.receipts.push(receipt.clone());
        Ok(Recorded {
            receipt,
            old_score,
            old_tier,
            view: TrustView { state, ..after },
        })
    }
}

/// What a batch writes once its reports are all decided, in their order.
#[derive(Default)]
struct Writes {
    receipts: Vec<Receipt>,
    history: Vec<HistoryPoint>,
    outbox: Vec<OutboxEvent>,
    audit: Vec<AuditEvent>,
    /// Reports per (witness account, token) this batch adds to what is stored.
    witnessed: HashMap<(AccountId, String), u64>,
}

/// Why one report did not append: refused (that caller's answer; the batch goes on), or
/// the store failed (the whole transaction is gone).
enum Step {
    Refused(ServiceError),
    Failed(ServiceError),
}
use Step::{Failed, Refused};

impl From<ServiceError> for Step {
    fn from(e: ServiceError) -> Self {
        Refused(e)
    }
}

impl From<tg_core::StoreError> for Step {
    fn from(e: tg_core::StoreError) -> Self {
        Failed(e.into())
    }
}
