//! Issue 13's red-team cases on tenancy and authority, as regression tests: three accounts on
//! one gateway (the operator, acme, globex), each attack tried and refused.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::accounts::{as_key, new_key};
use crate::support::{Backend, Server, start};

/// A tenant: its account id and a key of each scope.
struct Tenant {
    id: String,
    admin: String,
    write: String,
    read: String,
}

async fn tenant(s: &Server, name: &str) -> Tenant {
    let (id, write) = s.tenant(name).await;
    Tenant {
        admin: new_key(s, &id, "admin").await,
        read: new_key(s, &id, "read").await,
        write,
        id,
    }
}

async fn register(s: &Server, key: &str, name: &str, capabilities: &[&str]) -> String {
    let body =
        json!({"name": name, "provider": "p", "config_hash": "h", "capabilities": capabilities});
    let (status, agent) = as_key(s, key, Method::POST, "/agents/register", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{agent}");
    agent["id"].as_str().unwrap().to_owned()
}

async fn status_of(s: &Server, key: &str, method: Method, path: &str, body: Option<Value>) -> u16 {
    as_key(s, key, method, path, body).await.0.as_u16()
}

/// Receipts, exports, chain checks, history, delegations, chains and vouch details belong to
/// the agent's account and the operator; another tenant's read key gets 404 for each. The
/// TrustResult, the trust breakdown and discovery stay public.
pub async fn private_reads_belong_to_the_agents_account(backend: Backend) {
    let s = start(backend).await;
    let acme = tenant(&s, "acme").await;
    let globex = tenant(&s, "globex").await;
    let agent = register(&s, &acme.write, "acme-mailer", &["send_email"]).await;
    let voucher = register(&s, &acme.write, "acme-voucher", &[]).await;
    for _ in 0..5 {
        let body = json!({"agent_id": agent, "action": "read_data", "result": "success"});
        let (status, r) =
            as_key(&s, &acme.write, Method::POST, "/actions/record", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
    }
    let (status, _) = as_key(
        &s,
        &acme.write,
        Method::POST,
        &format!("/agents/{agent}/vouches"),
        Some(json!({"from_agent": voucher, "weight": 0.5})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, d) = as_key(
        &s,
        &acme.write,
        Method::POST,
        "/delegations",
        Some(json!({"from_principal": "user:alice", "to_agent": agent, "task_type": "mail", "threshold": 0})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    let (delegation, chain) = (
        d["delegation_id"].as_str().unwrap(),
        d["chain_id"].as_str().unwrap(),
    );

    let private = [
        format!("/receipts/{agent}"),
        format!("/receipts/{agent}/export"),
        format!("/receipts/{agent}/verify"),
        format!("/agents/{agent}/history"),
        format!("/agents/{agent}/delegation-history"),
        format!("/agents/{agent}/vouches"),
        format!("/agents/{agent}/vouches?direction=given"),
        format!("/agents/{agent}/audit"),
        format!("/delegations/{delegation}"),
        format!("/chains/{chain}"),
    ];
    for path in &private {
        for key in [&globex.read, &globex.write, &globex.admin] {
            assert_eq!(
                status_of(&s, key, Method::GET, path, None).await,
                404,
                "{path}"
            );
        }
        assert_eq!(
            status_of(&s, &acme.read, Method::GET, path, None).await,
            200,
            "{path}"
        );
        assert_eq!(
            status_of(&s, &s.key, Method::GET, path, None).await,
            200,
            "{path}"
        );
    }
    // A 404 that says nothing: the same answer as for an agent that does not exist.
    let (_, theirs) = as_key(
        &s,
        &globex.read,
        Method::GET,
        &format!("/receipts/{agent}"),
        None,
    )
    .await;
    assert_eq!(theirs["code"], "not_found");

    // Public across tenants: the trust views and discovery.
    for path in [
        format!("/agents/{agent}/trust"),
        format!("/agents/{agent}"),
        "/agents/discover?query=acme-mailer".to_owned(),
    ] {
        assert_eq!(
            status_of(&s, &globex.read, Method::GET, &path, None).await,
            200,
            "{path}"
        );
    }
    let (status, verdict) = as_key(
        &s,
        &globex.read,
        Method::POST,
        "/trust/verify",
        Some(json!({"agent_id": agent, "min_score": 0})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(verdict["agent_id"], agent.as_str());
    assert_eq!(
        verdict["vouch_count"], 1,
        "the count is public, the vouches are not"
    );
}

/// `discover` matches names and single capabilities, never the JSON text they are stored in.
pub async fn discovery_never_matches_json_syntax(backend: Backend) {
    let s = start(backend).await;
    let acme = tenant(&s, "acme").await;
    let globex = tenant(&s, "globex").await;
    register(&s, &acme.write, "mailer", &["send_email", "read_inbox"]).await;
    register(&s, &globex.write, "indexer", &["Search_Docs"]).await;
    let bracketed = register(&s, &globex.write, "arrays", &["parse[json]"]).await;
    register(&s, &globex.write, "bare", &[]).await;

    let found = |q: &'static str| {
        let s = &s;
        let key = acme.read.clone();
        async move {
            let path = format!("/agents/discover?query={}", urlencode(q));
            let (status, page) = as_key(s, &key, Method::GET, &path, None).await;
            assert_eq!(status, StatusCode::OK, "{q}: {page}");
            let mut names: Vec<String> = page["agents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["name"].as_str().unwrap().to_owned())
                .collect();
            names.sort();
            names
        }
    };
    for syntax in ["\"", "\",\"", "[\"", "\"]", "email\",\"read", "\\"] {
        assert!(
            found(syntax).await.is_empty(),
            "{syntax} matched JSON syntax"
        );
    }
    // Brackets match only the capability that holds one, not every JSON array.
    assert_eq!(found("[").await, ["arrays"]);
    assert_eq!(found("]").await, ["arrays"]);
    assert_eq!(found("email").await, ["mailer"]);
    assert_eq!(found("SEARCH").await, ["indexer"], "case-insensitive");
    assert_eq!(found("inbox").await, ["mailer"]);
    assert_eq!(
        found("parse[").await,
        ["arrays"],
        "a bracket inside a capability still matches"
    );
    assert_eq!(found("json]").await, ["arrays"]);
    // Discovery spans tenants by design: acme's key finds globex's agent.
    let (_, page) = as_key(
        &s,
        &acme.read,
        Method::GET,
        "/agents/discover?query=arrays",
        None,
    )
    .await;
    assert_eq!(page["agents"][0]["id"], bracketed.as_str());
}

fn urlencode(q: &str) -> String {
    q.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// One decision call writes at most one `trust_check` and one `authorization_denied`,
/// whoever calls; unknown actions never reach the agent's trail or webhooks; both name the
/// caller's account.
pub async fn decision_calls_cannot_flood_another_tenants_trail(backend: Backend) {
    let s = start(backend).await;
    let acme = tenant(&s, "acme").await;
    let globex = tenant(&s, "globex").await;
    let agent = register(&s, &acme.write, "acme-bot", &[]).await;

    let unknown: Vec<String> = (0..100).map(|i| format!("made_up_{i}")).collect();
    let (status, batch) = as_key(
        &s,
        &globex.write,
        Method::POST,
        "/authorize/batch",
        Some(json!({"agent_id": agent, "actions": unknown})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{batch}");
    let results = batch["results"].as_object().unwrap();
    assert_eq!(results.len(), 100);
    assert!(
        results
            .values()
            .all(|r| r["allowed"] == false && r["reason"] == "unknown action")
    );

    let of_type = |events: &[Value], t: &str| -> Vec<Value> {
        events
            .iter()
            .filter(|e| e["event_type"] == t)
            .cloned()
            .collect()
    };
    let events = trail(&s, &acme.read, &agent).await;
    assert_eq!(
        of_type(&events, "authorization_denied").len(),
        0,
        "{events:?}"
    );
    let checks = of_type(&events, "trust_check");
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0]["details"]["caller_account"], globex.id.as_str());
    assert_eq!(
        checks[0]["details"]["decisions"].as_array().unwrap().len(),
        100
    );

    // Catalog actions above the agent's tier: one denial event for the whole call.
    let (status, _) = as_key(
        &s,
        &globex.write,
        Method::POST,
        "/authorize/batch",
        Some(json!({"agent_id": agent, "actions": ["delete_database", "made_up", "delete_file", "send_email"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let events = trail(&s, &acme.read, &agent).await;
    let denied = of_type(&events, "authorization_denied");
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert_eq!(denied[0]["details"]["action"], "delete_database");
    assert_eq!(
        denied[0]["details"]["actions"],
        json!(["delete_database", "delete_file", "send_email"])
    );
    assert_eq!(denied[0]["details"]["caller_account"], globex.id.as_str());
    assert_eq!(of_type(&events, "trust_check").len(), 2);
}

/// The agent's audit trail as its account reads it.
async fn trail(s: &Server, key: &str, agent: &str) -> Vec<Value> {
    let path = format!("/agents/{agent}/audit?limit=1000");
    let (status, page) = as_key(s, key, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["events"].as_array().unwrap().clone()
}

/// The operator's suspension binds the agent's account; the owner's own suspension does not.
pub async fn operator_suspensions_are_lifted_only_by_the_operator(backend: Backend) {
    let s = start(backend).await;
    let acme = tenant(&s, "acme").await;
    let agent = register(&s, &acme.write, "acme-bot", &[]).await;
    let suspend = format!("/agents/{agent}/suspend");
    let reactivate = format!("/agents/{agent}/reactivate");
    let show = format!("/agents/{agent}");

    let (status, body) = s.post(&suspend, json!({"reason": "abuse report"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, a) = s.get(&show).await;
    assert_eq!(
        (a["status"].as_str(), a["suspended_by"].as_str()),
        (Some("suspended"), Some("operator"))
    );

    // The owner can neither lift it nor turn it into its own suspension.
    for key in [&acme.write, &acme.admin] {
        let (status, body) = as_key(&s, key, Method::POST, &reactivate, Some(json!({}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body["detail"].as_str().unwrap().contains("operator"));
    }
    let (status, _) = as_key(&s, &acme.write, Method::POST, &suspend, Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, a) = s.get(&show).await;
    assert_eq!(a["suspended_by"], "operator");
    let (_, decision) = as_key(
        &s,
        &acme.write,
        Method::POST,
        "/authorize",
        Some(json!({"agent_id": agent, "action": "read_data"})),
    )
    .await;
    assert_eq!(decision["allowed"], false);

    // The operator lifts it; the owner's own suspension is the owner's to lift.
    let (status, _) = s.post(&reactivate, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, a) = s.get(&show).await;
    assert_eq!(a["status"], "active");
    assert!(a.get("suspended_by").is_none(), "{a}");
    let (status, _) = as_key(&s, &acme.write, Method::POST, &suspend, Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, a) = s.get(&show).await;
    assert_eq!(a["suspended_by"], "owner");
    let (status, _) = as_key(&s, &acme.write, Method::POST, &reactivate, Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK);

    // Where the operator allows it, the account's admin keys (not its write keys) lift the
    // operator's suspension; only the operator may allow it.
    let settings = format!("/admin/accounts/{}", acme.id);
    let allow = Some(json!({"lifts_operator_suspensions": true}));
    let (status, _) = as_key(&s, &acme.admin, Method::PATCH, &settings, allow.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, account) = as_key(&s, &s.key, Method::PATCH, &settings, allow).await;
    assert_eq!(status, StatusCode::OK, "{account}");
    assert_eq!(account["lifts_operator_suspensions"], true);
    s.post(&suspend, json!({})).await;
    let (status, _) = as_key(&s, &acme.write, Method::POST, &reactivate, Some(json!({}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a write key still cannot");
    let (status, _) = as_key(&s, &acme.admin, Method::POST, &reactivate, Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK);

    // Each change says who made it.
    let (_, page) = s
        .get(&format!("/agents/{agent}/audit?type=agent_suspended"))
        .await;
    let by: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["details"]["by"].as_str().unwrap())
        .collect();
    assert_eq!(by.len(), 3, "{page}");
    assert!(by.contains(&"operator") && by.contains(&"owner"));
}

/// An `admin` key administers its own account; only the operator's spans tenants.
pub async fn admin_keys_are_tenant_scoped(backend: Backend) {
    let s = start(backend).await;
    let acme = tenant(&s, "acme").await;
    let globex = tenant(&s, "globex").await;
    let acme_agent = register(&s, &acme.write, "acme-bot", &[]).await;
    let acme_key_id = &acme.read[4..12];

    // Another tenant's keys: as absent as an unknown account's.
    let theirs = format!("/admin/accounts/{}/keys", acme.id);
    assert_eq!(
        status_of(&s, &globex.admin, Method::GET, &theirs, None).await,
        404
    );
    let mint = Some(json!({"scope": "admin"}));
    assert_eq!(
        status_of(&s, &globex.admin, Method::POST, &theirs, mint.clone()).await,
        404
    );
    let revoke = format!("/admin/keys/{acme_key_id}");
    assert_eq!(
        status_of(&s, &globex.admin, Method::DELETE, &revoke, None).await,
        404
    );
    assert_eq!(
        status_of(&s, &acme.read, Method::GET, "/stats", None).await,
        200,
        "still valid"
    );

    // Gateway-wide administration is the operator's.
    for (method, path, body) in [
        (Method::GET, "/admin/accounts".to_owned(), None),
        (
            Method::POST,
            "/admin/accounts".to_owned(),
            Some(json!({"name": "x", "plan": "free"})),
        ),
        (
            Method::PUT,
            "/tiers/1".to_owned(),
            Some(json!({"name": "x"})),
        ),
        (
            Method::PUT,
            "/actions/x".to_owned(),
            Some(json!({"required_tier": 1, "min_score": 0.1})),
        ),
        (Method::GET, "/admin/signing-keys".to_owned(), None),
        (
            Method::POST,
            "/admin/signing-keys".to_owned(),
            Some(json!({})),
        ),
        (Method::GET, "/admin/audit".to_owned(), None),
        (Method::GET, "/admin/trust-bundles".to_owned(), None),
        (
            Method::PUT,
            format!("/agents/{acme_agent}/anchor"),
            Some(json!({})),
        ),
    ] {
        let (status, body) = as_key(&s, &globex.admin, method, &path, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    // An admin key lists only its own account's agents.
    let (status, page) = as_key(&s, &globex.admin, Method::GET, "/agents", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["agents"].as_array().unwrap().len(), 0, "{page}");
    let other = format!("/agents?account={}", acme.id);
    assert_eq!(
        status_of(&s, &globex.admin, Method::GET, &other, None).await,
        403
    );

    // Its own account it manages in full.
    let own = format!("/admin/accounts/{}/keys", globex.id);
    let (status, minted) = as_key(
        &s,
        &globex.admin,
        Method::POST,
        &own,
        Some(json!({"scope": "read"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{minted}");
    let (_, listed) = as_key(&s, &globex.admin, Method::GET, &own, None).await;
    assert_eq!(listed["keys"].as_array().unwrap().len(), 4);
    let minted_id = &minted["key"].as_str().unwrap()[4..12];
    let revoke = format!("/admin/keys/{minted_id}");
    assert_eq!(
        status_of(&s, &globex.admin, Method::DELETE, &revoke, None).await,
        204
    );

    // The operator reaches every tenant.
    assert_eq!(status_of(&s, &s.key, Method::GET, &theirs, None).await, 200);
    assert_eq!(status_of(&s, &s.key, Method::GET, &other, None).await, 200);
}

/// A small-order Ed25519 public key (here the identity point) is refused with a 422.
pub async fn weak_ed25519_keys_are_refused(backend: Backend) {
    let s = start(backend).await;
    let agent = s.register("keyed").await;
    // SPKI of the identity point (0x01 followed by 31 zero bytes).
    let identity = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n-----END PUBLIC KEY-----\n";
    let (status, body) = s
        .put(
            &format!("/agents/{agent}/public-key"),
            json!({"public_key": identity, "key_algorithm": "Ed25519"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("small-order"),
        "{body}"
    );
    let (_, a) = s.get(&format!("/agents/{agent}")).await;
    assert!(a["public_key"].is_null(), "nothing stored: {a}");
}
