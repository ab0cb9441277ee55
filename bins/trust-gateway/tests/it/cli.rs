//! The operator's command line, as the real binary on the server's own SQLite file: API
//! keys, the agent list, chain verification in the database, and the offline check of a
//! receipt export (no server, no secret).

use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::accounts::as_key;
use crate::support::{Backend, SECRET, Server, start, tamper};

/// `trust-gateway ARGS` on the database of `s`, with the server's secret.
fn cli(s: &Server, args: &[&str]) -> Output {
    let tg_store::DbConfig::Sqlite(path) = &s.db else {
        unreachable!("the command-line tests run on SQLite")
    };
    Command::new(env!("CARGO_BIN_EXE_trust-gateway"))
        .args(args)
        .env_clear()
        .env("DATABASE_URL", format!("sqlite://{path}"))
        .env("SECRET_KEY", SECRET)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn ok(o: Output, what: &str) -> String {
    crate::support::assert_ran(&o, what);
    stdout(&o)
}

/// Runs `verify-export` (needs nothing but the two files).
fn verify_export(file: &std::path::Path, jwks: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trust-gateway"))
        .arg("verify-export")
        .arg(file)
        .arg("--jwks")
        .arg(jwks)
        .env_clear()
        .output()
        .unwrap()
}

async fn download(s: &Server, path: &str) -> String {
    let r = s.fetch(path).await;
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_manage_keys_list_agents_and_verify_chains_from_the_command_line() {
    let s = start(Backend::Sqlite).await;
    let id = s.register("cli-agent").await;
    for result in ["success", "failure", "success"] {
        s.record(&id, "read_data", result).await;
    }

    // keys create: the key works against the running server, with its scope.
    let key = ok(
        cli(&s, &["keys", "create", "--scope", "read"]),
        "keys create",
    )
    .trim()
    .to_owned();
    assert!(key.starts_with("tgk_"), "{key}");
    let (status, _) = as_key(
        &s,
        &key,
        reqwest::Method::GET,
        &format!("/agents/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = as_key(
        &s,
        &key,
        reqwest::Method::POST,
        "/agents/register",
        Some(json!({"name": "x", "provider": "p", "config_hash": "h"})),
    )
    .await;
    assert_eq!(status, 403, "a read key cannot register");

    // keys list shows its prefix, never the secret; revoke ends it at once.
    let key_id = &key[4..12];
    let listed = ok(cli(&s, &["keys", "list"]), "keys list");
    let line = listed
        .lines()
        .find(|l| l.starts_with(key_id))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(line.contains(&key[..12]) && line.contains("read") && line.trim_end().ends_with('-'));
    assert!(!listed.contains(&key), "no secret in the list");
    ok(cli(&s, &["keys", "revoke", key_id]), "keys revoke");
    // The command line wrote from another process: the server sees it at its next poll
    // of the database (within DECISION_STALENESS_MS), forced here rather than awaited.
    assert!(s.gateway.sync_decision_state().await.unwrap());
    let (status, _) = as_key(
        &s,
        &key,
        reqwest::Method::GET,
        &format!("/agents/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 401, "revoked");
    let listed = ok(cli(&s, &["keys", "list"]), "keys list");
    assert!(
        !listed
            .lines()
            .find(|l| l.starts_with(key_id))
            .unwrap()
            .trim_end()
            .ends_with('-')
    );

    // signing-keys: rotate on the database; the running server publishes the key on its
    // next reload (the API's own rotation reloads at once, see signing_keys.rs).
    let before = ok(cli(&s, &["signing-keys", "list"]), "signing-keys list");
    assert_eq!(before.lines().count(), 2, "header and one key: {before}");
    let current = before
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    assert!(before.lines().nth(1).unwrap().ends_with("yes"), "{before}");
    let rotated = ok(cli(&s, &["signing-keys", "rotate"]), "signing-keys rotate");
    assert_eq!(rotated.lines().count(), 3, "{rotated}");
    let new = rotated
        .lines()
        .nth(2)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    assert!(
        rotated.lines().nth(2).unwrap().ends_with('-'),
        "not signing yet: {rotated}"
    );
    assert_eq!(
        cli(&s, &["signing-keys", "retire"]).status.code(),
        Some(2),
        "usage"
    );
    let refused = cli(&s, &["signing-keys", "retire", &current]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("signs tokens now"));
    let retired = ok(
        cli(&s, &["signing-keys", "retire", &new]),
        "signing-keys retire",
    );
    assert!(!retired.contains(&new), "{retired}");
    // Retired (or never held): not found, by the kid the operator typed.
    let gone = cli(&s, &["signing-keys", "retire", &new]);
    assert_eq!(gone.status.code(), Some(1));
    let said = String::from_utf8_lossy(&gone.stderr);
    assert!(
        said.contains(&format!("signing key `{new}` not found")),
        "{said}"
    );

    // agents list: table and JSON lines.
    let table = ok(cli(&s, &["agents", "list"]), "agents list");
    let row = table
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(
        row.contains("active") && row.ends_with("cli-agent"),
        "{row}"
    );
    let json_lines = ok(cli(&s, &["agents", "list", "--json"]), "agents list --json");
    let agents: Vec<Value> = json_lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(agents.len(), 1);
    assert_eq!(
        (agents[0]["id"].as_str(), agents[0]["name"].as_str()),
        (Some(id.as_str()), Some("cli-agent"))
    );

    // A signed export checks offline; every edit of it is caught.
    let dir = tempfile::tempdir().unwrap();
    let (file, jwks) = (dir.path().join("export.json"), dir.path().join("jwks.json"));
    std::fs::write(&file, download(&s, &format!("/receipts/{id}/export")).await).unwrap();
    std::fs::write(&jwks, download(&s, "/.well-known/jwks.json").await).unwrap();
    let out = ok(verify_export(&file, &jwks), "verify-export");
    assert!(
        out.starts_with(&format!("valid: 3 receipts of {id}")),
        "{out}"
    );
    let original: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let check = |edit: &dyn Fn(&mut Value), expect: &str| {
        let mut doc = original.clone();
        edit(&mut doc);
        let edited = dir.path().join("edited.json");
        std::fs::write(&edited, doc.to_string()).unwrap();
        let out = verify_export(&edited, &jwks);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(expect),
            "{expect}: {err}"
        );
    };
    check(
        &|d| d["receipts"][1]["action"] = json!("delete_database"),
        "BROKEN at seq 2",
    );
    check(
        &|d| drop(d["receipts"].as_array_mut().unwrap().pop()),
        "BROKEN at seq 3",
    );
    check(
        &|d| d["statement"]["length"] = json!(2),
        "the signature does not verify",
    );
    check(
        &|d| d["signature"]["signature"] = d["signature"]["protected"].clone(),
        "does not verify",
    );
    check(
        &|d| d["statement"] = Value::Null,
        "the gateway did not vouch",
    );
    let mut other_keys: Value =
        serde_json::from_str(&std::fs::read_to_string(&jwks).unwrap()).unwrap();
    other_keys["keys"][0]["kid"] = json!("someone-else");
    let other = dir.path().join("other-jwks.json");
    std::fs::write(&other, other_keys.to_string()).unwrap();
    let out = verify_export(&file, &other);
    assert!(!out.status.success(), "a key the JWKS does not hold");
    let out = Command::new(env!("CARGO_BIN_EXE_trust-gateway"))
        .arg("verify-export")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "--jwks is required");

    // The JSON audit export is signed too: its events (count and digest) and summary.
    let audit = dir.path().join("audit.json");
    std::fs::write(
        &audit,
        download(&s, &format!("/agents/{id}/audit/export")).await,
    )
    .unwrap();
    let out = ok(verify_export(&audit, &jwks), "verify-export (audit)");
    assert!(out.starts_with("valid: "), "{out}");
    assert!(out.contains(&format!("audit events of {id}")), "{out}");
    let signed: Value = serde_json::from_str(&std::fs::read_to_string(&audit).unwrap()).unwrap();
    let n = signed["events"].as_array().unwrap().len();
    assert!(n >= 4, "registration, three receipts: {n}");
    assert_eq!(signed["statement"]["events"], n);
    for (edit, expect) in [
        (
            json!({"path": "events", "op": "edit"}),
            "the events are not the signed ones",
        ),
        (
            json!({"path": "events", "op": "drop"}),
            "the events are not the signed ones",
        ),
        (
            json!({"path": "summary", "op": "edit"}),
            "the summary is not the signed one",
        ),
        (
            json!({"path": "period_start", "op": "edit"}),
            "another export",
        ),
    ] {
        let mut doc = signed.clone();
        match (edit["path"].as_str().unwrap(), edit["op"].as_str().unwrap()) {
            ("events", "edit") => doc["events"][0]["details"] = json!({"forged": true}),
            ("events", _) => drop(doc["events"].as_array_mut().unwrap().pop()),
            ("summary", _) => doc["summary"]["total_events"] = json!(999),
            _ => doc["period_start"] = json!("2000-01-01T00:00:00Z"),
        }
        let edited = dir.path().join("audit-edited.json");
        std::fs::write(&edited, doc.to_string()).unwrap();
        let out = verify_export(&edited, &jwks);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(expect),
            "{edit}: {err}"
        );
    }
    let csv = dir.path().join("audit.csv");
    std::fs::write(
        &csv,
        download(&s, &format!("/agents/{id}/audit/export?format=csv")).await,
    )
    .unwrap();
    let out = verify_export(&csv, &jwks);
    assert!(!out.status.success(), "CSV exports are not signed");

    // verify-chain in the database: intact, then after an edit behind the gateway's back.
    let out = ok(cli(&s, &["verify-chain", &id]), "verify-chain");
    assert_eq!(out.trim(), "valid: 3 receipts, intact");
    tamper(
        &s.db,
        &format!(
            "UPDATE receipts SET action = 'delete_database' WHERE agent_id = '{id}' AND seq = 2"
        ),
    )
    .await;
    let out = cli(&s, &["verify-chain", &id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("BROKEN at seq 2"),
        "{}",
        stdout(&out)
    );
    // …and the gateway no longer vouches for an export of it.
    let broken: Value =
        serde_json::from_str(&download(&s, &format!("/receipts/{id}/export")).await).unwrap();
    assert_eq!(broken["statement"], Value::Null);
    assert_eq!(broken["error"]["first_broken_seq"], 2);
    assert_eq!(
        broken["receipts"].as_array().unwrap().len(),
        2,
        "up to the broken one"
    );

    // Mistakes get a usage line and exit 2.
    for args in [
        &["keys", "create", "--scope", "root"][..],
        &["agents", "lost"],
        &["verify-chain"],
    ] {
        assert_eq!(cli(&s, args).status.code(), Some(2), "{args:?}");
    }
}
