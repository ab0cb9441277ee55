//! Receipt commits made without the row lock, from an instance's memory of the agent: one
//! statement outside any transaction, guarded by the state and policy versions the batch
//! began from.

use serde_json::json;
use tg_audit::{Actor, AuditEvent, EventType};
use tg_core::{AccountId, StoreError};
use tg_receipts::{ChainHead, Draft, Receipt, ReceiptSigner};
use tg_service::{CommitGuard, ReceiptCommit, TrustState, reading, single_write};
use tg_store::Db;

use crate::cases::{T0, agent, first_policy, state, trail_of, tx};

/// Commits `receipt` (and one audit event) after `state`, guarded by `guard`, through
/// `single_write`: the store's own answer.
async fn commit(
    db: &Db,
    receipt: &Receipt,
    state: &TrustState,
    guard: CommitGuard,
) -> Result<u64, StoreError> {
    let (receipt, state) = (receipt.clone(), state.clone());
    let audit = AuditEvent::new(
        EventType::ReceiptRecorded,
        Some(receipt.agent_id.clone()),
        json!({"seq": receipt.seq}),
        &Actor::default(),
        T0,
    );
    single_write(db, move |tx| {
        Box::pin(async move {
            let state = TrustState {
                chain: ChainHead {
                    seq: receipt.seq,
                    hash: receipt.receipt_hash,
                },
                ..state
            };
            Ok(tx
                .commit_receipts(&ReceiptCommit {
                    receipts: &[receipt],
                    history: &[],
                    state: &state,
                    outbox: &[],
                    audit: &[audit],
                    guard: Some(guard),
                })
                .await)
        })
    })
    .await
    .unwrap()
}

/// A guarded commit writes only while the agent's stored state version and the newest
/// policy version are the guard's; otherwise it is a `Conflict` and nothing of it is
/// stored, not even on PostgreSQL, where it runs as one statement with no transaction
/// around it.
pub async fn guarded_receipt_commits_write_only_on_a_current_basis(db: Db) {
    let account = AccountId::generate();
    let a = agent(&account, "a", None);
    let id = a.id.clone();
    let st = state(&id);
    let (a2, st2) = (a.clone(), st.clone());
    tx(&db, move |tx| {
        Box::pin(async move {
            tx.insert_agent(&a2).await?;
            tx.insert_trust(&st2).await?;
            Ok(())
        })
    })
    .await
    .unwrap();
    let signer = ReceiptSigner::from_secret(b"secret");
    let first = signer.append(
        ChainHead::EMPTY,
        Draft {
            agent_id: id.clone(),
            action: "call_api".into(),
            result: tg_core::Outcome::Success,
            timestamp: T0,
            reported_at: None,
            witness: None,
        },
    );
    let guard = |state_version, policy_version| CommitGuard {
        state_version,
        policy_version,
    };
    let moved = |r: Result<u64, StoreError>| matches!(r, Err(StoreError::Conflict(_)));

    // The state moved (version 0 is stored), then the policy did (none is saved yet).
    assert!(moved(commit(&db, &first, &st, guard(1, 0)).await));
    assert!(moved(commit(&db, &first, &st, guard(0, 1)).await));
    // A policy saved since: the guard that names the old one is refused.
    tx(&db, move |tx| {
        Box::pin(async move { Ok(tx.save_policy_document(&first_policy()).await?) })
    })
    .await
    .unwrap();
    assert!(moved(commit(&db, &first, &st, guard(0, 0)).await));
    let id2 = id.clone();
    let untouched = reading(&db, move |tx| {
        Box::pin(async move {
            let receipts = tx.list_receipts(&id2, 10, None).await?;
            let state = tx.get_trust(&id2).await?;
            let audit = tx.query_audit(&trail_of(&id2)).await?;
            Ok((receipts, state, audit))
        })
    })
    .await
    .unwrap();
    assert_eq!(untouched, (vec![], Some(st.clone()), vec![]));

    // Current: written, the version raised.
    assert_eq!(commit(&db, &first, &st, guard(0, 1)).await.unwrap(), 1);
    // ... and the same basis again is stale now.
    let second = signer.append(
        ChainHead {
            seq: first.seq,
            hash: first.receipt_hash,
        },
        Draft {
            agent_id: id.clone(),
            action: "call_api".into(),
            result: tg_core::Outcome::Success,
            timestamp: T0.plus_secs(1),
            reported_at: None,
            witness: None,
        },
    );
    assert!(moved(commit(&db, &second, &st, guard(0, 1)).await));
    let stored = reading(&db, move |tx| {
        Box::pin(async move {
            Ok((
                tx.list_receipts(&id, 10, None).await?,
                tx.get_trust(&id).await?.map(|s| (s.version, s.chain)),
            ))
        })
    })
    .await
    .unwrap();
    let head = ChainHead {
        seq: 1,
        hash: first.receipt_hash,
    };
    assert_eq!(stored, (vec![first], Some((1, head))));
}
