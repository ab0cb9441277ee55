use serde_json::json;
use tg_access::{Principal, Scope};
use tg_audit::Actor;
use tg_core::{AgentId, Outcome};
use tg_receipts::{ChainReport, Receipt};
use tg_scoring::validate_action_name;

use crate::trust_view::{page_limit, require_visible};
use crate::{Gateway, ServiceError, in_transaction, reading};

use crate::recording::{RecordAction, Recorded};

impl Gateway {
    /// Appends a signed receipt and updates the score, history and audit trail in one
    /// transaction under the agent's lock. Concurrent calls for one agent share that
    /// transaction ([`crate::runtime::record_batch`]); each answers after the commit.
    pub async fn record_action(
        &self,
        principal: &Principal,
        actor: &Actor,
        req: RecordAction,
    ) -> Result<Recorded, ServiceError> {
        self.require(principal, Scope::Write)?;
        let id = req.agent_id;
        validate_action_name(&req.action).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let token = req
            .token
            .as_deref()
            .map(|t| self.agent_token(t, &id, "interaction"))
            .transpose()?;
        let report = crate::runtime::record_batch::Report {
            principal: principal.clone(),
            actor: actor.clone(),
            action: req.action,
            result: req.result,
            reported_at: req.reported_at,
            token,
        };
        let violation = req.result == Outcome::Violation;
        let recorded = self.recorder.record(id, report).await?;
        if violation {
            self.vouching.wake();
        }
        self.webhooks.wake();
        Ok(recorded)
    }

    /// Calls to record queued and not yet taken by a batch (a batch takes the queue once
    /// it holds the agent's row lock).
    pub fn records_waiting(&self) -> usize {
        self.recorder.batches.waiting()
    }

    /// Agents with calls to record queued or a transaction appending their receipts now.
    pub fn record_batches_running(&self) -> usize {
        self.recorder.batches.busy_keys()
    }

    /// `GET /receipts/{agent_id}`: newest first.
    pub async fn receipts(
        &self,
        principal: &Principal,
        id: &AgentId,
        limit: u32,
        before_seq: Option<u64>,
    ) -> Result<Vec<Receipt>, ServiceError> {
        self.require(principal, Scope::Read)?;
        let id = id.clone();
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
        id: &AgentId,
    ) -> Result<ChainReport, ServiceError> {
        self.require(principal, Scope::Read)?;
        let id = id.clone();
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
