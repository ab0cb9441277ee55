use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, Server, fresh_db, start_on};

pub(crate) async fn as_key(
    s: &Server,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    s.call_as(key, method, path, body).await
}

pub(crate) async fn new_key(s: &Server, account: &str, scope: &str) -> String {
    let (status, k) = s
        .post(
            &format!("/admin/accounts/{account}/keys"),
            json!({"scope": scope}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{k}");
    k["key"].as_str().unwrap().to_owned()
}

/// Accounts, scoped keys, broken object-level authorization, revocation, plan rate limits.
pub async fn accounts_keys_scopes_and_rate_limits(backend: Backend) {
    use reqwest::Method;
    let (db, dir) = fresh_db(backend).await;
    let s = start_on(&db, dir, &[("RATE_LIMIT_FREE", "40/h")]).await;

    let (status, acme) = s
        .post("/admin/accounts", json!({"name": "acme", "plan": "free"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{acme}");
    let (_, globex) = s
        .post("/admin/accounts", json!({"name": "globex", "plan": "pro"}))
        .await;
    let (status, body) = s
        .post("/admin/accounts", json!({"name": "acme", "plan": "pro"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["detail"], "an account named `acme` exists");
    let (status, _) = s
        .post("/admin/accounts", json!({"name": "x", "plan": "platinum"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = s
        .post(
            "/admin/accounts/acct_000000000000000000000000/keys",
            json!({"scope": "read"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (acme_id, globex_id) = (acme["id"].as_str().unwrap(), globex["id"].as_str().unwrap());
    let acme_write = new_key(&s, acme_id, "write").await;
    let globex_write = new_key(&s, globex_id, "write").await;
    let globex_read = new_key(&s, globex_id, "read").await;
    assert!(acme_write.starts_with("tgk_"));

    // Keys are listed by prefix only.
    let (_, keys) = s.get(&format!("/admin/accounts/{globex_id}/keys")).await;
    let keys = keys["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert!(
        keys.iter()
            .all(|k| k.get("key").is_none() && k["prefix"].as_str().unwrap().len() == 12)
    );
    assert!(
        !serde_json::to_string(keys)
            .unwrap()
            .contains(&globex_write[13..]),
        "no secret material listed"
    );

    // acme's agent.
    let register = json!({"name": "acme-bot", "provider": "p", "config_hash": "h"});
    let (status, agent) = as_key(
        &s,
        &acme_write,
        Method::POST,
        "/agents/register",
        Some(register.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{agent}");
    let id = agent["id"].as_str().unwrap();
    // Scopes: a read key cannot write, a non-admin key cannot administer.
    let (status, _) = as_key(
        &s,
        &globex_read,
        Method::POST,
        "/agents/register",
        Some(register),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = as_key(&s, &acme_write, Method::GET, "/admin/accounts", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = as_key(
        &s,
        &acme_write,
        Method::PUT,
        "/tiers/1",
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Reads are open to any key (reputation is portable)...
    let (status, _) = as_key(
        &s,
        &globex_read,
        Method::GET,
        &format!("/agents/{id}/trust"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // ...but another account cannot act as acme's agent: it does not even learn it exists.
    let record = json!({"agent_id": id, "action": "read_data", "result": "success"});
    let (status, _) = as_key(
        &s,
        &globex_write,
        Method::POST,
        "/actions/record",
        Some(record.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for (path, body) in [
        (format!("/agents/{id}/token"), json!({})),
        (format!("/agents/{id}/suspend"), json!({})),
        (format!("/agents/{id}/config"), json!({"config_hash": "x"})),
    ] {
        let (status, _) = as_key(&s, &globex_write, Method::POST, &path, Some(body)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _) = as_key(
        &s,
        &acme_write,
        Method::POST,
        "/actions/record",
        Some(record),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // Revocation: the key stops working at once.
    let acme_prefix = &acme_write[4..12];
    let resp = s
        .client
        .delete(format!("{}/admin/keys/{acme_prefix}", s.base))
        .header("X-API-Key", &s.key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (status, _) = as_key(&s, &acme_write, Method::GET, "/stats", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let resp = s
        .client
        .delete(format!("{}/admin/keys/ffffffff", s.base))
        .header("X-API-Key", &s.key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    // Plan rate limits: a fresh free key has a bucket of 40 (refilled over an hour: nothing
    // refills during the test); the 41st request is refused with Retry-After.
    let limited = new_key(&s, acme_id, "read").await;
    for i in 0..40 {
        let (status, _) = as_key(&s, &limited, Method::GET, "/stats", None).await;
        assert_eq!(status, StatusCode::OK, "request {i}");
    }
    let resp = s
        .client
        .get(format!("{}/stats", s.base))
        .header("X-API-Key", &limited)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=90).contains(&retry), "{retry}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    // The admin key is never limited; the pro account has its own bucket.
    for _ in 0..50 {
        assert_eq!(s.get("/stats").await.0, StatusCode::OK);
    }
    let (status, _) = as_key(&s, &globex_read, Method::GET, "/stats", None).await;
    assert_eq!(status, StatusCode::OK);
}

/// `GET /agents`: each account sees its own agents, oldest first and paged; an admin key
/// sees every account's or one account's.
pub async fn agents_are_listed_per_account(backend: Backend) {
    use reqwest::Method;
    let s = crate::support::start(backend).await;
    let (_, acme) = s
        .post("/admin/accounts", json!({"name": "acme", "plan": "pro"}))
        .await;
    let acme_id = acme["id"].as_str().unwrap().to_owned();
    let acme_key = new_key(&s, &acme_id, "write").await;
    let mine = s.register("admin-agent").await;
    let mut theirs = Vec::new();
    for name in ["acme-1", "acme-2", "acme-3"] {
        let (status, a) = as_key(
            &s,
            &acme_key,
            Method::POST,
            "/agents/register",
            Some(json!({"name": name, "provider": "p", "config_hash": "h"})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{a}");
        theirs.push(a["id"].as_str().unwrap().to_owned());
    }
    let ids = |page: &Value| -> Vec<String> {
        page["agents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect()
    };

    // Acme's key: its three, oldest first, in pages of two.
    let (status, page) = as_key(&s, &acme_key, Method::GET, "/agents?limit=2", None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(ids(&page), theirs[..2]);
    assert_eq!(page["next_offset"], 2);
    let (_, page) = as_key(&s, &acme_key, Method::GET, "/agents?offset=2&limit=2", None).await;
    assert_eq!(ids(&page), theirs[2..]);
    assert_eq!(page["next_offset"], Value::Null);
    // …and not another account's, even when it asks.
    let admin_account = s.get("/admin/accounts").await.1["accounts"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = as_key(
        &s,
        &acme_key,
        Method::GET,
        &format!("/agents?account={admin_account}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The admin key: everyone's, or one account's.
    let (_, all) = s.get("/agents").await;
    let mut expected = vec![mine.clone()];
    expected.extend(theirs.iter().cloned());
    assert_eq!(ids(&all), expected);
    let (_, only) = s.get(&format!("/agents?account={acme_id}")).await;
    assert_eq!(ids(&only), theirs);
    let (status, bad) = s.get("/agents?limit=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let (status, _) = s.get("/agents?account=nope").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Refused keys are limited per source address: past the budget every request from it gets
/// 429 with `Retry-After`, a good key included; requests without a key do not count.
pub async fn refused_keys_are_limited_per_address(backend: Backend) {
    let (db, dir) = fresh_db(backend).await;
    let s = start_on(&db, dir, &[("AUTH_FAILURE_LIMIT", "5/h")]).await;
    for _ in 0..10 {
        let resp = s
            .client
            .get(format!("{}/stats", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::UNAUTHORIZED,
            "no key: not counted"
        );
    }
    for i in 0..5 {
        let (status, _) = as_key(
            &s,
            "tgk_00000000_guess",
            reqwest::Method::GET,
            "/stats",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "guess {i}");
    }
    let resp = s
        .client
        .get(format!("{}/stats", s.base))
        .header("X-API-Key", "tgk_00000000_guess")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    let (status, _) = as_key(&s, &s.key, reqwest::Method::GET, "/stats", None).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the address is blocked, keys unchecked"
    );
}
