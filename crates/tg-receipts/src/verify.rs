use serde::Serialize;

use crate::signer::hash_fields;
use crate::{ChainHead, Receipt, ReceiptSigner};

/// The first broken link of a chain and why it is broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Broken {
    pub seq: u64,
    pub reason: String,
}

/// The result of verifying a whole chain (`GET /receipts/{agent_id}/verify`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainReport {
    pub valid: bool,
    pub length: u64,
    pub first_broken_seq: Option<u64>,
    pub reason: Option<String>,
}

/// Streaming chain verification: feed receipts in `seq` order.
#[derive(Debug)]
pub struct ChainVerifier<'a> {
    /// `None`: links only (sequence, `prev_hash`, `receipt_hash`) — what anyone without
    /// the gateway's secret can check, e.g. in an exported file.
    signer: Option<&'a ReceiptSigner>,
    head: ChainHead,
    broken: Option<Broken>,
    length: u64,
}

impl<'a> ChainVerifier<'a> {
    /// Checks links and the gateway's signatures.
    pub fn new(signer: &'a ReceiptSigner) -> Self {
        Self::resume(Some(signer), ChainHead::EMPTY, 0)
    }

    /// Checks links only (no secret needed).
    pub fn links_only() -> Self {
        Self::resume(None, ChainHead::EMPTY, 0)
    }

    /// Continues a verification that reached `head` after `length` receipts.
    pub fn resume(signer: Option<&'a ReceiptSigner>, head: ChainHead, length: u64) -> Self {
        Self {
            signer,
            head,
            broken: None,
            length,
        }
    }

    /// Checks the next receipt. After the first broken link every later call is ignored
    /// (the report names the first one).
    pub fn push(&mut self, r: &Receipt) -> Result<(), &Broken> {
        if self.broken.is_some() {
            return self.broken.as_ref().map_or(Ok(()), Err);
        }
        self.length += 1;
        let expected_seq = self.head.seq.saturating_add(1);
        let fail = |reason: String| Broken {
            seq: expected_seq.min(r.seq.max(1)),
            reason,
        };
        let problem = if r.seq != expected_seq {
            Some(fail(format!(
                "expected seq {expected_seq}, found {}",
                r.seq
            )))
        } else if r.prev_hash != self.head.hash {
            Some(fail(
                "prev_hash does not match the previous receipt's hash".into(),
            ))
        } else if hash_fields(
            &r.agent_id,
            r.seq,
            &r.action,
            r.result,
            r.timestamp,
            r.reported_at,
            &r.prev_hash,
            r.witness.as_ref(),
        ) != r.receipt_hash
        {
            Some(fail(
                "receipt_hash does not match the receipt's fields".into(),
            ))
        } else if r.provenance != crate::Witness::provenance_of(r.witness.as_ref()) {
            Some(fail(format!(
                "provenance `{}` does not match the receipt's witness",
                r.provenance.as_str()
            )))
        } else if let Some(signer) = self.signer {
            if r.key_id != signer.key_id() {
                Some(fail(format!("signed with unknown key `{}`", r.key_id)))
            } else if !signer.verify_hash(&r.receipt_hash, &r.signature) {
                Some(fail("signature does not verify".into()))
            } else {
                None
            }
        } else {
            None
        };
        match problem {
            None => {
                self.head = ChainHead {
                    seq: r.seq,
                    hash: r.receipt_hash,
                };
                Ok(())
            }
            Some(b) => {
                self.broken = Some(b);
                self.broken.as_ref().map_or(Ok(()), Err)
            }
        }
    }

    /// Where the verified part of the chain ends.
    pub fn head(&self) -> ChainHead {
        self.head
    }

    /// The verdict on what was pushed, which must end exactly at `expected` (the head
    /// recorded at the last append): a removed, replaced or extra tail breaks it too.
    pub fn finish_at(self, expected: ChainHead) -> ChainReport {
        let reached = self.head;
        let report = self.finish();
        if !report.valid || reached == expected {
            return report;
        }
        let (first, reason) = if reached.seq < expected.seq {
            (
                reached.seq + 1,
                format!(
                    "chain ends at seq {} but receipts up to seq {} were recorded",
                    reached.seq, expected.seq
                ),
            )
        } else if reached.seq > expected.seq {
            (
                expected.seq + 1,
                format!(
                    "receipts beyond the recorded head (seq {}) were inserted",
                    expected.seq
                ),
            )
        } else {
            (
                reached.seq,
                format!(
                    "the receipt at seq {} is not the one recorded as the chain head",
                    reached.seq
                ),
            )
        };
        ChainReport {
            valid: false,
            length: report.length,
            first_broken_seq: Some(first),
            reason: Some(reason),
        }
    }

    /// The verdict on what was pushed. A truncated tail is invisible here: use
    /// [`ChainVerifier::finish_at`] with the head recorded at the last append.
    pub fn finish(self) -> ChainReport {
        match self.broken {
            None => ChainReport {
                valid: true,
                length: self.length,
                first_broken_seq: None,
                reason: None,
            },
            Some(b) => ChainReport {
                valid: false,
                length: self.length,
                first_broken_seq: Some(b.seq),
                reason: Some(b.reason),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use tg_core::{AgentId, Outcome, Timestamp};

    use super::*;
    use crate::Draft;

    fn chain(signer: &ReceiptSigner, n: u64) -> Vec<Receipt> {
        let agent = AgentId::generate();
        let mut head = ChainHead::EMPTY;
        (0..n)
            .map(|i| {
                let draft = Draft {
                    agent_id: agent.clone(),
                    action: "send_email".into(),
                    result: if i % 3 == 0 {
                        Outcome::Failure
                    } else {
                        Outcome::Success
                    },
                    timestamp: Timestamp::from_secs(1_700_000_000 + i as i64),
                    reported_at: None,
                    witness: None,
                };
                let r = signer.append(head, draft);
                head = ChainHead {
                    seq: r.seq,
                    hash: r.receipt_hash,
                };
                r
            })
            .collect()
    }

    fn verify(signer: &ReceiptSigner, receipts: &[Receipt]) -> ChainReport {
        let mut v = ChainVerifier::new(signer);
        for r in receipts {
            let _ = v.push(r);
        }
        v.finish()
    }

    #[test]
    fn an_intact_chain_verifies() {
        let s = ReceiptSigner::from_secret(b"secret");
        let c = chain(&s, 10);
        assert_eq!(c.first().map(|r| r.prev_hash), Some(crate::GENESIS));
        assert_eq!(
            verify(&s, &c),
            ChainReport {
                valid: true,
                length: 10,
                first_broken_seq: None,
                reason: None
            }
        );
    }

    #[test]
    fn every_tampered_field_is_caught_at_its_link() {
        let s = ReceiptSigner::from_secret(b"secret");
        let c = chain(&s, 6);
        type Tamper = fn(&mut Receipt);
        let cases: &[(&str, Tamper, &str)] = &[
            (
                "action",
                |r| r.action = "delete_database".into(),
                "receipt_hash",
            ),
            ("result", |r| r.result = Outcome::Success, "receipt_hash"),
            (
                "timestamp",
                |r| r.timestamp = r.timestamp.plus_secs(1),
                "receipt_hash",
            ),
            (
                "reported_at",
                |r| r.reported_at = Some(Timestamp::UNIX_EPOCH),
                "receipt_hash",
            ),
            (
                "agent_id",
                |r| r.agent_id = AgentId::generate(),
                "receipt_hash",
            ),
            ("prev_hash", |r| r.prev_hash[0] ^= 1, "prev_hash"),
            ("receipt_hash", |r| r.receipt_hash[31] ^= 1, "receipt_hash"),
            ("signature", |r| r.signature[0] ^= 1, "signature"),
            ("key_id", |r| r.key_id = "hmac-other".into(), "unknown key"),
            ("seq", |r| r.seq = 9, "expected seq 4"),
        ];
        for (field, tamper, reason) in cases {
            let mut c = c.clone();
            if let Some(r) = c.get_mut(3) {
                // Receipt 4 is a failure (i = 3): flip it to test `result`.
                tamper(r);
            }
            let report = verify(&s, &c);
            assert!(!report.valid, "{field}");
            assert_eq!(report.first_broken_seq, Some(4), "{field}");
            assert!(
                report
                    .reason
                    .as_deref()
                    .unwrap_or_default()
                    .contains(reason),
                "{field}: {report:?}"
            );
        }
    }

    #[test]
    fn removed_and_reordered_links_are_caught() {
        let s = ReceiptSigner::from_secret(b"secret");
        let mut c = chain(&s, 5);
        c.remove(2);
        assert_eq!(verify(&s, &c).first_broken_seq, Some(3));
        let mut c = chain(&s, 5);
        c.swap(1, 2);
        assert_eq!(verify(&s, &c).first_broken_seq, Some(2));
    }

    #[test]
    fn another_secret_does_not_verify() {
        let c = chain(&ReceiptSigner::from_secret(b"secret"), 2);
        let report = verify(&ReceiptSigner::from_secret(b"other"), &c);
        assert_eq!(report.first_broken_seq, Some(1));
    }

    #[test]
    fn links_only_needs_no_secret_and_still_catches_edits() {
        let c = chain(&ReceiptSigner::from_secret(b"secret"), 5);
        let head = ChainHead {
            seq: 5,
            hash: c[4].receipt_hash,
        };
        let mut v = ChainVerifier::links_only();
        c.iter().for_each(|r| {
            let _ = v.push(r);
        });
        assert!(v.finish_at(head).valid, "signatures are not checked");

        let mut edited = c.clone();
        edited[2].action = "delete_database".into();
        let mut v = ChainVerifier::links_only();
        edited.iter().for_each(|r| {
            let _ = v.push(r);
        });
        assert_eq!(v.finish_at(head).first_broken_seq, Some(3));

        // A dropped tail: the links hold, the recorded head does not.
        let mut v = ChainVerifier::links_only();
        c[..4].iter().for_each(|r| {
            let _ = v.push(r);
        });
        let report = v.finish_at(head);
        assert_eq!(report.first_broken_seq, Some(5), "{report:?}");
    }
}
