//! State versions over HTTP (issue 14): every answer about an agent carries the state
//! version it was made on, every write that changes the agent returns a higher one, and a
//! caller may demand an answer on at least a version it saw (read-your-writes).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, start};

fn version(v: &Value) -> u64 {
    v["state_version"]
        .as_u64()
        .unwrap_or_else(|| panic!("no state_version in {v}"))
}

pub async fn answers_carry_state_versions_and_demand_them(backend: Backend) {
    let s = start(backend).await;
    let id = s.register("versioned").await;
    let (status, agent) = s.get(&format!("/agents/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let registered = version(&agent);

    let recorded = version(&s.record(&id, "read_config", "success").await);
    assert!(recorded > registered, "a receipt raises the version");

    let ask = |min: Option<u64>| {
        let mut body = json!({"agent_id": id, "action": "read_config"});
        if let Some(min) = min {
            body["min_state_version"] = json!(min);
        }
        body
    };
    let (status, decided) = s.post("/authorize", ask(Some(recorded))).await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!(version(&decided), recorded);
    let batch = json!({"agent_id": id, "actions": ["read_config"], "min_state_version": recorded});
    let (status, decided) = s.post("/authorize/batch", batch).await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!(version(&decided), recorded);
    let (status, trust) = s
        .get(&format!("/agents/{id}/trust?min_state_version={recorded}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{trust}");
    assert_eq!(version(&trust), recorded);

    // A version nobody wrote: a clear conflict, never an answer on an older state.
    let ahead = recorded + 1;
    let (status, err) = s.post("/authorize", ask(Some(ahead))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert_eq!(err["code"], "conflict");
    assert!(
        err["detail"].as_str().unwrap().contains("state version"),
        "{err}"
    );
    let batch = json!({"agent_id": id, "actions": ["read_config"], "min_state_version": ahead});
    assert_eq!(
        s.post("/authorize/batch", batch).await.0,
        StatusCode::CONFLICT
    );
    let path = format!("/agents/{id}/trust?min_state_version={ahead}");
    assert_eq!(s.get(&path).await.0, StatusCode::CONFLICT);

    // A suspension raises it; deciding at its version sees the suspension.
    let (status, suspended) = s
        .post(&format!("/agents/{id}/suspend"), json!({"reason": "test"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{suspended}");
    let after = version(&suspended);
    assert!(after > recorded);
    let (_, decided) = s.post("/authorize", ask(Some(after))).await;
    assert_eq!(decided["allowed"], false);
    assert_eq!(version(&decided), after);

    // Bad versions are bad input.
    for bad in ["-1", "x", "18446744073709551616"] {
        let (status, err) = s
            .get(&format!("/agents/{id}/trust?min_state_version={bad}"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {err}");
    }
    let (status, err) = s
        .post(
            "/authorize",
            json!({"agent_id": id, "action": "read_config", "min_state_version": -1}),
        )
        .await;
    assert!(
        status.is_client_error() && err["code"].is_string(),
        "{status} {err}"
    );
}
