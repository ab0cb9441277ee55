//! `trust-gateway verify-log CHECKPOINT --vkey VKEY [--witness VKEY] [--receipt HEX --proof
//! FILE]`: checks a saved checkpoint (`GET /log/checkpoint`) against the log's verifier key
//! (`GET /log/key`), with no server, secret or database; optionally a witness's
//! cosignature on it, and that a receipt is in its tree (the inclusion proof from
//! `GET /log/proof/inclusion`) — what a tool server needs to trust a receipt offline.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use tg_log::{Checkpoint, Note, Verifier, leaf_hash, verify_inclusion};
use tg_wire::log::InclusionProofOut;
use tg_wire::receipts::ReceiptExportDocument;

/// What to check besides the checkpoint's own signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extra {
    pub witness: Option<String>,
    /// The receipt's hex `receipt_hash` and the saved proof.
    pub receipt: Option<(String, std::path::PathBuf)>,
}

/// The checkpoint in `text`, signed by the log key `vkey`.
fn open_checkpoint(text: &str, vkey: &str, what: &str) -> anyhow::Result<(Note, Checkpoint)> {
    let note = Note::parse(text).map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
    let log = Verifier::parse(vkey).map_err(|e| anyhow::anyhow!("the log key: {e}"))?;
    if log.kind != tg_log::note::ED25519_NOTE {
        bail!("the log key is not a checkpoint key (signature type 0x01)");
    }
    note.verify(std::slice::from_ref(&log))
        .map_err(|e| anyhow::anyhow!("{what} is not signed by {}: {e}", log.name))?;
    let cp = Checkpoint::parse(&note.text).map_err(|e| anyhow::anyhow!("{e}"))?;
    if cp.origin != log.name {
        bail!(
            "the checkpoint's origin `{}` is not the key's name `{}`",
            cp.origin,
            log.name
        );
    }
    Ok((note, cp))
}

fn hashes(b64: &[String]) -> anyhow::Result<Vec<[u8; 32]>> {
    b64.iter()
        .map(|h| {
            B64.decode(h)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
        })
        .collect::<Option<Vec<_>>>()
        .context("the proof's hashes are not base64 SHA-256 hashes")
}

/// A receipt export's log section, against the log key: every proof verifies in the
/// signed checkpoint's tree, and every receipt the checkpoint covers has one.
pub fn export_proofs(export: &ReceiptExportDocument, vkey: &str) -> anyhow::Result<()> {
    let log = export
        .log
        .as_ref()
        .context("the export carries no log proofs (exported before the log held anything?)")?;
    let (_, cp) = open_checkpoint(&log.checkpoint, vkey, "the export's checkpoint")?;
    let by_seq: HashMap<u64, &[u8; 32]> = export
        .receipts
        .iter()
        .map(|r| (r.seq, &r.receipt_hash))
        .collect();
    let mut proven = HashSet::new();
    for p in &log.proofs {
        let receipt = by_seq.get(&p.seq).with_context(|| {
            format!("a proof for seq {}, which the export does not hold", p.seq)
        })?;
        let path = hashes(&p.hashes)?;
        if !verify_inclusion(&leaf_hash(*receipt), p.leaf_index, cp.size, &path, &cp.root) {
            bail!(
                "receipt seq {} is not leaf {} of the checkpoint's tree",
                p.seq,
                p.leaf_index
            );
        }
        proven.insert(p.seq);
    }
    if let Some(r) = export
        .receipts
        .iter()
        .find(|r| r.log_index.is_some_and(|i| i < cp.size) && !proven.contains(&r.seq))
    {
        bail!(
            "receipt seq {} is in the checkpoint's tree but has no proof",
            r.seq
        );
    }
    println!(
        "log: {} of {} receipts proven in the tree of {} ({}); {} newer than the checkpoint",
        proven.len(),
        export.receipts.len(),
        cp.size,
        cp.origin,
        export.receipts.len() - proven.len()
    );
    Ok(())
}

pub fn run(checkpoint: &Path, vkey: &str, extra: &Extra) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(checkpoint)
        .with_context(|| format!("cannot read {}", checkpoint.display()))?;
    let (note, cp) = open_checkpoint(&text, vkey, "the checkpoint")?;
    println!(
        "checkpoint verified: {} size {} root {}",
        cp.origin,
        cp.size,
        B64.encode(cp.root)
    );
    if let Some(w) = &extra.witness {
        let witness = Verifier::parse(w).map_err(|e| anyhow::anyhow!("--witness: {e}"))?;
        let ok = note
            .verify(std::slice::from_ref(&witness))
            .map_err(|e| anyhow::anyhow!("no valid cosignature by {}: {e}", witness.name))?;
        let at = ok.first().and_then(|v| v.timestamp).unwrap_or_default();
        println!("cosigned by {} at {at}", witness.name);
    }
    if let Some((hash, proof_file)) = &extra.receipt {
        let receipt: [u8; 32] = hex::decode(hash)
            .ok()
            .and_then(|b| b.try_into().ok())
            .context("--receipt: a hex receipt_hash (64 digits)")?;
        let raw = std::fs::read(proof_file)
            .with_context(|| format!("cannot read {}", proof_file.display()))?;
        let proof: InclusionProofOut = serde_json::from_slice(&raw)
            .with_context(|| format!("{} is not an inclusion proof", proof_file.display()))?;
        let path = hashes(&proof.hashes)?;
        if proof.tree_size != cp.size {
            bail!(
                "the proof is for a tree of {} leaves; the checkpoint's has {}",
                proof.tree_size,
                cp.size
            );
        }
        if !verify_inclusion(
            &leaf_hash(&receipt),
            proof.leaf_index,
            cp.size,
            &path,
            &cp.root,
        ) {
            bail!(
                "receipt {hash} is not leaf {} of this checkpoint's tree",
                proof.leaf_index
            );
        }
        println!(
            "receipt {hash} is leaf {} of the tree of {}",
            proof.leaf_index, cp.size
        );
    }
    Ok(())
}
