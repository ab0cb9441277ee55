//! Verifying an agent's stored chain without holding the store: the recorded head is read
//! first, then the receipts up to it a page at a time, each page in its own short read
//! (receipts are append-only, so pages read later still belong to that head). Between
//! pages other requests get the connection — on SQLite there is only one — so a long
//! chain never starves the rest of the gateway.

use std::sync::Arc;

use tg_core::AgentId;
use tg_identity::Agent;
use tg_receipts::{ChainHead, ChainReport, ChainVerifier, ReceiptSigner};

use crate::{ServiceError, Store, reading};

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
            let head = tx
                .get_trust(&head_of)
                .await?
                .map(|s| s.chain)
                .unwrap_or(ChainHead::EMPTY);
            Ok((agent, head))
        })
    })
    .await?;
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
        }
        if broken || page.len() < VERIFY_PAGE as usize {
            break;
        }
        tokio::task::yield_now().await;
    }
    // The stored receipts must end exactly at the head recorded with the last append: a
    // removed or replaced tail is caught here.
    Ok((agent, verifier.finish_at(expected)))
}
