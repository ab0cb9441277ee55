//! The client covers the API: one method per operation of the served OpenAPI document.

use std::collections::BTreeSet;

use crate::support::Gateway;

/// Browser pages, not API calls.
const UI: [&str; 4] = [
    "dashboard_page",
    "dashboard_style",
    "dashboard_script",
    "get_docs",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_of_the_served_document_has_a_client_method() {
    let gw = Gateway::start().await;
    let doc = gw.client().get_openapi().await.unwrap();
    let served: BTreeSet<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|ops| ops.as_object().unwrap().values())
        .map(|op| op["operationId"].as_str().unwrap())
        .filter(|id| !UI.contains(id))
        .collect();
    let covered: BTreeSet<&str> = tg_sdk::OPERATIONS.iter().copied().collect();
    let missing: Vec<_> = served.difference(&covered).collect();
    let unknown: Vec<_> = covered.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "operations without a method: {missing:?}"
    );
    assert!(
        unknown.is_empty(),
        "methods for operations the server lacks: {unknown:?}"
    );
    assert!(served.len() > 60);
}
