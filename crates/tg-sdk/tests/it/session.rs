//! A whole session through the async client, endpoint by endpoint, against a real gateway.

use tg_sdk::types::{
    A2aProfile, ActionRule, Attestation, DelegationOutcome, Feedback, Plan, Scope, TierEdit,
};
use tg_sdk::wire::admin::{NewAccount, NewKey};
use tg_sdk::wire::agents::{
    AttestationRequest, DiscoverQuery, HistoryQuery, ListQuery, RegisterRequest, TokenQuery,
    TrustQuery,
};
use tg_sdk::wire::audit::{AuditQuery, ExportQuery};
use tg_sdk::wire::authorize::{AuthorizeRequest, BatchRequest};
use tg_sdk::wire::delegations::{DelegationRequest, OutcomeRequest};
use tg_sdk::wire::identity::{ChallengeAnswer, ConfigHashRequest, PublicKeyRequest};
use tg_sdk::wire::lifecycle::{IntrospectionRequest, ReasonRequest};
use tg_sdk::wire::receipts::RecordRequest;
use tg_sdk::wire::vouches::VouchRequest;
use tg_sdk::wire::webhooks::{RecoverRequest, WebhookRequest, WebhookUpdate};
use tg_sdk::wire::{Page, receipts, vouches};
use tg_sdk::{AgentId, Client, Outcome};

use crate::support::Gateway;

pub fn registration(name: &str) -> RegisterRequest {
    RegisterRequest {
        capabilities: vec!["send_email".into(), "read_data".into()],
        attestation: Some(Attestation::ApiKey),
        ..RegisterRequest::new(name, "openai", "sha256:0a1b2c")
    }
}

pub async fn record(c: &Client, agent: &AgentId, action: &str, times: usize) {
    for _ in 0..times {
        let r = c
            .record_action(&RecordRequest::new(agent, action, Outcome::Success))
            .await
            .unwrap();
        assert_eq!(&r.receipt.agent_id, agent);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_receipts_and_decisions() {
    let gw = Gateway::start().await;
    let c = gw.client();
    assert_eq!(c.health().await.unwrap().status, "healthy");
    assert_eq!(c.ready().await.unwrap().status, "ready");

    let mut reg = registration("email-bot");
    reg.a2a = Some(A2aProfile::new("https://agents.example/email"));
    let agent = c.register_agent(&reg).await.unwrap();
    assert_eq!(agent.name, "email-bot");
    assert_eq!(c.get_agent(&agent.id).await.unwrap(), agent);
    let page = c.list_agents(&ListQuery::default()).await.unwrap();
    assert_eq!(page.agents.len(), 1);
    let found = c
        .discover_agents(&DiscoverQuery {
            query: "email".into(),
            offset: 0,
            limit: 20,
        })
        .await
        .unwrap();
    assert_eq!(found.agents[0].id, agent.id);

    record(&c, &agent.id, "send_email", 5).await;
    let receipts = c
        .list_receipts(&agent.id, &receipts::ListQuery::default())
        .await
        .unwrap();
    assert_eq!(receipts.receipts.len(), 5);
    assert_eq!(receipts.next_before_seq, None);
    let first = c
        .list_receipts(
            &agent.id,
            &receipts::ListQuery {
                limit: 2,
                before_seq: None,
            },
        )
        .await
        .unwrap();
    let seqs: Vec<u64> = first.receipts.iter().map(|r| r.receipt.seq).collect();
    assert_eq!((seqs, first.next_before_seq), (vec![5, 4], Some(4)));
    assert!(c.verify_receipt_chain(&agent.id).await.unwrap().valid);
    let export = c.export_receipts(&agent.id).await.unwrap();
    assert_eq!(export.receipts.len(), 5);
    let statement = export.statement.unwrap();
    assert_eq!(statement.length, 5);
    assert_eq!(
        statement.head_hash,
        hex::encode(export.receipts[4].receipt_hash),
        "the statement signs the chain's head"
    );
    assert!(export.signature.is_some());

    let breakdown = c
        .get_trust_breakdown(&agent.id, &TrustQuery::default())
        .await
        .unwrap();
    assert_eq!(breakdown.breakdown.agent_id, agent.id);
    assert!(!breakdown.breakdown.factors.is_empty());
    let history = c
        .get_trust_history(&agent.id, &HistoryQuery::default())
        .await
        .unwrap();
    assert!(history.history.len() >= 2, "registration and actions");
    let card = c.get_agent_card(&agent.id).await.unwrap();
    assert_eq!(card.total_actions, 5);
    let a2a = c.get_a2a_agent_card(&agent.id).await.unwrap();
    assert_eq!(a2a.name, "email-bot");
    assert_eq!(a2a.capabilities.extensions[0].params.agent_id, agent.id);
    assert_eq!(a2a.signatures.len(), 1);
    let cleared = c.clear_a2a_profile(&agent.id).await.unwrap();
    assert!(cleared.a2a.is_none());
    assert!(
        c.get_a2a_agent_card(&agent.id)
            .await
            .unwrap_err()
            .is_not_found()
    );
    let again = c
        .set_a2a_profile(&agent.id, reg.a2a.as_ref().unwrap())
        .await
        .unwrap();
    assert!(again.a2a.is_some());

    let read = c
        .authorize_action(&AuthorizeRequest::new(&agent.id, "read_data"))
        .await
        .unwrap();
    assert!(read.decision.allowed, "{read:?}");
    // Read-your-writes: decide at least on the state the last write returned.
    let written = c.get_agent(&agent.id).await.unwrap().state_version;
    let at = c
        .authorize_action(&AuthorizeRequest::new(&agent.id, "read_data").at_least(written))
        .await
        .unwrap();
    assert_eq!(at.state_version, written);
    let ahead = c
        .authorize_action(&AuthorizeRequest::new(&agent.id, "read_data").at_least(written + 1))
        .await
        .unwrap_err();
    assert!(ahead.to_string().contains("state version"), "{ahead}");
    let batch = c
        .authorize_batch(&BatchRequest::new(
            &agent.id,
            ["read_data", "delete_database"],
        ))
        .await
        .unwrap();
    assert_eq!((batch.allowed_count, batch.denied_count), (1, 1));
    assert!(!batch.results["delete_database"].allowed);

    let tiers = c.list_tiers().await.unwrap();
    let edited = c
        .edit_tier(
            1,
            &TierEdit {
                name: Some("Probation".into()),
                ..TierEdit::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((edited.tier, edited.name.as_str()), (1, "Probation"));
    assert_eq!(
        edited.permissions, tiers[1].permissions,
        "permissions untouched"
    );
    let catalog = c
        .put_action(
            "archive_mail",
            &ActionRule {
                required_tier: 1,
                min_score: 0.2,
            },
        )
        .await
        .unwrap();
    assert!(catalog.actions.iter().any(|a| a.action == "archive_mail"));
    assert_eq!(c.list_actions().await.unwrap(), catalog);

    let stats = c.get_stats().await.unwrap();
    assert_eq!((stats.total_agents, stats.total_receipts), (1, 5));
    assert!(c.metrics().await.unwrap().contains("# TYPE"));

    // A refusal keeps the gateway's envelope.
    let missing = AgentId::generate();
    let e = c.get_agent(&missing).await.unwrap_err();
    assert_eq!((e.status(), e.code()), (Some(404), Some("not_found")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_identity_and_lifecycle() {
    let gw = Gateway::start().await;
    let c = gw.client();
    let agent = c.register_agent(&registration("signer")).await.unwrap();

    let grant = c
        .issue_token(&agent.id, &TokenQuery { expires_in: 600 })
        .await
        .unwrap();
    assert_eq!(grant.token_type, "Bearer");
    let active = c
        .introspect_token(&IntrospectionRequest {
            token: grant.token.clone(),
        })
        .await
        .unwrap();
    assert!(active.active);
    assert_eq!(active.sub.as_deref(), Some(agent.id.as_str()));

    // Proof of possession of an Ed25519 key.
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let pair = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    use ring::signature::KeyPair;
    let mut spki = hex::decode("302a300506032b6570032100").unwrap();
    spki.extend_from_slice(pair.public_key().as_ref());
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        b64(&spki)
    );
    c.set_public_key(
        &agent.id,
        &PublicKeyRequest {
            public_key: pem,
            key_algorithm: "Ed25519".into(),
        },
    )
    .await
    .unwrap();
    let challenge = c.issue_challenge(&agent.id).await.unwrap();
    let mut message = b"trust-gateway/ed25519-challenge/v1\0".to_vec();
    message.extend_from_slice(agent.id.as_str().as_bytes());
    message.extend_from_slice(challenge.nonce.as_bytes());
    let proven = c
        .verify_challenge(
            &agent.id,
            &ChallengeAnswer {
                nonce: challenge.nonce,
                signature: b64(pair.sign(&message).as_ref()),
            },
        )
        .await
        .unwrap();
    assert!(
        proven.badges.iter().any(|b| b == "key_verified"),
        "{proven:?}"
    );

    let drift = c
        .report_config(
            &agent.id,
            &ConfigHashRequest {
                config_hash: Some("sha256:changed".into()),
            },
        )
        .await
        .unwrap();
    let approved = c
        .approve_config(&agent.id, &ConfigHashRequest::default())
        .await
        .unwrap();
    assert!(approved.config_score > drift.config_score);
    let reattested = c
        .reattest_agent(
            &agent.id,
            &AttestationRequest {
                attestation: Attestation::SelfDeclared,
            },
        )
        .await
        .unwrap();
    assert_eq!(reattested.id, agent.id);

    let why = ReasonRequest {
        reason: Some("investigating".into()),
    };
    let suspended = c.suspend_agent(&agent.id, &why).await.unwrap();
    assert_eq!(suspended.status.as_str(), "suspended");
    let back = c.reactivate_agent(&agent.id, &why).await.unwrap();
    assert_eq!(back.status.as_str(), "active");
    let revoked = c.revoke_agent(&agent.id, &why).await.unwrap();
    assert_eq!(revoked.status.as_str(), "revoked");
    let after = c
        .introspect_token(&IntrospectionRequest { token: grant.token })
        .await
        .unwrap();
    assert!(!after.active, "revocation ends the agent's tokens");

    let trail = c
        .get_audit_trail(&agent.id, &AuditQuery::default())
        .await
        .unwrap();
    assert!(trail.events.len() >= 5);
    let export = c
        .export_audit(&agent.id, &ExportQuery::default())
        .await
        .unwrap();
    assert_eq!(export.statement.events, export.events.len() as u64);
    let csv = c
        .export_audit_csv(&agent.id, &ExportQuery::default())
        .await
        .unwrap();
    assert_eq!(
        csv.lines().count(),
        export.events.len() + 1,
        "header and rows"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delegations_vouches_webhooks_and_administration() {
    let gw = Gateway::start().await;
    let c = gw.client();
    let lead = c.register_agent(&registration("lead")).await.unwrap();
    let helper = c.register_agent(&registration("helper")).await.unwrap();
    record(&c, &helper.id, "read_data", 10).await;

    let d = c
        .create_delegation(&DelegationRequest {
            from_agent: Some(lead.id.to_string()),
            from_principal: None,
            to_agent: helper.id.to_string(),
            task_type: "summarise".into(),
            threshold: 0.0,
            parent_delegation_id: None,
            token: None,
        })
        .await
        .unwrap();
    assert_eq!(c.get_delegation(&d.delegation_id).await.unwrap().depth, 1);
    let done = c
        .record_delegation_outcome(
            &d.delegation_id,
            &OutcomeRequest {
                outcome: DelegationOutcome::Success,
                feedback: Some(Feedback::Positive),
                notes: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(done.outcome, Some(DelegationOutcome::Success));
    let chain = c.get_delegation_chain(&d.chain_id).await.unwrap();
    assert_eq!(chain.terminal_agent, helper.id);
    let history = c
        .get_delegation_history(&helper.id, &Page::default())
        .await
        .unwrap();
    assert_eq!(history.delegations.len(), 1);

    let anchor = c.set_anchor(&lead.id).await.unwrap();
    assert!(anchor.anchor);
    let vouch = c
        .create_vouch(
            &helper.id,
            &VouchRequest {
                from_agent: lead.id.to_string(),
                weight: 0.8,
                note: None,
                signature: None,
            },
        )
        .await
        .unwrap();
    let received = c
        .list_vouches(&helper.id, &vouches::ListQuery::default())
        .await
        .unwrap();
    assert_eq!(received.vouches[0].vouch_id, vouch.vouch_id);
    let revoked = c.revoke_vouch(&helper.id, &vouch.vouch_id).await.unwrap();
    assert!(revoked.revoked_at.is_some());
    assert!(!c.unset_anchor(&lead.id).await.unwrap().anchor);

    let hook = c
        .create_webhook(&WebhookRequest {
            url: "http://127.0.0.1:9/trust-hook".into(),
            events: vec!["tier_changed".into(), "authorization_denied".into()],
            secret: None,
            enabled: Some(false),
        })
        .await
        .unwrap();
    assert!(hook.secret.is_some(), "the signing secret is shown once");
    assert_eq!(c.get_webhook(&hook.id).await.unwrap().secret, None);
    assert_eq!(c.list_webhooks().await.unwrap().len(), 1);
    let updated = c
        .update_webhook(
            &hook.id,
            &WebhookUpdate {
                enabled: Some(true),
                ..WebhookUpdate::default()
            },
        )
        .await
        .unwrap();
    assert!(updated.enabled);
    let attempts = c
        .list_webhook_attempts(&hook.id, &Page::default())
        .await
        .unwrap();
    assert!(attempts.attempts.iter().all(|a| a.endpoint_id == hook.id));
    // Deliveries may be under way (the endpoint is enabled): only the answer is checked.
    c.recover_webhook(
        &hook.id,
        &RecoverRequest {
            since: "2020-01-01T00:00:00Z".into(),
            until: None,
        },
    )
    .await
    .unwrap();
    let e = c
        .retry_webhook_delivery(&hook.id, "msg_unknown")
        .await
        .unwrap_err();
    assert!(e.status().is_some_and(|s| (400..500).contains(&s)), "{e}");
    assert!(c.delete_webhook(&hook.id).await.unwrap().deleted);

    let account = c
        .create_account(&NewAccount {
            name: "tools-team".into(),
            plan: Plan::Pro,
        })
        .await
        .unwrap();
    assert!(
        c.list_accounts()
            .await
            .unwrap()
            .accounts
            .iter()
            .any(|a| a.id == account.id)
    );
    let key = c
        .create_key(&account.id, &NewKey { scope: Scope::Read })
        .await
        .unwrap();
    let secret = key.key.clone().unwrap();
    let reader = Client::new(&gw.base, &secret).unwrap();
    assert!(reader.list_agents(&ListQuery::default()).await.is_ok());
    let e = reader
        .register_agent(&registration("nope"))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(403), "{e}");
    assert_eq!(c.list_keys(&account.id).await.unwrap().keys.len(), 1);
    c.revoke_key(&key.id).await.unwrap();
    let e = reader.list_agents(&ListQuery::default()).await.unwrap_err();
    assert_eq!(e.status(), Some(401));

    // Signing keys: a rotated-in key is listed (not signing yet) and can be withdrawn.
    let keys = c.list_signing_keys().await.unwrap().keys;
    assert_eq!(keys.len(), 1);
    let rotated = c.rotate_signing_key().await.unwrap().keys;
    assert!(rotated[0].current && !rotated[1].current);
    let left = c.retire_signing_key(&rotated[1].kid).await.unwrap().keys;
    assert_eq!(left, keys);
    let trail = c
        .get_gateway_audit_trail(&AuditQuery {
            event_type: Some("signing_key_retired".into()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(trail.events.len(), 1);
    assert_eq!(trail.events[0].details["kid"], rotated[1].kid.as_str());

    assert!(c.list_trust_bundles().await.unwrap().bundles.is_empty());
    let e = c.reload_trust_bundles().await;
    assert!(e.is_ok() || e.unwrap_err().status().is_some());
    let jwks = c.get_jwks().await.unwrap();
    assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
    assert!(!c.issue_live_ticket().await.unwrap().ticket.is_empty());
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
