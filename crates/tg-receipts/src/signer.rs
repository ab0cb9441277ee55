use ring::{digest, hmac};
use tg_core::{AgentId, Outcome, ReceiptId, Timestamp};

use crate::{ChainHead, HASH_LEN, Receipt, Witness, canonical_bytes};

/// What the caller supplies for a new receipt; the signer adds the chain fields.
#[derive(Debug, Clone)]
pub struct Draft {
    pub agent_id: AgentId,
    pub action: String,
    pub result: Outcome,
    pub timestamp: Timestamp,
    pub reported_at: Option<Timestamp>,
    /// The witnessing account, for a witnessed receipt.
    pub witness: Option<Witness>,
}

/// Hashes and signs receipts with an HMAC-SHA256 key derived from the gateway secret.
pub struct ReceiptSigner {
    key: hmac::Key,
    key_id: String,
}

impl std::fmt::Debug for ReceiptSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiptSigner")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl ReceiptSigner {
    /// A signer whose key is `HMAC-SHA256(secret, "trust-gateway/receipt-key/v1")`, so the
    /// raw secret is never used directly for more than one purpose.
    pub fn from_secret(secret: &[u8]) -> Self {
        let derive = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let derived = hmac::sign(&derive, b"trust-gateway/receipt-key/v1");
        let key_id = format!(
            "hmac-{}",
            hex::encode(
                digest::digest(&digest::SHA256, derived.as_ref())
                    .as_ref()
                    .get(..8)
                    .unwrap_or_default()
            )
        );
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
            key_id,
        }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The next receipt of a chain whose head is `head`.
    pub fn append(&self, head: ChainHead, draft: Draft) -> Receipt {
        let seq = head.seq.saturating_add(1);
        let receipt_hash = hash_fields(
            &draft.agent_id,
            seq,
            &draft.action,
            draft.result,
            draft.timestamp,
            draft.reported_at,
            &head.hash,
            draft.witness.as_ref(),
        );
        let signature = self.sign_hash(&receipt_hash);
        Receipt {
            id: ReceiptId::generate(),
            agent_id: draft.agent_id,
            seq,
            action: draft.action,
            result: draft.result,
            timestamp: draft.timestamp,
            reported_at: draft.reported_at,
            prev_hash: head.hash,
            receipt_hash,
            signature,
            key_id: self.key_id.clone(),
            provenance: Witness::provenance_of(draft.witness.as_ref()),
            witness: draft.witness,
            log_index: None,
        }
    }

    /// HMAC over a chain head as recorded for `agent`: a head rewritten without the
    /// gateway's secret does not carry it.
    pub fn head_mac(&self, agent: &tg_core::AgentId, head: &ChainHead) -> [u8; HASH_LEN] {
        let mut msg = b"trust-gateway/chain-head/v1\n".to_vec();
        msg.extend_from_slice(agent.as_str().as_bytes());
        msg.push(b'\n');
        msg.extend_from_slice(&head.seq.to_be_bytes());
        msg.extend_from_slice(&head.hash);
        let tag = hmac::sign(&self.key, &msg);
        let mut out = [0u8; HASH_LEN];
        out.copy_from_slice(tag.as_ref());
        out
    }

    pub(crate) fn sign_hash(&self, hash: &[u8; HASH_LEN]) -> [u8; HASH_LEN] {
        let tag = hmac::sign(&self.key, hash);
        let mut out = [0u8; HASH_LEN];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Constant-time check of a stored signature.
    pub(crate) fn verify_hash(&self, hash: &[u8; HASH_LEN], signature: &[u8; HASH_LEN]) -> bool {
        hmac::verify(&self.key, hash, signature).is_ok()
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn hash_fields(
    agent_id: &AgentId,
    seq: u64,
    action: &str,
    result: Outcome,
    timestamp: Timestamp,
    reported_at: Option<Timestamp>,
    prev_hash: &[u8; HASH_LEN],
    witness: Option<&Witness>,
) -> [u8; HASH_LEN] {
    let bytes = canonical_bytes(
        agent_id.as_str(),
        seq,
        action,
        result.as_str(),
        timestamp.as_micros(),
        reported_at.map(Timestamp::as_micros),
        prev_hash,
        witness.map(|w| (w.account_id.as_str(), w.token_jti.as_str())),
    );
    let d = digest::digest(&digest::SHA256, &bytes);
    let mut out = [0u8; HASH_LEN];
    out.copy_from_slice(d.as_ref());
    out
}
