//! The transparency log over HTTP: public reads, refusals, an independent verifier written
//! from RFC 9162 and the C2SP specifications (`verify_log.py`, sharing no code with the log)
//! over a 300-leaf tree grown in uneven batches, and `trust-gateway verify-log` offline.

use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::{Backend, Server, assert_ran, python_with, start_on_fresh};

const VERIFIER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/verify_log.py");
/// Leaves the tree grows to; the verifier checks inclusion at every size up to it.
const LEAVES: usize = 300;

async fn public(s: &Server, path: &str) -> reqwest::Response {
    s.client
        .get(format!("{}{path}", s.base))
        .send()
        .await
        .unwrap()
}

async fn integrate(s: &Server) -> Value {
    let (status, round) = s.post("/admin/log/integrate", Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{round}");
    round
}

pub async fn the_log_verifies_independently_over_http(backend: Backend) {
    // The worker's period is long: the test integrates when it chooses. 16 leaves per
    // transaction: most rounds below take several, each renewing the lease and signing
    // its own checkpoint.
    let s = start_on_fresh(
        backend,
        &[
            ("LOG_INTEGRATE_MS", "60000"),
            ("LOG_INTEGRATE_LEAVES", "16"),
            ("LOG_ORIGIN", "gateway.test/log"),
        ],
    )
    .await;
    let agents = [
        s.register("a").await,
        s.register("b").await,
        s.register("c").await,
    ];
    // Uneven batches (a fixed pseudo-random sequence), so checkpoints fall at odd sizes.
    let mut recorded = 0;
    let mut step = 7usize;
    while recorded < LEAVES {
        step = (step * 31 + 11) % 61 + 1;
        let n = step.min(LEAVES - recorded);
        for i in 0..n {
            s.record(&agents[(recorded + i) % 3], "read_data", "success")
                .await;
        }
        recorded += n;
        let round = integrate(&s).await;
        assert_eq!(round["size"], recorded as u64, "{round}");
        assert_eq!(round["inconsistencies"], serde_json::json!([]));
    }

    // Public: no key needed; the checkpoint is a signed note in text/plain.
    let r = public(&s, "/log/checkpoint").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let checkpoint = r.text().await.unwrap();
    assert!(
        checkpoint.starts_with(&format!("gateway.test/log\n{LEAVES}\n")),
        "{checkpoint}"
    );
    let key: Value = public(&s, "/log/key").await.json().await.unwrap();
    let vkey = key["vkey"].as_str().unwrap().to_owned();
    assert!(vkey.starts_with("gateway.test/log+"), "{vkey}");
    let tile = public(&s, "/log/tile/0/000").await;
    assert_eq!(tile.status(), StatusCode::OK);
    assert_eq!(
        tile.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(tile.bytes().await.unwrap().len(), 256 * 32);

    // Refusals: JSON 4xx, never a 5xx.
    for (path, status) in [
        ("/log/tile/0/001", StatusCode::NOT_FOUND), // a full tile the tree does not have yet
        ("/log/tile/0/001.p/44", StatusCode::OK),   // its partial tile: 300 - 256
        ("/log/tile/0/001.p/45", StatusCode::NOT_FOUND), // wider than the tree
        ("/log/tile/0/000.p/5", StatusCode::NOT_FOUND), // the full tile exists
        ("/log/tile/0/0001", StatusCode::NOT_FOUND), // not canonical
        ("/log/tile/x/000", StatusCode::NOT_FOUND),
        ("/log/tile/entries/001.p/44", StatusCode::OK),
        (
            "/log/proof/inclusion?hash=AAAA&tree_size=1",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/log/proof/inclusion?hash=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=&tree_size=300",
            StatusCode::NOT_FOUND,
        ),
        (
            "/log/proof/inclusion?hash=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=&tree_size=301",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("/log/proof/inclusion?tree_size=1", StatusCode::BAD_REQUEST),
        (
            "/log/proof/consistency?first=5&second=4",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/log/proof/consistency?first=1&second=-1",
            StatusCode::BAD_REQUEST,
        ),
        ("/log/checkpoint/witnessed", StatusCode::NOT_FOUND),
    ] {
        let r = public(&s, path).await;
        assert_eq!(r.status(), status, "{path}");
        if !status.is_success() {
            let body: Value = r.json().await.unwrap_or_else(|e| panic!("{path}: {e}"));
            assert!(
                body["error"].is_object()
                    || body["detail"].is_string()
                    || body["error"].is_string(),
                "{path}: {body}"
            );
        }
    }
    let bad_note = s
        .client
        .post(format!("{}/log/cosignature", s.base))
        .json(&serde_json::json!({"note": "not a note"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_note.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Integration and key rotation are the operator's.
    let (tenant, tenant_key) = s.tenant("t").await;
    let _ = tenant;
    let (status, _) = s
        .call_as(&tenant_key, Method::POST, "/admin/log/integrate", None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = s.call_as("", Method::POST, "/admin/log/keys", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Every receipt carries its index, and proves its inclusion offline.
    let (_, receipts) = s.get(&format!("/receipts/{}?limit=5", agents[0])).await;
    let receipt = &receipts[0];
    let index = receipt["log_index"].as_u64().expect("integrated");
    let hash = hex::decode(receipt["receipt_hash"].as_str().unwrap()).unwrap();
    let leaf = tg_log::leaf_hash(&hash);
    let proof = public(
        &s,
        &format!(
            "/log/proof/inclusion?hash={}&tree_size={LEAVES}",
            urlencode(&B64.encode(leaf))
        ),
    )
    .await;
    assert_eq!(proof.status(), StatusCode::OK);
    let proof: Value = proof.json().await.unwrap();
    assert_eq!(proof["leaf_index"], index);

    let dir = tempfile::tempdir().unwrap();
    let (cp_file, proof_file) = (dir.path().join("checkpoint"), dir.path().join("proof.json"));
    std::fs::write(&cp_file, &checkpoint).unwrap();
    std::fs::write(&proof_file, proof.to_string()).unwrap();
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_trust-gateway"))
            .arg("verify-log")
            .args(args)
            .output()
            .unwrap()
    };
    let receipt_hex = receipt["receipt_hash"].as_str().unwrap();
    let out = cli(&[
        cp_file.to_str().unwrap(),
        "--vkey",
        &vkey,
        "--receipt",
        receipt_hex,
        "--proof",
        proof_file.to_str().unwrap(),
    ]);
    assert_ran(&out, "verify-log refuses a good checkpoint and proof");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!(
            "checkpoint verified: gateway.test/log size {LEAVES}"
        )),
        "{said}"
    );
    assert!(
        said.contains(&format!("is leaf {index} of the tree of {LEAVES}")),
        "{said}"
    );
    // Another receipt's hash with this proof, or a forged size, is refused.
    let other = receipts[1]["receipt_hash"].as_str().unwrap();
    let out = cli(&[
        cp_file.to_str().unwrap(),
        "--vkey",
        &vkey,
        "--receipt",
        other,
        "--proof",
        proof_file.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    std::fs::write(
        &cp_file,
        checkpoint.replace(&format!("\n{LEAVES}\n"), "\n301\n"),
    )
    .unwrap();
    let out = cli(&[cp_file.to_str().unwrap(), "--vkey", &vkey]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not signed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // An export carries each receipt's proof in a signed checkpoint; one recorded after
    // the checkpoint has none yet, and says so.
    s.record(&agents[0], "read_data", "success").await;
    let export = s
        .fetch(&format!("/receipts/{}/export", agents[0]))
        .await
        .text()
        .await
        .unwrap();
    let doc: Value = serde_json::from_str(&export).unwrap();
    assert_eq!(doc["log"]["proofs"].as_array().unwrap().len(), LEAVES / 3);
    assert_eq!(doc["receipts"].as_array().unwrap().len(), LEAVES / 3 + 1);
    let (export_file, jwks_file) = (dir.path().join("export.json"), dir.path().join("jwks.json"));
    std::fs::write(&export_file, &export).unwrap();
    let jwks = public(&s, "/.well-known/jwks.json")
        .await
        .text()
        .await
        .unwrap();
    std::fs::write(&jwks_file, jwks).unwrap();
    let verify_export = |file: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_trust-gateway"))
            .args([
                "verify-export",
                file.to_str().unwrap(),
                "--jwks",
                jwks_file.to_str().unwrap(),
                "--log-key",
                &vkey,
            ])
            .output()
            .unwrap()
    };
    let out = verify_export(&export_file);
    assert_ran(&out, "verify-export refuses the export's log proofs");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!(
            "log: {} of {} receipts proven in the tree of {LEAVES}",
            LEAVES / 3,
            LEAVES / 3 + 1
        )),
        "{said}"
    );
    let mut forged = doc.clone();
    forged["log"]["proofs"][7]["hashes"][0] = Value::from(B64.encode([7u8; 32]));
    std::fs::write(&export_file, forged.to_string()).unwrap();
    let out = verify_export(&export_file);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not leaf"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut dropped = doc.clone();
    dropped["log"]["proofs"].as_array_mut().unwrap().remove(3);
    std::fs::write(&export_file, dropped.to_string()).unwrap();
    let out = verify_export(&export_file);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("has no proof"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The independent verifier.
    match python_with("TEST_LOG_PYTHON", "cryptography, httpx") {
        None => eprintln!(
            "no Python with cryptography and httpx (set TEST_LOG_PYTHON): the independent log check not run"
        ),
        Some(python) => {
            let out = Command::new(python)
                .arg(VERIFIER)
                .arg(&s.base)
                .arg("20261201")
                .output()
                .unwrap();
            assert_ran(&out, "the independent verifier refuses the log");
            let said = String::from_utf8_lossy(&out.stdout);
            assert!(
                said.contains(&format!("log verified: {LEAVES} leaves")),
                "{said}"
            );
            assert!(said.contains("2080 consistency proofs"), "{said}");
        }
    }
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}
