use std::sync::Arc;

use serde_json::json;
use tg_access::{Account, ApiKey, Plan, Scope};
use tg_audit::{Actor, AuditEvent, AuditQuery, EventType};
use tg_core::{AccountId, AgentId, Outcome, StoreError, Timestamp, Unique};
use tg_identity::{Agent, AgentStatus, AttestationType, SpiffeId, VerificationLevel};
use tg_receipts::{ChainHead, Draft, ReceiptSigner};
use tg_scoring::Trigger;
use tg_service::{
    HistoryPoint, PolicyDocument, ServiceError, Store, TrustState, in_transaction, reading,
};
use tg_store::Db;
use tg_tokens::generate_signing_key;

pub(crate) use crate::guarded_commits::guarded_receipt_commits_write_only_on_a_current_basis;

pub(crate) const T0: Timestamp = Timestamp::from_secs(1_800_000_000);

pub fn agent(account: &AccountId, name: &str, spiffe: Option<&str>) -> Agent {
    Agent {
        id: AgentId::generate(),
        account_id: account.clone(),
        name: name.into(),
        provider: "openai".into(),
        spiffe_id: spiffe.map(|s| SpiffeId::parse(s).unwrap()),
        config_hash: "h1".into(),
        approved_config_hash: "h1".into(),
        capabilities: vec!["send_email".into()],
        status: AgentStatus::Active,
        suspended_by: None,
        verification_level: VerificationLevel::Claimed,
        attestation_type: AttestationType::ApiKey,
        identity_strength: 0.6,
        attestation_expires_at: Some(T0.plus_secs(3600)),
        public_key: Some("-----BEGIN PUBLIC KEY-----\n...".into()),
        key_verified_at: None,
        a2a: None,
        token_epoch: 0,
        created_at: T0,
        updated_at: T0,
    }
}

pub(crate) fn state(id: &AgentId) -> TrustState {
    TrustState {
        composite: 0.1,
        ..TrustState::new(id.clone(), T0)
    }
}

/// The first policy document an operator saves.
pub(crate) fn first_policy() -> PolicyDocument {
    PolicyDocument {
        version: 1,
        document: "{}".into(),
        updated_at: T0,
    }
}

/// The audit trail of `id` in the tests' first ten seconds.
pub(crate) fn trail_of(id: &AgentId) -> AuditQuery {
    AuditQuery {
        agent_id: Some(id.clone()),
        start: T0,
        end: T0.plus_secs(10),
        event_type: None,
        after: None,
        limit: 10,
    }
}

pub(crate) async fn tx<T: Send + 'static>(
    db: &Db,
    f: impl for<'a> FnOnce(
        &'a mut dyn tg_service::Tx,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<T, ServiceError>> + Send + 'a>,
    > + Send
    + 'static,
) -> Result<T, ServiceError> {
    in_transaction(db, f).await
}

/// The store's own error for inserting `a`, as the unit of work saw it (the unit then fails,
/// so nothing is written).
async fn insert_refused(db: &Db, a: Agent) -> StoreError {
    let (seen, got) = tokio::sync::oneshot::channel();
    let r = tx(db, move |tx| {
        Box::pin(async move {
            let refused = tx.insert_agent(&a).await.err();
            seen.send(refused).unwrap();
            Ok(())
        })
    })
    .await;
    assert!(matches!(r, Err(ServiceError::Conflict(_))), "{r:?}");
    got.await.unwrap().expect("the insert was refused")
}

pub async fn agents_insert_get_update_and_uniqueness(db: Db) {
    let account = AccountId::generate();
    let a = agent(&account, "email-bot", None);
    let a2 = a.clone();
    tx(&db, move |tx| {
        Box::pin(async move {
            tx.insert_agent(&a2).await?;
            assert_eq!(tx.get_agent(&a2.id).await?, Some(a2.clone()));
            assert_eq!(tx.lock_agent(&a2.id).await?, Some(a2.clone()));
            assert_eq!(tx.get_agent(&AgentId::generate()).await?, None);
            let mut changed = a2.clone();
            changed.status = AgentStatus::Suspended;
            changed.config_hash = "h2".into();
            changed.spiffe_id = None;
            tx.update_agent(&changed).await?;
            assert_eq!(tx.get_agent(&a2.id).await?, Some(changed));
            let ghost = agent(&AccountId::generate(), "ghost", None);
            assert!(matches!(
                tx.update_agent(&ghost).await,
                Err(StoreError::NotFound)
            ));
            Ok(())
        })
    })
    .await
    .unwrap();

    // Same name in the same account: conflict (and the transaction is rolled back).
    let dup = agent(&account, "email-bot", None);
    assert_eq!(
        insert_refused(&db, dup).await,
        StoreError::Taken(Unique::AgentName)
    );
    // Same name in another account: fine.
    let other = agent(&AccountId::generate(), "email-bot", None);
    tx(&db, move |tx| {
        Box::pin(async move { Ok(tx.insert_agent(&other).await?) })
    })
    .await
    .unwrap();
}

pub async fn spiffe_id_is_unique_only_among_unrevoked_holders(db: Db) {
    let account = AccountId::generate();
    let held = |name: &str| {
        let mut a = agent(&account, name, Some("spiffe://example.org/agent/a"));
        a.attestation_type = AttestationType::X509;
        a.verification_level = VerificationLevel::Certified;
        a
    };
    // Unproven claims (api_key) of one ID never conflict, with each other or a holder.
    let claims = [
        agent(&account, "c1", Some("spiffe://example.org/agent/a")),
        agent(&account, "c2", Some("spiffe://example.org/agent/a")),
    ];
    let (first, second) = (held("a"), held("b"));
    let (f, c) = (first.clone(), claims.clone());
    tx(&db, move |tx| {
        Box::pin(async move {
            for claim in &c {
                tx.insert_agent(claim).await?;
            }
            Ok(tx.insert_agent(&f).await?)
        })
    })
    .await
    .unwrap();
    assert_eq!(
        insert_refused(&db, second.clone()).await,
        StoreError::Taken(Unique::SpiffeId)
    );
    let id = first.spiffe_id.clone().unwrap();
    let naming = tx(&db, move |tx| {
        Box::pin(async move { Ok(tx.agents_naming_spiffe_id(&id).await?) })
    })
    .await
    .unwrap();
    assert_eq!(naming.len(), 3);
    assert_eq!(naming.iter().filter(|a| a.holds_spiffe_id()).count(), 1);
    let mut revoked = first;
    revoked.status = AgentStatus::Revoked;
    tx(&db, move |tx| {
        Box::pin(async move {
            tx.update_agent(&revoked).await?;
            tx.insert_agent(&second).await?;
            Ok(())
        })
    })
    .await
    .unwrap();
}

pub async fn receipts_append_list_scan_and_never_fork(db: Db) {
    let signer = ReceiptSigner::from_secret(b"secret");
    let id = AgentId::generate();
    let mut head = ChainHead::EMPTY;
    let mut all = Vec::new();
    for i in 0..5 {
        let r = signer.append(
            head,
            Draft {
                agent_id: id.clone(),
                action: "send_email".into(),
                result: Outcome::Success,
                timestamp: T0.plus_secs(i),
                reported_at: (i == 2).then_some(T0),
                witness: None,
            },
        );
        head = ChainHead {
            seq: r.seq,
            hash: r.receipt_hash,
        };
        all.push(r);
    }
    let (records, id2) = (all.clone(), id.clone());
    tx(&db, move |tx| {
        Box::pin(async move {
            assert_eq!(tx.receipt_head(&id2).await?, ChainHead::EMPTY);
            for r in &records {
                tx.append_receipt(r).await?;
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    let (records, id2) = (all.clone(), id.clone());
    reading(&db, move |tx| {
        Box::pin(async move {
            assert_eq!(tx.receipt_head(&id2).await?, head);
            let newest = tx.list_receipts(&id2, 2, None).await?;
            assert_eq!(newest, vec![records[4].clone(), records[3].clone()]);
            let older = tx.list_receipts(&id2, 10, Some(3)).await?;
            assert_eq!(older, vec![records[1].clone(), records[0].clone()]);
            let scanned = tx.scan_receipts(&id2, 1, 3).await?;
            assert_eq!(scanned, records[1..4].to_vec());
            assert!(
                tx.list_receipts(&AgentId::generate(), 10, None)
                    .await?
                    .is_empty()
            );
            Ok(())
        })
    })
    .await
    .unwrap();
    // The last day's count (`GET /stats`) is exact whatever index it reads (`receipts_ts`
    // is a BRIN index on PostgreSQL).
    for (since, recent) in [(T0, 5), (T0.plus_secs(3), 2), (T0.plus_secs(5), 0)] {
        let stats = reading(&db, move |tx| {
            Box::pin(async move { Ok(tx.stats(since).await?) })
        })
        .await
        .unwrap();
        assert_eq!(stats.recent_receipts, recent, "since {since:?}");
    }
    // A second receipt at an existing seq (a fork) is refused.
    let fork = signer.append(
        ChainHead {
            seq: 2,
            hash: all[1].receipt_hash,
        },
        Draft {
            agent_id: id.clone(),
            action: "delete_database".into(),
            result: Outcome::Success,
            timestamp: T0,
            reported_at: None,
            witness: None,
        },
    );
    assert_eq!(fork.seq, 3);
    let r = tx(&db, move |tx| {
        Box::pin(async move { Ok(tx.append_receipt(&fork).await?) })
    })
    .await;
    assert!(matches!(r, Err(ServiceError::Conflict(_))), "{r:?}");
}

pub async fn trust_state_history_and_stats(db: Db) {
    let account = AccountId::generate();
    let a = agent(&account, "a", None);
    let b = agent(&account, "b", None);
    let (a2, b2) = (a.clone(), b.clone());
    tx(&db, move |tx| {
        Box::pin(async move {
            for (ag, tier, composite, successes) in [(&a2, 2u8, 0.6, 7u64), (&b2, 0, 0.1, 1)] {
                tx.insert_agent(ag).await?;
                let mut s = state(&ag.id);
                s.tier = tier;
                s.composite = composite;
                s.evidence.successes = successes;
                s.evidence.violations = 1;
                s.evidence.as_of = Some(T0);
                s.chain = ChainHead {
                    seq: successes + 1,
                    hash: [7u8; 32],
                };
                tx.insert_trust(&s).await?;
            }
            for seq in 1..=3u64 {
                let p = HistoryPoint {
                    agent_id: a2.id.clone(),
                    seq,
                    timestamp: T0.plus_secs(seq as i64),
                    composite_score: 0.1 * seq as f64,
                    tier: 0,
                    trigger: Trigger::ActionRecorded,
                };
                tx.append_history(&p).await?;
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    let (a2, b2) = (a.clone(), b.clone());
    tx(&db, move |tx| {
        Box::pin(async move {
            let mut s = tx.get_trust(&a2.id).await?.unwrap();
            let snapshot = tx.agent_snapshot(&a2.id).await?;
            assert_eq!(
                snapshot,
                Some((a2.clone(), s.clone(), 0)),
                "agent, state and policy version in one read"
            );
            assert_eq!(tx.agent_snapshot(&AgentId::generate()).await?, None);
            assert_eq!(
                s.chain,
                ChainHead {
                    seq: 8,
                    hash: [7u8; 32]
                }
            );
            assert_eq!(s.evidence.as_of, Some(T0));
            s.vouch = 0.25;
            s.evidence.last_activity = Some(T0.plus_secs(9));
            // The state version is raised by the store, never taken from the caller.
            let before = s.version;
            s.version = 99;
            let raised = tx.update_trust(&s).await?;
            assert_eq!(raised, before + 1, "every update raises the version by one");
            s.version = raised;
            assert_eq!(tx.get_trust(&a2.id).await?, Some(s.clone()));
            assert_eq!(tx.bump_state(&a2.id).await?, raised + 1);
            s.version = raised + 1;
            assert_eq!(tx.get_trust(&a2.id).await?, Some(s));
            let nobody = AgentId::generate();
            assert!(matches!(
                tx.bump_state(&nobody).await,
                Err(StoreError::NotFound)
            ));
            assert_eq!(tx.get_trust(&nobody).await?, None);
            let h = tx.list_history(&a2.id, 2).await?;
            assert_eq!(h.iter().map(|p| p.seq).collect::<Vec<_>>(), vec![3, 2]);
            assert!(tx.list_history(&b2.id, 10).await?.is_empty());
            let dup = HistoryPoint {
                agent_id: a2.id.clone(),
                seq: 3,
                timestamp: T0,
                composite_score: 0.0,
                tier: 0,
                trigger: Trigger::Decay,
            };
            assert!(matches!(
                tx.append_history(&dup).await,
                Err(StoreError::Conflict(_))
            ));
            Ok(())
        })
    })
    .await
    .expect_err("the duplicate history point aborts this unit of work");
    let stats = reading(&db, |tx| {
        Box::pin(async move { Ok(tx.stats(Timestamp::UNIX_EPOCH).await?) })
    })
    .await
    .unwrap();
    assert_eq!(
        stats.recent_receipts, 0,
        "counted from the receipts themselves: none here"
    );
    assert_eq!(stats.total_agents, 2);
    assert_eq!(stats.active_agents, 2);
    assert_eq!(stats.agents_by_tier, vec![(0, 1), (2, 1)]);
    assert_eq!(
        (stats.successes, stats.violations, stats.total_receipts),
        (8, 2, 10)
    );
    assert!((stats.average_score - 0.35).abs() < 1e-9);
}

/// `n` events about `id`, the i-th of type `kind(i)` with details `{"i": i}`, a second
/// apart from `T0`.
fn numbered_events(
    id: &AgentId,
    actor: &Actor,
    n: i64,
    kind: impl Fn(i64) -> EventType,
) -> Vec<AuditEvent> {
    (0..n)
        .map(|i| {
            AuditEvent::new(
                kind(i),
                Some(id.clone()),
                json!({"i": i}),
                actor,
                T0.plus_secs(i),
            )
        })
        .collect()
}

pub async fn audit_append_and_query_by_period_type_and_cursor(db: Db) {
    let id = AgentId::generate();
    let actor = Actor {
        ip_hash: Some("ab".into()),
        api_key_prefix: Some("tgk_12345678".into()),
    };
    let events = numbered_events(&id, &actor, 6, |i| {
        if i % 2 == 0 {
            EventType::TrustCheck
        } else {
            EventType::ReceiptRecorded
        }
    });
    let written = events.clone();
    tx(&db, move |tx| {
        Box::pin(async move {
            for e in &written {
                tx.append_audit(e).await?;
            }
            tx.append_audit(&AuditEvent::new(
                EventType::PolicyChanged,
                None,
                json!({}),
                &Actor::default(),
                T0,
            ))
            .await?;
            Ok(())
        })
    })
    .await
    .unwrap();
    let q = |start: i64, end: i64, t: Option<EventType>, after: Option<&AuditEvent>, limit: u32| {
        AuditQuery {
            agent_id: Some(id.clone()),
            start: T0.plus_secs(start),
            end: T0.plus_secs(end),
            event_type: t,
            after: after.map(|e| (e.timestamp, e.event_id.clone())),
            limit,
        }
    };
    let queries = vec![
        q(1, 3, None, None, 100),
        q(0, 5, Some(EventType::TrustCheck), None, 100),
        q(0, 5, None, None, 2),
        q(0, 5, None, Some(&events[1]), 2),
    ];
    let results = reading(&db, move |tx| {
        Box::pin(async move {
            let mut out = Vec::new();
            for q in &queries {
                out.push(tx.query_audit(q).await?);
            }
            Ok(out)
        })
    })
    .await
    .unwrap();
    let ids = |r: &Vec<AuditEvent>| {
        r.iter()
            .map(|e| e.details["i"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&results[0]), vec![1, 2, 3], "inclusive period bounds");
    assert_eq!(ids(&results[1]), vec![0, 2, 4], "type filter");
    assert_eq!(ids(&results[2]), vec![0, 1], "limit");
    assert_eq!(ids(&results[3]), vec![2, 3], "cursor");
    assert_eq!(results[0][0], events[1], "round trip of every field");
}

/// A batch of 37 events in one call (on SQLite: two 16-row inserts and five single rows):
/// every event is stored once, whole, and reads back in order.
pub async fn audit_batches_are_stored_whole_across_insert_groups(db: Db) {
    let id = AgentId::generate();
    let actor = Actor {
        ip_hash: Some("cd".into()),
        api_key_prefix: None,
    };
    let events = numbered_events(&id, &actor, 37, |_| EventType::TrustCheck);
    let written = events.clone();
    tx(&db, move |tx| {
        Box::pin(async move { Ok(tx.append_audit_batch(&written).await?) })
    })
    .await
    .unwrap();
    let query = AuditQuery {
        agent_id: Some(id.clone()),
        start: T0,
        end: T0.plus_secs(100),
        event_type: None,
        after: None,
        limit: 100,
    };
    let stored = reading(&db, move |tx| {
        Box::pin(async move { Ok(tx.query_audit(&query).await?) })
    })
    .await
    .unwrap();
    assert_eq!(stored, events);
}

pub async fn accounts_and_keys(db: Db) {
    let acct = Account {
        id: AccountId::generate(),
        name: "acme".into(),
        plan: Plan::Pro,
        created_at: T0,
        lifts_operator_suspensions: false,
    };
    let key = ApiKey::generate(acct.id.clone(), Scope::Write, T0);
    let (a2, k2) = (acct.clone(), key.key.clone());
    tx(&db, move |tx| {
        Box::pin(async move {
            tx.insert_account(&a2).await?;
            tx.insert_key(&k2).await?;
            assert_eq!(tx.get_account(&a2.id).await?, Some(a2.clone()));
            assert_eq!(tx.account_by_name("acme").await?, Some(a2.clone()));
            assert_eq!(tx.account_by_name("nobody").await?, None);
            assert_eq!(tx.get_key(&k2.id).await?, Some(k2.clone()));
            tx.revoke_key(&k2.id, T0.plus_secs(5)).await?;
            tx.revoke_key(&k2.id, T0.plus_secs(9)).await?;
            let keys = tx.list_keys(&a2.id).await?;
            assert_eq!(keys.len(), 1);
            assert_eq!(
                keys[0].revoked_at,
                Some(T0.plus_secs(5)),
                "revoked once, first time kept"
            );
            assert!(matches!(
                tx.revoke_key("deadbeef", T0).await,
                Err(StoreError::NotFound)
            ));
            let mut changed = a2.clone();
            changed.plan = Plan::Enterprise;
            changed.lifts_operator_suspensions = true;
            tx.update_account(&changed).await?;
            assert_eq!(tx.get_account(&a2.id).await?, Some(changed.clone()));
            let mut ghost = changed;
            ghost.id = AccountId::generate();
            assert!(matches!(
                tx.update_account(&ghost).await,
                Err(StoreError::NotFound)
            ));
            Ok(())
        })
    })
    .await
    .unwrap();
    let dup = Account {
        id: AccountId::generate(),
        ..acct
    };
    let (seen, got) = tokio::sync::oneshot::channel();
    let r = tx(&db, move |tx| {
        Box::pin(async move {
            seen.send(tx.insert_account(&dup).await.err()).unwrap();
            Ok(())
        })
    })
    .await;
    assert!(matches!(r, Err(ServiceError::Conflict(_))));
    assert_eq!(
        got.await.unwrap(),
        Some(StoreError::Taken(Unique::AccountName))
    );
}

pub async fn signing_key_is_inserted_once(db: Db) {
    let secret = [9u8; 32];
    let k1 = generate_signing_key(&secret, T0).unwrap();
    let k2 = generate_signing_key(&secret, T0).unwrap();
    let (a, b) = (k1.clone(), k2.clone());
    let kept = tx(&db, move |tx| {
        Box::pin(async move {
            let first = tx.insert_signing_key_if_none(&a).await?;
            let second = tx.insert_signing_key_if_none(&b).await?;
            Ok((first, second, tx.signing_keys().await?))
        })
    })
    .await
    .unwrap();
    assert_eq!(kept.0, k1);
    assert_eq!(kept.1, k1, "the second insert keeps the first key");
    assert_eq!(kept.2, vec![k1]);
}

pub async fn policy_documents_are_versioned(db: Db) {
    let doc = |v: i64| PolicyDocument {
        version: v,
        document: format!("{{\"v\":{v}}}"),
        updated_at: T0,
    };
    let out = tx(&db, move |tx| {
        Box::pin(async move {
            let empty = (tx.policy_version().await?, tx.policy_document().await?);
            tx.save_policy_document(&doc(1)).await?;
            tx.save_policy_document(&doc(2)).await?;
            Ok((
                empty,
                tx.policy_version().await?,
                tx.policy_document().await?,
            ))
        })
    })
    .await
    .unwrap();
    assert_eq!(out.0, (0, None));
    assert_eq!(out.1, 2);
    assert_eq!(out.2, Some(doc(2)));
    let r = tx(&db, move |tx| {
        Box::pin(async move { Ok(tx.save_policy_document(&doc(2)).await?) })
    })
    .await;
    assert!(
        matches!(r, Err(ServiceError::Conflict(_))),
        "a concurrent edit with the same version loses"
    );
}

pub async fn failed_units_of_work_leave_nothing_behind(db: Db) {
    let a = agent(&AccountId::generate(), "doomed", None);
    let id = a.id.clone();
    let r: Result<(), _> = tx(&db, move |tx| {
        Box::pin(async move {
            tx.insert_agent(&a).await?;
            tx.insert_trust(&state(&a.id)).await?;
            Err(ServiceError::Invalid("changed my mind".into()))
        })
    })
    .await;
    assert_eq!(r, Err(ServiceError::Invalid("changed my mind".into())));
    let left = reading(&db, move |tx| {
        Box::pin(async move { Ok((tx.get_agent(&id).await?, tx.get_trust(&id).await?)) })
    })
    .await
    .unwrap();
    assert_eq!(left, (None, None));
    let _ = Arc::new(db).backend();
}

fn vouch(from: &AgentId, to: &AgentId, weight: f64, at: Timestamp) -> tg_vouch::Vouch {
    tg_vouch::Vouch {
        id: tg_core::VouchId::generate(),
        from_agent: from.clone(),
        to_agent: to.clone(),
        weight,
        note: Some("ran its test suite".into()),
        signature: None,
        created_at: at,
        updated_at: at,
        revoked_at: None,
        vouchee_violations: 0,
    }
}

pub async fn vouches_one_active_per_pair_violations_and_anchors(db: Db) {
    use tg_vouch::Direction;
    let (a, b, c) = (
        AgentId::generate(),
        AgentId::generate(),
        AgentId::generate(),
    );
    let ab = vouch(&a, &b, 0.5, T0);
    let (a2, b2, c2, ab2) = (a.clone(), b.clone(), c.clone(), ab.clone());
    tx(&db, move |tx| {
        Box::pin(async move {
            let (a, b, c, ab) = (a2, b2, c2, ab2);
            tx.insert_vouch(&ab).await?;
            tx.insert_vouch(&vouch(&a, &c, 1.0, T0.plus_secs(1)))
                .await?;
            tx.insert_vouch(&vouch(&c, &b, 0.2, T0.plus_secs(2)))
                .await?;
            assert_eq!(tx.get_vouch(&ab.id).await?, Some(ab.clone()));
            assert_eq!(tx.active_vouch(&a, &b).await?, Some(ab.clone()));
            assert_eq!(tx.active_vouch(&b, &a).await?, None);
            let given = tx.list_vouches(&a, Direction::Given, 0, 10).await?;
            assert_eq!(given.len(), 2);
            assert_eq!(given[0].to_agent, c, "newest first");
            assert_eq!(tx.list_vouches(&a, Direction::Given, 1, 10).await?.len(), 1);
            assert_eq!(tx.count_vouches_received(&b).await?, 2);
            assert_eq!(tx.vouch_edges().await?.len(), 3);
            // Two violations by `b` count against both of its vouchers.
            assert_eq!(tx.note_vouchee_violation(&b).await?, 2);
            assert_eq!(tx.note_vouchee_violation(&b).await?, 2);
            Ok(())
        })
    })
    .await
    .unwrap();

    // A second active vouch for the pair is refused by the store itself.
    let dup = vouch(&a, &b, 0.9, T0.plus_secs(5));
    let r = tx(&db, move |tx| {
        Box::pin(async move { Ok(tx.insert_vouch(&dup).await?) })
    })
    .await;
    assert!(matches!(r, Err(ServiceError::Conflict(_))), "{r:?}");

    // Revoked: gone from lists, counts and edges, still accountable; the pair may vouch anew.
    let (a2, b2, c2) = (a.clone(), b.clone(), c.clone());
    let mut revoked = ab.clone();
    tx(&db, move |tx| {
        Box::pin(async move {
            let (a, b, c) = (a2, b2, c2);
            revoked.revoked_at = Some(T0.plus_secs(10));
            revoked.updated_at = T0.plus_secs(10);
            tx.update_vouch(&revoked).await?;
            assert_eq!(tx.active_vouch(&a, &b).await?, None);
            assert_eq!(tx.count_vouches_received(&b).await?, 1);
            assert_eq!(tx.vouch_edges().await?.len(), 2);
            assert_eq!(
                tx.note_vouchee_violation(&b).await?,
                1,
                "only active vouches"
            );
            let mut totals = tx.voucher_violations().await?;
            totals.sort();
            let mut want = vec![(a.clone(), 2), (c.clone(), 3)];
            want.sort();
            assert_eq!(totals, want);
            tx.insert_vouch(&vouch(&a, &b, 0.7, T0.plus_secs(11)))
                .await?;
            let stored = tx.get_vouch(&revoked.id).await?.unwrap();
            assert_eq!(
                (stored.revoked_at, stored.vouchee_violations),
                (Some(T0.plus_secs(10)), 2)
            );
            let mut missing = revoked.clone();
            missing.id = tg_core::VouchId::generate();
            assert!(matches!(
                tx.update_vouch(&missing).await,
                Err(StoreError::NotFound)
            ));

            assert!(tx.set_anchor(&a, T0).await?);
            assert!(!tx.set_anchor(&a, T0).await?, "already an anchor");
            assert!(tx.set_anchor(&c, T0).await?);
            let mut anchors = tx.anchors().await?;
            anchors.sort();
            let mut want = vec![a.clone(), c.clone()];
            want.sort();
            assert_eq!(anchors, want);
            assert!(tx.unset_anchor(&c).await?);
            assert!(!tx.unset_anchor(&c).await?);
            assert_eq!(tx.anchors().await?, vec![a]);
            Ok(())
        })
    })
    .await
    .unwrap();
}

pub async fn agents_scan_in_id_order_with_their_state(db: Db) {
    let account = AccountId::generate();
    let mut ids = Vec::new();
    for i in 0..5 {
        let a = agent(&account, &format!("scan-{i}"), None);
        ids.push(a.id.clone());
        tx(&db, move |tx| {
            Box::pin(async move {
                tx.insert_agent(&a).await?;
                Ok(tx.insert_trust(&state(&a.id)).await?)
            })
        })
        .await
        .unwrap();
    }
    ids.sort();
    let mut seen = Vec::new();
    let mut after: Option<AgentId> = None;
    loop {
        let from = after.clone();
        let page = reading(&db, move |tx| {
            Box::pin(async move { Ok(tx.scan_agents(from.as_ref(), 2).await?) })
        })
        .await
        .unwrap();
        for (a, s) in &page {
            assert_eq!(a.id, s.agent_id);
        }
        after = page.last().map(|(a, _)| a.id.clone());
        seen.extend(page.into_iter().map(|(a, _)| a.id));
        if after.is_none() {
            break;
        }
    }
    assert_eq!(seen, ids);
}

pub async fn webhook_outbox_fans_out_claims_once_and_records_attempts(db: Db) {
    use tg_webhooks::{Attempt, DeliveryStatus, Endpoint, EventKind, OutboxEvent};
    let (admin, acme, other) = (
        AccountId::generate(),
        AccountId::generate(),
        AccountId::generate(),
    );
    let endpoint = |account: &AccountId, events: Vec<EventKind>, enabled: bool| Endpoint {
        id: tg_core::WebhookId::generate(),
        account_id: account.clone(),
        url: "https://example.com/hook".into(),
        events,
        secrets: vec!["whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".into()],
        enabled,
        disabled_reason: None,
        failing_since: None,
        created_at: T0,
        updated_at: T0,
        stream: None,
    };
    let all = endpoint(
        &admin,
        vec![EventKind::TierChanged, EventKind::TrustChanged],
        true,
    );
    // A Shared Signals stream keeps what its receiver requested.
    let all = Endpoint {
        stream: Some(tg_webhooks::SetStream {
            events_requested: vec!["https://example.com/event-type/x".into()],
            description: Some("all of it".into()),
        }),
        ..all
    };
    let mine = endpoint(&acme, vec![EventKind::TierChanged], true);
    let theirs = endpoint(&other, vec![EventKind::TierChanged], true);
    let off = endpoint(&acme, vec![EventKind::TierChanged], false);
    let agent = AgentId::generate();
    let event = OutboxEvent::new(
        EventKind::TierChanged,
        Some(acme.clone()),
        Some(agent.clone()),
        json!({"new_tier": 2}),
        T0,
    );
    let (a2, m2, t2, o2, e2, admin2) = (
        all.clone(),
        mine.clone(),
        theirs.clone(),
        off.clone(),
        event.clone(),
        admin.clone(),
    );
    tx(&db, move |tx| {
        Box::pin(async move {
            // A pass takes the oldest `limit` and marks exactly those: the next pass takes
            // the rest, in order (before any endpoint exists, so none is delivered).
            let later: Vec<OutboxEvent> = (3..6)
                .map(|t| {
                    OutboxEvent::new(
                        EventKind::TierChanged,
                        Some(m2.account_id.clone()),
                        None,
                        json!({"new_tier": t}),
                        T0,
                    )
                })
                .collect();
            for e in &later {
                tx.append_outbox(e).await?;
            }
            assert_eq!(tx.fan_out(&admin2, T0, 2).await?, later[..2].to_vec());
            assert_eq!(tx.fan_out(&admin2, T0, 2).await?, later[2..].to_vec());
            assert_eq!(tx.fan_out(&admin2, T0, 2).await?, vec![]);
            for e in [&a2, &m2, &t2, &o2] {
                tx.insert_endpoint(e).await?;
            }
            assert_eq!(tx.get_endpoint(&m2.id).await?, Some(m2.clone()));
            assert_eq!(tx.get_endpoint(&a2.id).await?, Some(a2.clone()));
            assert_eq!(tx.list_endpoints(Some(&m2.account_id)).await?.len(), 2);
            assert_eq!(tx.list_endpoints(None).await?.len(), 4);
            tx.append_outbox(&e2).await?;
            // The admin's endpoint and acme's enabled one; not another account's, not a
            // disabled one.
            assert_eq!(tx.fan_out(&admin2, T0, 100).await?, vec![e2.clone()]);
            assert_eq!(
                tx.fan_out(&admin2, T0, 100).await?,
                vec![],
                "fanned out once"
            );
            assert_eq!(tx.outbox_event(&e2.id).await?, Some(e2.clone()));
            Ok(())
        })
    })
    .await
    .unwrap();

    // Two claimers: each delivery goes to exactly one until its lease runs out.
    let claim = |at: Timestamp| {
        let db = db.clone();
        async move {
            tx(&db, move |tx| {
                Box::pin(async move { Ok(tx.claim_due(at, at.plus_secs(30), 10).await?) })
            })
            .await
            .unwrap()
        }
    };
    let (first, second) = tokio::join!(claim(T0), claim(T0));
    assert_eq!(first.len() + second.len(), 2, "{first:?} {second:?}");
    assert!(claim(T0.plus_secs(10)).await.is_empty(), "leased");
    let reclaimed = claim(T0.plus_secs(31)).await;
    assert_eq!(reclaimed.len(), 2, "a crashed worker's lease runs out");

    let mut d = reclaimed
        .into_iter()
        .find(|d| d.endpoint_id == mine.id)
        .unwrap();
    d.attempts = 1;
    d.status = DeliveryStatus::Delivered;
    d.lease_until = None;
    d.last_status = Some(204);
    d.delivered_at = Some(T0.plus_secs(31));
    let attempt = Attempt {
        event_id: d.event_id.clone(),
        endpoint_id: d.endpoint_id.clone(),
        attempt: 1,
        at: T0.plus_secs(31),
        status_code: Some(204),
        latency_ms: 3,
        error: None,
    };
    let (d2, a2, mine_id, all_id, event_id) = (
        d.clone(),
        attempt.clone(),
        mine.id.clone(),
        all.id.clone(),
        event.id.clone(),
    );
    tx(&db, move |tx| {
        Box::pin(async move {
            tx.finish_attempts(&[(a2.clone(), d2.clone())]).await?;
            assert_eq!(
                tx.get_delivery(&event_id, &mine_id).await?,
                Some(d2.clone())
            );
            assert_eq!(tx.list_attempts(&mine_id, 0, 10).await?, vec![a2.clone()]);
            // Deleting an endpoint fails its pending deliveries.
            tx.delete_endpoint(&all_id).await?;
            let gone = tx.get_delivery(&event_id, &all_id).await?.unwrap();
            assert_eq!(gone.status, DeliveryStatus::Failed);
            assert!(matches!(
                tx.delete_endpoint(&all_id).await,
                Err(StoreError::NotFound)
            ));
            Ok(())
        })
    })
    .await
    .unwrap();
    assert!(claim(T0.plus_secs(100)).await.is_empty());

    // Recovery: failed deliveries created in a range go back in the queue, due now.
    let mut failed = d.clone();
    failed.status = DeliveryStatus::Failed;
    let mut a3 = attempt.clone();
    a3.attempt = 2;
    let (mine_id, event_id) = (mine.id.clone(), event.id.clone());
    tx(&db, move |tx| {
        Box::pin(async move {
            tx.finish_attempts(&[(a3, failed)]).await?;
            let later = T0.plus_secs(200);
            assert_eq!(
                tx.requeue_failed(&mine_id, T0.plus_secs(1), later, later)
                    .await?,
                0,
                "created before the range"
            );
            assert_eq!(
                tx.requeue_failed(&mine_id, T0, T0.plus_secs(1), later)
                    .await?,
                1
            );
            let back = tx.get_delivery(&event_id, &mine_id).await?.unwrap();
            assert_eq!(
                (back.status, back.next_attempt_at, back.lease_until),
                (DeliveryStatus::Pending, later, None)
            );
            assert_eq!(
                tx.requeue_failed(&mine_id, T0, T0.plus_secs(1), later)
                    .await?,
                0,
                "only failed ones"
            );
            Ok(())
        })
    })
    .await
    .unwrap();
}

pub async fn revoked_tokens_and_attestation_nonces_are_single_records(db: Db) {
    let agent = AgentId::generate();
    let account = AccountId::generate();
    let other = AccountId::generate();
    let revoked = tg_tokens::RevokedToken {
        jti: "tok_1".into(),
        agent_id: agent.clone(),
        revoked_at: T0,
        expires_at: T0.plus_secs(60),
    };
    let nonce = tg_identity::AttestationNonce::issue(account.clone(), T0);
    let n = nonce.nonce.clone();
    tx(&db, move |tx| {
        Box::pin(async move {
            tx.revoke_token(&revoked).await?;
            tx.revoke_token(&revoked).await?; // twice: no error, one record
            assert!(!tx.revoke_token(&revoked).await?, "not new the third time");
            assert_eq!(
                tx.first_revoked(&["tok_1"]).await?.as_deref(),
                Some("tok_1")
            );
            assert_eq!(tx.first_revoked(&["tok_2"]).await?, None);
            assert_eq!(tx.first_revoked(&[]).await?, None);
            assert_eq!(
                tx.first_revoked(&["tok_2", "tok_3", "tok_1"])
                    .await?
                    .as_deref(),
                Some("tok_1"),
                "one read finds it among several"
            );
            assert_eq!(tx.first_revoked(&["tok_2", "tok_3"]).await?, None);
            tx.purge_revoked_tokens(T0.plus_secs(59)).await?;
            assert!(
                tx.first_revoked(&["tok_1"]).await?.is_some(),
                "kept until it expires"
            );
            tx.purge_revoked_tokens(T0.plus_secs(61)).await?;
            assert_eq!(tx.first_revoked(&["tok_1", "tok_2"]).await?, None);

            tx.insert_nonce(&nonce).await?;
            assert_eq!(tx.pending_nonces(&account).await?, 1);
            assert!(!tx.take_nonce(&n, &other, T0).await?, "another account's");
            assert!(tx.take_nonce(&n, &account, T0.plus_secs(1)).await?);
            assert!(
                !tx.take_nonce(&n, &account, T0.plus_secs(1)).await?,
                "single use"
            );
            let late = tg_identity::AttestationNonce::issue(account.clone(), T0);
            let late_n = late.nonce.clone();
            tx.insert_nonce(&late).await?;
            assert!(
                !tx.take_nonce(&late_n, &account, T0.plus_secs(121)).await?,
                "expired"
            );
            assert_eq!(
                tx.pending_nonces(&account).await?,
                0,
                "taken even when expired"
            );
            Ok(())
        })
    })
    .await
    .unwrap();
}

fn delegation(
    from: &AgentId,
    to: &AgentId,
    parent: Option<&tg_delegation::Delegation>,
    at: i64,
) -> tg_delegation::Delegation {
    tg_delegation::Delegation {
        id: tg_core::DelegationId::generate(),
        chain_id: parent.map_or_else(tg_core::ChainId::generate, |p| p.chain_id.clone()),
        parent: parent.map(|p| p.id.clone()),
        depth: parent.map_or(1, |p| p.depth + 1),
        from: tg_delegation::Delegator::Agent(from.clone()),
        to_agent: to.clone(),
        root_authority: tg_delegation::Delegator::Human("user:alice".into()),
        task_type: "triage".into(),
        threshold: 2.0,
        trust_score_at_delegation: 3.0,
        delegated_at: T0.plus_secs(at),
        accepted_at: Some(T0.plus_secs(at)),
        outcome: None,
    }
}

pub async fn open_delegations_are_accepted_hand_offs_without_an_outcome(db: Db) {
    use tg_delegation::{DelegationOutcome, Delegator, OutcomeRecord};
    let (a, b, c) = (
        AgentId::generate(),
        AgentId::generate(),
        AgentId::generate(),
    );
    let account = AccountId::generate();
    tx(&db, move |tx| {
        Box::pin(async move {
            let from_a = Delegator::Agent(a.clone());
            assert_eq!(tx.open_delegation(&from_a, &b, None).await?, None);
            let first = delegation(&a, &b, None, 0);
            let mut pending = delegation(&a, &b, None, 5);
            pending.accepted_at = None;
            for d in [&first, &pending] {
                tx.insert_delegation(d, &account).await?;
            }
            assert_eq!(
                tx.open_delegation(&from_a, &b, None).await?.map(|d| d.id),
                Some(first.id.clone()),
                "the accepted one, not the newer pending one"
            );
            assert_eq!(
                tx.open_delegation(&from_a, &c, None).await?,
                None,
                "another delegatee"
            );
            assert_eq!(
                tx.open_delegation(&Delegator::Agent(b.clone()), &a, None)
                    .await?,
                None,
                "the other direction"
            );

            let newer = delegation(&a, &b, None, 10);
            tx.insert_delegation(&newer, &account).await?;
            assert_eq!(
                tx.open_delegation(&from_a, &b, None).await?.map(|d| d.id),
                Some(newer.id.clone()),
                "the newest"
            );

            // Under a parent: only the child of that hop.
            let hop = delegation(&b, &c, Some(&first), 20);
            tx.insert_delegation(&hop, &account).await?;
            let from_b = Delegator::Agent(b.clone());
            assert_eq!(
                tx.open_delegation(&from_b, &c, Some(&first.id))
                    .await?
                    .map(|d| d.id),
                Some(hop.id.clone())
            );
            assert_eq!(
                tx.open_delegation(&from_b, &c, Some(&newer.id)).await?,
                None
            );

            // An outcome closes it.
            let mut done = newer.clone();
            done.outcome = Some(OutcomeRecord {
                outcome: DelegationOutcome::Success,
                feedback: None,
                notes: None,
                completed_at: T0.plus_secs(30),
            });
            tx.update_outcome(&done).await?;
            assert_eq!(
                tx.open_delegation(&from_a, &b, None).await?.map(|d| d.id),
                Some(first.id.clone())
            );
            Ok(())
        })
    })
    .await
    .unwrap();
}

/// `commit_receipts` writes the receipts, the history, the outbox and the audit events and
/// raises the state in one unit; with nothing but receipts it still raises the state; for
/// an agent without state it writes nothing.
pub async fn receipt_commits_write_every_part_or_nothing(db: Db) {
    use tg_receipts::Witness;
    use tg_service::ReceiptCommit;
    use tg_webhooks::{EventKind, OutboxEvent};
    let account = AccountId::generate();
    let a = agent(&account, "a", None);
    let id = a.id.clone();
    let signer = ReceiptSigner::from_secret(b"secret");
    let draft = |i: i64, witness: Option<Witness>| Draft {
        agent_id: id.clone(),
        action: format!("action_{i}"),
        result: Outcome::Success,
        timestamp: T0.plus_secs(i),
        reported_at: witness.as_ref().map(|_| T0),
        witness,
    };
    let first = signer.append(ChainHead::EMPTY, draft(0, None));
    let witnessed = Witness {
        account_id: AccountId::generate(),
        token_jti: "jti-1".into(),
    };
    let second = signer.append(
        ChainHead {
            seq: first.seq,
            hash: first.receipt_hash,
        },
        draft(1, Some(witnessed)),
    );
    let third = signer.append(
        ChainHead {
            seq: second.seq,
            hash: second.receipt_hash,
        },
        draft(2, None),
    );
    let point = HistoryPoint {
        agent_id: id.clone(),
        seq: 1,
        timestamp: T0.plus_secs(1),
        composite_score: 0.25,
        tier: 1,
        trigger: Trigger::ActionRecorded,
    };
    let outbox = vec![
        OutboxEvent::new(
            EventKind::ReceiptRecorded,
            Some(account.clone()),
            Some(id.clone()),
            json!({"seq": 1}),
            T0,
        ),
        OutboxEvent::new(EventKind::TierChanged, None, None, json!({}), T0),
    ];
    let actor = Actor {
        ip_hash: Some("ab".into()),
        api_key_prefix: None,
    };
    let audit = vec![
        AuditEvent::new(
            EventType::ReceiptRecorded,
            Some(id.clone()),
            json!({"seq": 1}),
            &actor,
            T0,
        ),
        AuditEvent::new(
            EventType::TrustScoreChanged,
            Some(id.clone()),
            json!({"new_score": 0.25}),
            &actor,
            T0.plus_secs(1),
        ),
    ];
    let after = TrustState {
        composite: 0.25,
        tier: 1,
        history_seq: 1,
        chain: ChainHead {
            seq: second.seq,
            hash: second.receipt_hash,
        },
        chain_mac: Some([7; 32]),
        ..state(&id)
    };

    let (a2, st) = (a.clone(), state(&id));
    let (receipts, history, state2, outbox2, audit2) = (
        vec![first.clone(), second.clone()],
        vec![point.clone()],
        after.clone(),
        outbox.clone(),
        audit.clone(),
    );
    let version = tx(&db, move |tx| {
        Box::pin(async move {
            tx.insert_agent(&a2).await?;
            tx.insert_trust(&st).await?;
            Ok(tx
                .commit_receipts(&ReceiptCommit {
                    receipts: &receipts,
                    history: &history,
                    state: &state2,
                    outbox: &outbox2,
                    audit: &audit2,
                    guard: None,
                })
                .await?)
        })
    })
    .await
    .unwrap();
    assert_eq!(version, 1);

    // Only a receipt: the empty parts write nothing and the state is raised again.
    let (third2, id2) = (third.clone(), id.clone());
    let state3 = TrustState {
        chain: ChainHead {
            seq: third.seq,
            hash: third.receipt_hash,
        },
        ..after.clone()
    };
    let version = tx(&db, move |tx| {
        Box::pin(async move {
            Ok(tx
                .commit_receipts(&ReceiptCommit {
                    receipts: &[third2],
                    history: &[],
                    state: &state3,
                    outbox: &[],
                    audit: &[],
                    guard: None,
                })
                .await?)
        })
    })
    .await
    .unwrap();
    assert_eq!(version, 2);

    // An agent without state: refused, and its receipt is not kept.
    let stranger = AgentId::generate();
    let lost = signer.append(
        ChainHead::EMPTY,
        Draft {
            agent_id: stranger.clone(),
            ..draft(0, None)
        },
    );
    let (stranger2, lost2) = (stranger.clone(), lost.clone());
    let refused = tx(&db, move |tx| {
        Box::pin(async move {
            Ok(tx
                .commit_receipts(&ReceiptCommit {
                    receipts: &[lost2],
                    history: &[],
                    state: &state(&stranger2),
                    outbox: &[],
                    audit: &[],
                    guard: None,
                })
                .await?)
        })
    })
    .await;
    assert!(
        matches!(refused, Err(ServiceError::NotFound(_))),
        "{refused:?}"
    );

    let admin = AccountId::generate();
    reading(&db, move |tx| {
        Box::pin(async move {
            let kept = tx.list_receipts(&id2, 10, None).await?;
            assert_eq!(kept, vec![third.clone(), second.clone(), first.clone()]);
            assert!(tx.list_receipts(&stranger, 10, None).await?.is_empty());
            let state = tx.get_trust(&id2).await?.unwrap();
            assert_eq!(state.version, 2);
            assert_eq!(
                (state.composite, state.tier, state.chain, state.chain_mac),
                (
                    0.25,
                    1,
                    ChainHead {
                        seq: 3,
                        hash: third.receipt_hash
                    },
                    Some([7; 32])
                )
            );
            assert_eq!(tx.list_history(&id2, 10).await?, vec![point.clone()]);
            let trail = tx.query_audit(&trail_of(&id2)).await?;
            assert_eq!(trail, audit);
            Ok(())
        })
    })
    .await
    .unwrap();
    let fanned = tx(&db, move |tx| {
        Box::pin(async move { Ok(tx.fan_out(&admin, T0, 100).await?) })
    })
    .await
    .unwrap();
    assert_eq!(fanned, outbox);
}
