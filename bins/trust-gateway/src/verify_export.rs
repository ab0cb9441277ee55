//! `trust-gateway verify-export FILE --jwks JWKS`: checks an export with no server and no
//! secret, against a key of the saved JWKS:
//!
//! - a receipt export (`GET /receipts/{agent_id}/export`): the gateway's signature over the
//!   statement, the hash links of every receipt, and that they end at the signed head;
//! - a JSON audit export (`GET /agents/{id}/audit/export`): the signature over the
//!   statement, and that the events (count and digest) and summary are the signed ones.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use anyhow::{Context, bail};
use serde::Deserialize;
use tg_audit::{AUDIT_EXPORT_FORMAT, AuditStatement};
use tg_receipts::RECEIPT_EXPORT_FORMAT;
use tg_receipts::{ChainHead, ChainVerifier, HASH_LEN};
use tg_tokens::DetachedJws;
use tg_wire::receipts::ReceiptExportDocument;
use tg_wire::signed::DetachedSignature;

/// Progress is reported every this many receipts.
const PROGRESS_EVERY: usize = 10_000;

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> anyhow::Result<T> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    serde_json::from_reader(BufReader::new(file))
        .with_context(|| format!("{} is not {what}", path.display()))
}

pub fn run(file: &Path, jwks: &Path, log_key: Option<&str>) -> anyhow::Result<()> {
    let keys: serde_json::Value = read_json(jwks, "a JWK Set")?;
    if !keys.get("keys").is_some_and(serde_json::Value::is_array) {
        bail!("{} is not a JWK Set (no `keys`)", jwks.display());
    }
    let doc: serde_json::Value = read_json(file, "JSON")?;
    match doc.get("format").and_then(serde_json::Value::as_str) {
        Some(RECEIPT_EXPORT_FORMAT) => receipts(
            serde_json::from_value(doc).context("not a receipt export")?,
            &keys,
            jwks,
            log_key,
        ),
        Some(AUDIT_EXPORT_FORMAT) => audit(
            serde_json::from_value(doc).context("not an audit export")?,
            &keys,
            jwks,
        ),
        other => bail!(
            "unknown export format {other:?} (expected {RECEIPT_EXPORT_FORMAT} or {AUDIT_EXPORT_FORMAT}; CSV exports are not signed)"
        ),
    }
}

/// The statement's signature, by a key of `keys`: the `kid` that verified.
fn check_signature<T: serde::Serialize>(
    statement: &T,
    signature: &DetachedSignature,
    keys: &serde_json::Value,
    jwks: &Path,
) -> anyhow::Result<String> {
    let canonical = serde_jcs::to_vec(statement).context("the statement has no canonical form")?;
    tg_tokens::verify_detached(
        keys,
        &DetachedJws::from(signature),
        &canonical,
        tg_tokens::Signed::ExportStatement,
    )
    .map_err(|e| anyhow::anyhow!("the signature does not verify with {}: {e}", jwks.display()))
}

#[derive(Debug, Deserialize)]
struct AuditFile {
    format: String,
    export_id: String,
    agent_id: String,
    period_start: tg_core::Timestamp,
    period_end: tg_core::Timestamp,
    events: Vec<serde_json::Value>,
    summary: tg_audit::AuditSummary,
    statement: AuditStatement,
    signature: DetachedSignature,
}

fn audit(export: AuditFile, keys: &serde_json::Value, jwks: &Path) -> anyhow::Result<()> {
    let s = &export.statement;
    let kid = check_signature(s, &export.signature, keys, jwks)?;
    if s.format != export.format
        || s.export_id != export.export_id
        || s.agent_id != export.agent_id
        || s.period_start != export.period_start
        || s.period_end != export.period_end
    {
        bail!("the signed statement is about another export");
    }
    if s.summary != export.summary {
        bail!("the summary is not the signed one");
    }
    let total = export.events.len();
    let mut digest = tg_audit::EventDigest::default();
    for (i, e) in export.events.iter().enumerate() {
        digest.push(e).map_err(anyhow::Error::msg)?;
        if (i + 1) % PROGRESS_EVERY == 0 {
            eprintln!("hashed {} of {total} events", i + 1);
        }
    }
    let (count, sha256) = digest.finish();
    if count != s.events || sha256 != s.events_sha256 {
        bail!(
            "the events are not the signed ones ({count} events here, {} signed; digest {})",
            s.events,
            if sha256 == s.events_sha256 {
                "equal"
            } else {
                "differs"
            }
        );
    }
    println!(
        "valid: {count} audit events of {} from {} to {}, exported {} by {} (key {kid})",
        export.agent_id, s.period_start, s.period_end, s.exported_at, s.issuer
    );
    Ok(())
}

fn receipts(
    export: ReceiptExportDocument,
    keys: &serde_json::Value,
    jwks: &Path,
    log_key: Option<&str>,
) -> anyhow::Result<()> {
    let (Some(statement), Some(signature)) = (&export.statement, &export.signature) else {
        let why = export.error.as_ref().map_or_else(
            || "no statement".to_owned(),
            |r| serde_json::to_string(r).unwrap_or_default(),
        );
        bail!("the gateway did not vouch for this export: {why}");
    };

    // 1. The statement is the gateway's: its signature verifies with a published key.
    let kid = check_signature(statement, signature, keys, jwks)?;
    if statement.format != RECEIPT_EXPORT_FORMAT || statement.agent_id != export.agent_id {
        bail!("the signed statement is about another export");
    }

    // 2. The receipts are the ones it vouches for: their hash links end at its head.
    let mut head_hash = [0u8; HASH_LEN];
    hex::decode_to_slice(&statement.head_hash, &mut head_hash)
        .context("the statement's head_hash is not 64 hex digits")?;
    let total = export.receipts.len();
    let mut verifier = ChainVerifier::links_only();
    for (i, r) in export.receipts.iter().enumerate() {
        if r.agent_id.as_str() != export.agent_id {
            bail!(
                "receipt seq {} belongs to another agent ({})",
                r.seq,
                r.agent_id
            );
        }
        if verifier.push(r).is_err() {
            break;
        }
        if (i + 1) % PROGRESS_EVERY == 0 {
            eprintln!("checked {} of {total} receipts", i + 1);
        }
    }
    let report = verifier.finish_at(ChainHead {
        seq: statement.length,
        hash: head_hash,
    });
    if !report.valid {
        bail!(
            "BROKEN at seq {}: {}",
            report.first_broken_seq.unwrap_or_default(),
            report.reason.as_deref().unwrap_or("unknown")
        );
    }
    println!(
        "valid: {} receipts of {}, head {}…, exported {} by {} (key {kid})",
        report.length,
        export.agent_id,
        statement.head_hash.get(..16).unwrap_or_default(),
        statement.exported_at,
        statement.issuer
    );
    match log_key {
        Some(vkey) => crate::verify_log::export_proofs(&export, vkey),
        None if export.log.is_some() => {
            println!(
                "the export carries log proofs: give --log-key VKEY (GET /log/key) to check them"
            );
            Ok(())
        }
        None => Ok(()),
    }
}
