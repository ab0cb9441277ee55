//! The operation id of each route (`register_agent`, …), which request logs, spans and
//! metrics name. Read from the committed contract, `docs/openapi.json`, compiled in: only
//! the ids are parsed out of it, the rest is skipped without being held. Building the
//! document from its annotations instead ([`crate::openapi::openapi`]) costs about 8 MiB
//! of heap on the first request, which stays with the process. The snapshot test keeps the
//! file equal to the document the server serves, and the test below keeps these ids equal
//! to the document's.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

const CONTRACT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../docs/openapi.json"
));

#[derive(Deserialize)]
struct Contract {
    paths: HashMap<String, PathItem>,
}

#[derive(Deserialize)]
struct PathItem {
    get: Option<Operation>,
    put: Option<Operation>,
    post: Option<Operation>,
    delete: Option<Operation>,
    options: Option<Operation>,
    head: Option<Operation>,
    patch: Option<Operation>,
    trace: Option<Operation>,
}

#[derive(Deserialize)]
struct Operation {
    #[serde(rename = "operationId")]
    operation_id: Option<String>,
}

/// Path → method (upper case) → operation id.
type Ids = HashMap<String, HashMap<&'static str, String>>;

fn ids(contract: &str) -> Ids {
    let Ok(contract) = serde_json::from_str::<Contract>(contract) else {
        return Ids::new();
    };
    let mut ids = Ids::new();
    for (path, item) in contract.paths {
        let operations = [
            ("GET", item.get),
            ("PUT", item.put),
            ("POST", item.post),
            ("DELETE", item.delete),
            ("OPTIONS", item.options),
            ("HEAD", item.head),
            ("PATCH", item.patch),
            ("TRACE", item.trace),
        ];
        let named = operations
            .into_iter()
            .filter_map(|(method, op)| Some((method, op?.operation_id?)))
            .collect();
        ids.insert(path, named);
    }
    ids
}

/// The operation id of `METHOD path` (the route pattern), e.g. `register_agent`. Looked
/// up on every request: no allocation.
pub(crate) fn operation_id(method: &str, path: &str) -> Option<&'static str> {
    static IDS: OnceLock<Ids> = OnceLock::new();
    let ids = IDS.get_or_init(|| ids(CONTRACT));
    ids.get(path)?.get(method).map(String::as_str)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_compiled_in_ids_are_the_documents() {
        let built = serde_json::to_string(&crate::openapi::openapi()).unwrap();
        let expected = ids(&built);
        assert!(expected.len() > 50, "the document names its paths");
        assert_eq!(ids(CONTRACT), expected, "regenerate docs/openapi.json");
        assert_eq!(
            operation_id("POST", "/agents/{id}/token"),
            Some("issue_token")
        );
        assert_eq!(operation_id("PATCH", "/agents/{id}/token"), None);
        assert_eq!(operation_id("GET", "/nowhere"), None);
    }
}
