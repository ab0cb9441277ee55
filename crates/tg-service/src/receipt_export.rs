//! Receipt exports that anyone can check offline: the chain in `seq` order, verified as it
//! is read (links and the gateway's HMAC signatures) up to the head recorded at the last
//! append, then a statement — agent, length, head hash — that the API signs with the
//! gateway's Ed25519 key (`kid` in the JWKS). The statement's head hash covers every
//! receipt through the hash links, so the file needs no secret and no server to check:
//! `trust-gateway verify-export FILE --jwks JWKS`.

use std::sync::Arc;

use tg_access::{Principal, Scope};
use tg_core::{AgentId, Timestamp};
use tg_receipts::{
    ChainHead, ChainReport, ChainVerifier, ExportStatement, RECEIPT_EXPORT_FORMAT, Receipt,
    ReceiptSigner,
};

use crate::trust_view::require_visible;
use crate::{Gateway, ServiceError, Store, reading};

const PAGE: u32 = 1000;

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
    /// The log phase, once begun: proofs of the receipts against one checkpoint.
    log: Option<ExportLog>,
}

/// One receipt's inclusion proof in the export's checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptLogProof {
    pub seq: u64,
    pub leaf_index: u64,
    /// RFC 9162 audit path, lowest sibling first.
    pub hashes: Vec<tg_log::Hash>,
}

#[derive(Debug)]
struct ExportLog {
    size: u64,
    /// Receipts up to this seq have been proven (or found newer than the checkpoint).
    after: u64,
    /// The tiles the current page's proofs read; those above level 0 are kept across
    /// pages (an export's proofs share them).
    tiles: tg_log::Tiles,
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
    pub fn finish(&mut self, now: Timestamp) -> Result<ExportStatement, ChainReport> {
        if let Some(report) = self.broken.clone() {
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
            issuer: self.issuer.clone(),
            agent_id: self.agent.to_string(),
            length: self.length,
            head_hash: hex::encode(self.reached.hash),
            exported_at: now,
        })
    }

    /// Starts the log phase: the newest checkpoint (its signed note), against which
    /// [`ReceiptExport::next_proof_page`] proves the receipts; `None` while the log is empty.
    pub async fn begin_log(&mut self) -> Result<Option<String>, ServiceError> {
        let latest = reading(self.store.as_ref(), |tx| {
            Box::pin(async move { Ok(tx.latest_checkpoint().await?) })
        })
        .await?;
        Ok(latest.map(|c| {
            self.log = Some(ExportLog {
                size: c.size,
                after: 0,
                tiles: tg_log::Tiles::default(),
            });
            c.note
        }))
    }

    /// The inclusion proofs of the next page of exported receipts in the checkpoint's tree
    /// (receipts newer than the checkpoint have none); `None` when every page is done.
    /// One short read per page: the page's `(seq, index)` pairs from the log's own entries,
    /// then the tiles their proofs need that earlier pages did not fetch.
    pub async fn next_proof_page(&mut self) -> Result<Option<Vec<ReceiptLogProof>>, ServiceError> {
        let (Some(log), length) = (self.log.as_mut(), self.length) else {
            return Ok(None);
        };
        if log.after >= length {
            return Ok(None);
        }
        let (agent, after, size) = (self.agent.clone(), log.after, log.size);
        let upper: std::collections::HashSet<tg_log::TileId> = log
            .tiles
            .0
            .keys()
            .filter(|id| id.level > 0)
            .copied()
            .collect();
        let (logged, fetched) = reading(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let logged = tx
                    .agent_log_indexes(&agent, after, length, size, PAGE)
                    .await?;
                let ids: Vec<tg_log::TileId> =
                    tg_log::inclusion_tiles(logged.iter().map(|(_, index)| *index), size)
                        .map_err(|e| {
                            ServiceError::internal_because("the log tiles of an export", e)
                        })?
                        .into_iter()
                        .filter(|id| !upper.contains(id))
                        .collect();
                Ok((logged, tx.tiles(&ids).await?))
            })
        })
        .await?;
        let Some(&(last, _)) = logged.last() else {
            log.after = length;
            return Ok(None);
        };
        log.after = last;
        // Level-0 tiles serve one page; the upper ones stay for the next.
        log.tiles.0.retain(|id, _| id.level > 0);
        log.tiles.0.extend(fetched.0);
        let memo = tg_log::MemoTiles::new(&log.tiles);
        let mut prover = tg_log::Prover::new(&memo, size);
        logged
            .into_iter()
            .map(|(seq, leaf_index)| {
                prover
                    .prove(leaf_index)
                    .map(|hashes| ReceiptLogProof {
                        seq,
                        leaf_index,
                        hashes,
                    })
                    .map_err(|e| {
                        ServiceError::internal_because(format!("log proof of seq {seq}"), e)
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

impl Gateway {
    /// `GET /receipts/{agent_id}/export`: the agent's account (or the operator) only.
    pub async fn export_receipts(
        &self,
        principal: &Principal,
        id: &AgentId,
    ) -> Result<ReceiptExport, ServiceError> {
        self.require(principal, Scope::Read)?;
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
            agent: id.clone(),
            expected: evidence.head,
            evidence,
            reached: ChainHead::EMPTY,
            length: 0,
            broken: None,
            done: false,
            log: None,
        })
    }
}
