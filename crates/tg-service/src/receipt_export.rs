//! Receipt exports that anyone can check offline: the chain in `seq` order, verified as it
//! is read (links and the gateway's HMAC signatures) up to the head recorded at the last
//! append, then a statement — agent, length, head hash — that the API signs with the
//! gateway's Ed25519 key (`kid` in the JWKS). The statement's head hash covers every
//! receipt through the hash links, so the file needs no secret and no server to check:
//! `trust-gateway verify-export FILE --jwks JWKS`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tg_access::{Principal, Scope};
use tg_core::{AgentId, Timestamp};
use tg_receipts::{ChainHead, ChainReport, ChainVerifier, Receipt, ReceiptSigner};

use crate::agents::{agent_id, require_visible};
use crate::{Gateway, ServiceError, Store, reading};

/// `format` of a receipt export.
pub const RECEIPT_EXPORT_FORMAT: &str = "trust-gateway/receipts/v1";
const PAGE: u32 = 1000;

/// What the gateway signs at the end of an export whose chain verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ExportStatement {
    /// [`RECEIPT_EXPORT_FORMAT`].
    pub format: String,
    /// The gateway (`GATEWAY_ISSUER`).
    pub issuer: String,
    pub agent_id: String,
    /// Receipts in the export: seq 1 to `length`.
    pub length: u64,
    /// Hex `receipt_hash` of the last receipt (64 zeros for an empty chain).
    pub head_hash: String,
    pub exported_at: Timestamp,
}

/// A running export: pages in `seq` order until `None`, then [`ReceiptExport::finish`].
#[derive(Debug)]
pub struct ReceiptExport {
    store: Arc<dyn Store>,
    signer: Arc<ReceiptSigner>,
    issuer: String,
    agent: AgentId,
    /// The head recorded with the last append when the export began, its MAC and the log.
    expected: ChainHead,
    evidence: crate::chain_check::HeadEvidence,
    reached: ChainHead,
    length: u64,
    broken: Option<ChainReport>,
    done: bool,
}

impl ReceiptExport {
    pub fn agent_id(&self) -> &AgentId {
        &self.agent
    }

    /// The next page, verified; `None` after the recorded head or the first broken link.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Receipt>>, ServiceError> {
        if self.done || self.reached.seq >= self.expected.seq {
            return Ok(None);
        }
        let (agent, after) = (self.agent.clone(), self.reached.seq);
        let limit = PAGE.min(u32::try_from(self.expected.seq - after).unwrap_or(PAGE));
        let page = reading(self.store.as_ref(), move |tx| {
            Box::pin(async move { Ok(tx.scan_receipts(&agent, after, limit).await?) })
        })
        .await?;
        if page.is_empty() {
            self.done = true;
            return Ok(None);
        }
        let mut page = page;
        let mut verifier = ChainVerifier::resume(Some(&self.signer), self.reached, self.length);
        let broken = page.iter().position(|r| verifier.push(r).is_err());
        for r in &page {
            self.evidence.observe(r);
        }
        if let Some(at) = broken {
            // Up to the first broken receipt, not past it.
            page.truncate(at + 1);
        }
        let broken = broken.is_some();
        self.reached = verifier.head();
        let report = verifier.finish();
        self.length = report.length;
        if broken {
            self.broken = Some(report);
            self.done = true;
        }
        Ok(Some(page))
    }

    /// The statement to sign when every receipt up to the recorded head verified, else
    /// why the chain does not hold.
    pub fn finish(self, now: Timestamp) -> Result<ExportStatement, ChainReport> {
        if let Some(report) = self.broken {
            return Err(report);
        }
        let report =
            ChainVerifier::resume(None, self.reached, self.length).finish_at(self.expected);
        let report = self
            .evidence
            .judge(report, self.reached, &self.signer, &self.agent);
        if !report.valid {
            return Err(report);
        }
        Ok(ExportStatement {
            format: RECEIPT_EXPORT_FORMAT.to_owned(),
            issuer: self.issuer,
            agent_id: self.agent.to_string(),
            length: self.length,
            head_hash: hex::encode(self.reached.hash),
            exported_at: now,
        })
    }
}

impl Gateway {
    /// `GET /receipts/{agent_id}/export`: the agent's account (or the operator) only.
    pub async fn export_receipts(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<ReceiptExport, ServiceError> {
        self.require(principal, Scope::Read)?;
        let id = agent_id(id)?;
        let agent = id.clone();
        let principal = principal.clone();
        let evidence = reading(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                require_visible(tx, &principal, &agent).await?;
                crate::chain_check::HeadEvidence::read(tx, &agent).await
            })
        })
        .await?;
        Ok(ReceiptExport {
            store: Arc::clone(&self.store),
            signer: Arc::clone(&self.signer),
            issuer: self.tokens().issuer().to_owned(),
            agent: id,
            expected: evidence.head,
            evidence,
            reached: ChainHead::EMPTY,
            length: 0,
            broken: None,
            done: false,
        })
    }
}
