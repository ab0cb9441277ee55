//! Verifying an agent's stored chain without holding the store: the recorded head is read
//! first, then the receipts up to it a page at a time, each page in its own short read
//! (receipts are append-only, so pages read later still belong to that head). Between
//! pages other requests get the connection — on SQLite there is only one — so a long
//! chain never starves the rest of the gateway.

use std::sync::Arc;

use tg_core::AgentId;
use tg_identity::Agent;
use tg_receipts::{ChainHead, ChainReport, ChainVerifier, Receipt, ReceiptSigner};

use crate::{ServiceError, Store, Tx, reading};

/// Receipts per read.
pub const VERIFY_PAGE: u32 = 1000;

/// The agent and its chain's verdict. `visible` decides whether the caller may see the
/// agent (else "not found").
pub(crate) async fn verify_stored_chain(
    store: &dyn Store,
    signer: &Arc<ReceiptSigner>,
    id: &AgentId,
    visible: impl Fn(&Agent) -> bool + Send + 'static,
) -> Result<(Agent, ChainReport), ServiceError> {
    let head_of = id.clone();
    let (agent, expected) = reading(store, move |tx| {
        Box::pin(async move {
            let agent = match tx.get_agent(&head_of).await? {
                Some(a) if visible(&a) => a,
                _ => return Err(ServiceError::agent_not_found(head_of.as_str())),
            };
            let head = HeadEvidence::read(tx, &head_of).await?;
            Ok((agent, head))
        })
    })
    .await?;
    let mut evidence = expected;
    let expected = evidence.head;
    let mut verifier = ChainVerifier::new(signer);
    let mut after = 0u64;
    while after < expected.seq {
        let page_of = id.clone();
        let page = reading(store, move |tx| {
            Box::pin(async move { Ok(tx.scan_receipts(&page_of, after, VERIFY_PAGE).await?) })
        })
        .await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        let mut broken = false;
        // Receipts appended since the head was read are not this verification's.
        for r in page.iter().take_while(|r| r.seq <= expected.seq) {
            broken |= verifier.push(r).is_err();
            evidence.observe(r);
        }
        if broken || page.len() < VERIFY_PAGE as usize {
            break;
        }
        tokio::task::yield_now().await;
    }
    // The stored receipts must end exactly at the head recorded with the last append: a
    // removed or replaced tail is caught here; a tail cut together with a rewritten head,
    // by the head's MAC and the transparency log.
    let reached = verifier.head();
    let report = verifier.finish_at(expected);
    Ok((agent, evidence.judge(report, reached, signer, id)))
}

/// What a chain is checked against besides its own links: the head recorded at the last
/// append with its MAC, and the agent's newest receipt in the transparency log.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeadEvidence {
    pub(crate) head: ChainHead,
    mac: Option<[u8; 32]>,
    /// (seq, log index, receipt hash) of the agent's newest logged receipt.
    logged: Option<(u64, u64, [u8; 32])>,
    /// Whether the receipt at the logged seq, when read, had the logged hash.
    logged_matches: Option<bool>,
}

impl HeadEvidence {
    /// Reads the log first: whatever it holds was committed before the head read after it.
    pub(crate) async fn read(tx: &mut dyn Tx, agent: &AgentId) -> Result<Self, ServiceError> {
        let logged = tx.agent_log_head(agent).await?;
        let state = tx.get_trust(agent).await?;
        Ok(Self {
            head: state.as_ref().map_or(ChainHead::EMPTY, |s| s.chain),
            mac: state.and_then(|s| s.chain_mac),
            logged,
            logged_matches: None,
        })
    }

    /// Notes a receipt of the chain as it is verified.
    pub(crate) fn observe(&mut self, r: &Receipt) {
        if let Some((seq, _, hash)) = self.logged
            && r.seq == seq
        {
            self.logged_matches = Some(r.receipt_hash == hash);
        }
    }

    /// The report, failed when the head's MAC or the log contradicts a chain that
    /// otherwise verified up to `reached`.
    pub(crate) fn judge(
        &self,
        report: ChainReport,
        reached: ChainHead,
        signer: &ReceiptSigner,
        agent: &AgentId,
    ) -> ChainReport {
        if !report.valid {
            return report;
        }
        let broken = |first: u64, reason: String| ChainReport {
            valid: false,
            length: report.length,
            first_broken_seq: Some(first),
            reason: Some(reason),
        };
        if let Some((seq, index, _)) = self.logged {
            if seq > reached.seq {
                return broken(
                    reached.seq + 1,
                    format!(
                        "the transparency log holds receipt seq {seq} (log index {index}) but the chain ends at seq {}: its tail was cut",
                        reached.seq
                    ),
                );
            }
            if self.logged_matches == Some(false) {
                return broken(
                    seq,
                    format!(
                        "the receipt at seq {seq} is not the one the transparency log holds at index {index}"
                    ),
                );
            }
        }
        if let Some(mac) = self.mac
            && mac != signer.head_mac(agent, &self.head)
        {
            return broken(
                reached.seq + 1,
                format!(
                    "the recorded chain head (seq {}) does not carry the gateway's MAC: it was rewritten, and receipts after seq {} may be missing",
                    self.head.seq, reached.seq
                ),
            );
        }
        report
    }
}
