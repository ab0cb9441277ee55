//! Ids, parsed at the edge: use cases take typed ids (`AgentId`, `AccountId`, …), and a
//! malformed id is answered 404 like an unknown one (its shape tells a caller nothing an
//! unknown id would not).

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use tg_core::{AccountKind, AgentKind, ChainKind, DelegationKind, Id, IdKind, WebhookKind};
use tg_service::ServiceError;

use crate::error::ApiError;

/// An id kind routes address, and the noun its 404 names.
pub(crate) trait Addressed: IdKind {
    const NOUN: &'static str;
}

impl Addressed for AgentKind {
    const NOUN: &'static str = "agent";
}

impl Addressed for AccountKind {
    const NOUN: &'static str = "account";
}

impl Addressed for DelegationKind {
    const NOUN: &'static str = "delegation";
}

impl Addressed for ChainKind {
    const NOUN: &'static str = "chain";
}

/// Webhook endpoints and Shared Signals streams, one table.
impl Addressed for WebhookKind {
    const NOUN: &'static str = "webhook";
}

/// The route's `{id}` (`{agent_id}` under `/receipts`), of kind `K`.
#[derive(Debug)]
pub(crate) struct PathId<K: Addressed>(pub Id<K>);

/// The route's `{id}`, an agent's.
pub(crate) type AgentPath = PathId<AgentKind>;

impl<K: Addressed> FromRequest for PathId<K> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let params = req.match_info();
        ready(match params.get("id").or_else(|| params.get("agent_id")) {
            Some(raw) => parse(raw).map(Self),
            // A route mounted without the parameter its handler reads: a bug, not a 404.
            None => Err(ServiceError::internal("the route names no id").into()),
        })
    }
}

/// An id from a path or a body: 404 when it is malformed.
pub(crate) fn parse<K: Addressed>(raw: &str) -> Result<Id<K>, ApiError> {
    Id::parse(raw).map_err(|_| ServiceError::not_found(K::NOUN, raw).into())
}

/// An agent id from a body: 404 when it is malformed.
pub(crate) fn agent(raw: &str) -> Result<tg_core::AgentId, ApiError> {
    parse(raw)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;
    use tg_core::AgentId;

    use super::*;

    fn extract(req: TestRequest) -> Result<AgentId, ApiError> {
        let req = req.to_http_request();
        PathId::<AgentKind>::from_request(&req, &mut Payload::None)
            .into_inner()
            .map(|PathId(id)| id)
    }

    #[test]
    fn path_ids_parse_at_the_edge_and_malformed_ones_are_unknown() {
        let id = AgentId::generate();
        let found = extract(TestRequest::default().param("id", id.as_str().to_owned()));
        assert_eq!(found.unwrap(), id);
        let found = extract(TestRequest::default().param("agent_id", id.as_str().to_owned()));
        assert_eq!(found.unwrap(), id);

        let e = extract(TestRequest::default().param("id", "ag_not-hex")).unwrap_err();
        assert_eq!(e.status().as_u16(), 404);
        assert_eq!(e.to_string(), "404 not_found: agent `ag_not-hex` not found");
        let e =
            extract(TestRequest::default().param("id", "wh_00000000000000000000000a")).unwrap_err();
        assert_eq!(
            e.status().as_u16(),
            404,
            "another kind's id is not an agent's"
        );

        let e = extract(TestRequest::default()).unwrap_err();
        assert_eq!(
            e.status().as_u16(),
            500,
            "a route without the parameter is a bug"
        );
    }
}
