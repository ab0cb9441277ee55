//! Recording receipts at the speed of the agent: concurrent `POST /actions/record` calls
//! for one agent on this instance run as one batch — one score update, the receipts
//! appended in arrival order, one commit — and each caller gets its own receipt (or its
//! own refusal) only after that commit.
//!
//! Batches of one agent take turns on this instance ([`Heads`]). A batch begins from the
//! agent as the last one here left it and commits with one guarded statement, no row lock
//! and no read; when its guard finds that anything moved, nothing is written and the batch
//! runs again under the agent's row lock, as every batch does when no basis is held.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;
use tg_access::Principal;
use tg_audit::{Actor, AuditEvent, EventType};
use tg_core::{AccountId, AgentId, Clock, Outcome, Provenance, StoreError, Timestamp};
use tg_identity::AgentStatus;
use tg_receipts::{ChainHead, Draft, Receipt, ReceiptSigner, Witness};
use tg_scoring::{Source, Trigger};
use tg_tokens::TokenClaims;
use tg_webhooks::{EventKind, OutboxEvent};

use super::metrics::BatchBasis;
use super::record_heads::{Basis, Heads};
use crate::coalesce::{Batch, Coalescer};
use crate::policy_cache::PolicyCache;
use crate::recording::{Recorded, WITNESS_REPORTS_PER_TOKEN};
use crate::token_evidence::{credibility, require_live};
use crate::trust_view::{TrustView, load_view};
use crate::{
    CommitGuard, Conflict, HistoryPoint, ReceiptCommit, ServiceError, Store, Tx, in_transaction,
    single_write,
};

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

impl Report {
    /// Whether deciding it reads or writes more than the agent's own rows: a witness's
    /// token (its uses so far, its account's credibility) or a violation (every voucher's
    /// record). Such a batch runs under the row lock.
    fn needs_lock(&self) -> bool {
        self.token.is_some() || self.result == Outcome::Violation
    }
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
    pub heads: Arc<Heads>,
    pub metrics: Arc<crate::Metrics>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("batches", &self.batches)
            .finish_non_exhaustive()
    }
}

/// A batch begun from memory: committed, or its basis had moved (nothing written; the
/// reports go on to the locked path).
enum Attempt {
    Committed(Vec<Answer>, Box<Basis>),
    Moved(Vec<Report>),
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

    /// One batch: an answer per report, in order. It takes its reports once it is the
    /// agent's turn here, so it holds every call queued until then. A refused report
    /// writes nothing and the others go on; a storage error fails them all, with nothing
    /// written.
    async fn commit(&self, id: AgentId, batch: Batch<Report, Answer>) -> Vec<Answer> {
        let head = self.heads.of(&id);
        let mut basis = head.lock().await;
        let mut taken = None;
        if let Some(known) = basis.take() {
            let reports = batch.take();
            if reports.iter().any(Report::needs_lock) {
                self.metrics.record_batch(BatchBasis::locked);
                taken = Some(reports);
            } else {
                match self.write_from_memory(id.clone(), known, reports).await {
                    Ok(Attempt::Committed(answers, after)) => {
                        self.metrics.record_batch(BatchBasis::memory);
                        self.committed(&answers);
                        *basis = self.heads.keep(*after);
                        return answers;
                    }
                    Ok(Attempt::Moved(reports)) => {
                        self.metrics.record_batch(BatchBasis::moved);
                        taken = Some(reports);
                    }
                    Err(e) => return vec![Err(e); batch.taken()],
                }
            }
        } else {
            self.metrics.record_batch(BatchBasis::locked);
        }
        let this = self.clone();
        let taking = batch.clone();
        let done = in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let now = this.clock.now();
                let first = load_view(tx, &this.policy, &id, now, true).await?;
                // Taken once the row is locked (unless the attempt from memory took them):
                // every call queued until then is in.
                let reports = taken.unwrap_or_else(|| taking.take());
                let decided = this.decide(tx, first, &reports).await?;
                Ok(decided.write(tx, None).await?)
            })
        })
        .await;
        match done {
            Ok((answers, after)) => {
                self.committed(&answers);
                *basis = self.heads.keep(after);
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

    fn committed(&self, answers: &[Answer]) {
        let appended = answers.iter().filter(|a| a.is_ok()).count();
        if appended > 0 {
            self.metrics.receipts_committed(appended);
        }
    }

    /// The batch decided from `basis` and written in one statement guarded by its state
    /// and policy versions. A batch that writes nothing (every report refused) has no
    /// guard to prove its basis current, so it goes to the locked path too.
    async fn write_from_memory(
        &self,
        id: AgentId,
        basis: Basis,
        reports: Vec<Report>,
    ) -> Result<Attempt, ServiceError> {
        let this = self.clone();
        single_write(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let guard = CommitGuard {
                    state_version: basis.state.version,
                    policy_version: basis.policy.version,
                };
                debug_assert_eq!(basis.agent.id, id);
                let now = this.clock.now();
                let first = TrustView::compute(basis.agent, basis.state, basis.policy, now);
                let decided = this.decide(tx, first, &reports).await?;
                if decided.writes.receipts.is_empty() {
                    return Ok(Attempt::Moved(reports));
                }
                match decided.write(tx, Some(guard)).await {
                    Ok((answers, after)) => Ok(Attempt::Committed(answers, Box::new(after))),
                    Err(StoreError::Conflict(_)) => Ok(Attempt::Moved(reports)),
                    Err(e) => Err(e.into()),
                }
            })
        })
        .await
    }

    /// The reports decided in order from `view`, the agent before the batch: an answer
    /// each, and what the batch writes.
    async fn decide(
        &self,
        tx: &mut dyn Tx,
        view: TrustView,
        reports: &[Report],
    ) -> Result<Decided, ServiceError> {
        let mut writes = Writes::default();
        let mut view = view;
        let mut answers = Vec::with_capacity(reports.len());
        for report in reports {
            match self.one(tx, &view, report, &mut writes).await {
                Ok(recorded) => {
                    view = recorded.view.clone();
                    answers.push(Ok(recorded));
                }
                Err(Refused(e)) => answers.push(Err(e)),
                Err(Failed(e)) => return Err(e),
            }
        }
        Ok(Decided {
            answers,
            writes,
            view,
        })
    }

    /// Appends one report after `view`, the agent as the batch has left it so far.
    async fn one(
        &self,
        tx: &mut dyn Tx,
        view: &TrustView,
        report: &Report,
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
        let (witness, source) = match report.token.as_ref().map(|c| c.jti.clone()) {
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
            action: report.action.clone(),
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

/// A batch's reports decided: the answers, what to write, and the agent after them.
struct Decided {
    answers: Vec<Answer>,
    writes: Writes,
    view: TrustView,
}

impl Decided {
    /// Writes the batch (with `guard`: only if its basis is still current). Every caller's
    /// receipt is in the state version its answer names; the agent after the batch is the
    /// next one's basis.
    async fn write(
        mut self,
        tx: &mut dyn Tx,
        guard: Option<CommitGuard>,
    ) -> Result<(Vec<Answer>, Basis), StoreError> {
        let writes = &self.writes;
        if !writes.receipts.is_empty() {
            let version = tx
                .commit_receipts(&ReceiptCommit {
                    receipts: &writes.receipts,
                    history: &writes.history,
                    state: &self.view.state,
                    outbox: &writes.outbox,
                    audit: &writes.audit,
                    guard,
                })
                .await?;
            self.view.state.version = version;
            for recorded in self.answers.iter_mut().flatten() {
                recorded.view.state.version = version;
            }
        }
        let TrustView {
            agent,
            state,
            policy,
            ..
        } = self.view;
        Ok((
            self.answers,
            Basis {
                agent,
                state,
                policy,
            },
        ))
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
