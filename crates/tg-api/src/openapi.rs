//! The OpenAPI 3.1 document — the API's contract — at `GET /openapi.json`, and the
//! interactive docs at `GET /docs/` (Swagger UI, every asset compiled into the binary).
//!
//! The document is generated from the handlers' `#[utoipa::path]` annotations and the wire
//! types' `ToSchema` derives: the types that describe a response are the types serialised
//! into it.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use actix_web::http::header;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi};

use crate::routes::Routes;
pub(crate) use tg_wire::error::ErrorBody;

pub(crate) const DOCUMENT: &str = "/openapi.json";
pub(crate) const DOCS: &str = "/docs";
/// Swagger UI's files, served under [`DOCS`]`/`.
pub(crate) const DOCS_PREFIX: &str = "/docs/";

/// The errors every authenticated operation can answer with.
#[derive(Debug, IntoResponses)]
#[allow(dead_code)] // Describes answers built by `ApiError`; never constructed.
pub(crate) enum Errors {
    /// Malformed JSON or query string.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// No API key, or an unknown or revoked one.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// The key's scope or account does not allow this.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// No such resource (or not visible to this key).
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// The request conflicts with the current state.
    #[response(status = 409)]
    Conflict(ErrorBody),
    /// The body or a parameter is well-formed but invalid.
    #[response(status = 422)]
    Invalid(ErrorBody),
    /// The plan's rate limit is reached; `Retry-After` says when to retry.
    #[response(status = 429)]
    RateLimited(ErrorBody),
    /// The trust store is unavailable. Decisions fail closed.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// The errors a public operation can answer with.
#[derive(Debug, IntoResponses)]
#[allow(dead_code)] // Describes answers built by `ApiError`; never constructed.
pub(crate) enum PublicErrors {
    /// Malformed query string.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// No such resource.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// A parameter is well-formed but invalid.
    #[response(status = 422)]
    Invalid(ErrorBody),
    /// The store is unavailable.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// `{id}`: an agent id.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Describes the path; handlers take `web::Path<String>`.
pub(crate) struct AgentPath {
    /// The agent's id (`ag_…`).
    id: String,
}

struct ApiKeyAuth;

/// Every operation that takes a body can answer 413 (over 64 KiB) and 415 (not
/// `application/json`, or whatever media type it documents): added here once rather than
/// on each handler.
struct BodyErrors;

impl Modify for BodyErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder};
        let error = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                                "ErrorBody",
                            ))))
                            .build(),
                    )
                    .build(),
            )
        };
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
                &mut item.get,
            ]
            .into_iter()
            .flatten()
            {
                if op.request_body.is_none() {
                    continue;
                }
                let answers = &mut op.responses.responses;
                answers
                    .entry("413".into())
                    .or_insert_with(|| error("The body is larger than 64 KiB."));
                answers
                    .entry("415".into())
                    .or_insert_with(|| error("The body is not of the documented media type."));
            }
        }
    }
}

impl Modify for ApiKeyAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "An API key: the admin key from the server's configuration, or one created \
                 with `POST /admin/accounts/{id}/keys`.",
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Trust Gateway",
        description = "Who is this agent, how far do we trust it, and may it do this now: \
            identity (SPIFFE, Ed25519), explainable trust scores, tiered authorization, \
            short-lived tokens verified offline, and a tamper-evident record of everything."
    ),
    modifiers(&ApiKeyAuth, &BodyErrors),
    security(("api_key" = [])),
    tags(
        (name = "agents", description = "Registration, scores, history, cards, discovery"),
        (name = "receipts", description = "Signed, hash-chained behaviour receipts"),
        (name = "authorization", description = "Tiered decisions"),
        (name = "tokens", description = "Short-lived tokens and introspection"),
        (name = "identity", description = "Attestation, keys, challenges, configuration"),
        (name = "lifecycle", description = "Suspend, reactivate, revoke"),
        (name = "vouches", description = "Agents vouching for agents"),
        (name = "delegations", description = "Joy delegations and chains"),
        (name = "audit", description = "The audit trail and its export"),
        (name = "policy", description = "Tiers and the action catalog"),
        (name = "webhooks", description = "Standard Webhooks endpoints and deliveries"),
        (name = "signals", description = "Shared Signals (SSF 1.0): Security Event Token streams, pushed per RFC 8935"),
        (name = "admin", description = "Accounts, keys, trust bundles"),
        (name = "live", description = "The live dashboard feed"),
        (name = "system", description = "Health, readiness, keys, metrics, this document"),
        (name = "log", description = "The public transparency log of receipts: checkpoints, proofs, tiles"),
    ),
    paths(
        crate::system::health,
        crate::system::ready,
        crate::system::jwks,
        crate::system::stats,
        crate::system::trust_bundles,
        crate::system::reload_trust_bundles,
        crate::agents::register,
        crate::agents::list,
        crate::agents::discover,
        crate::agents::verify_trust,
        crate::agents::get_agent,
        crate::agents::trust,
        crate::agents::history,
        crate::agents::card,
        crate::agents::token,
        crate::agents::reattest,
        crate::a2a::card,
        crate::a2a::set_profile,
        crate::a2a::clear_profile,
        crate::receipts::record,
        crate::receipts::list,
        crate::receipts::verify,
        crate::receipts::export,
        crate::authorize::authorize,
        crate::authorize::batch,
        crate::policy::tiers,
        crate::policy::put_tier,
        crate::policy::actions,
        crate::policy::put_action,
        crate::lifecycle::suspend,
        crate::lifecycle::reactivate,
        crate::lifecycle::revoke,
        crate::lifecycle::introspect,
        crate::lifecycle::revoke_token,
        crate::oauth::token,
        crate::identity::attestation_nonce,
        crate::identity::public_key,
        crate::identity::challenge,
        crate::identity::verify,
        crate::identity::report_config,
        crate::identity::approve_config,
        crate::admin::create_account,
        crate::admin::list_accounts,
        crate::admin::update_account,
        crate::admin::create_key,
        crate::admin::list_keys,
        crate::admin::revoke_key,
        crate::signing_keys::list,
        crate::signing_keys::rotate,
        crate::signing_keys::retire,
        crate::log::checkpoint,
        crate::log::witnessed_checkpoint,
        crate::log::key,
        crate::log::inclusion,
        crate::log::consistency,
        crate::log::tile,
        crate::log::cosignature,
        crate::log::rotate_key,
        crate::log::integrate,
        crate::audit::audit,
        crate::audit::export,
        crate::audit::gateway_audit,
        crate::delegations::create,
        crate::delegations::get,
        crate::delegations::accept,
        crate::delegations::outcome,
        crate::delegations::chain,
        crate::delegations::history,
        crate::vouches::create,
        crate::vouches::list,
        crate::vouches::revoke,
        crate::vouches::set_anchor,
        crate::vouches::unset_anchor,
        crate::webhooks::create,
        crate::webhooks::list,
        crate::webhooks::get,
        crate::webhooks::update,
        crate::webhooks::delete,
        crate::webhooks::attempts,
        crate::webhooks::retry,
        crate::webhooks::recover,
        crate::ssf::configuration,
        crate::ssf::create,
        crate::ssf::read,
        crate::ssf::update,
        crate::ssf::delete,
        crate::ws::ticket,
        crate::ws::dashboard,
        crate::dashboard::index,
        crate::dashboard::script,
        crate::dashboard::style,
        crate::metrics::metrics,
        document,
        docs,
    )
)]
struct ApiDoc;

/// The document. Built afresh on each call and not kept: the server keeps only its JSON,
/// once served. Built, it takes about 8 MiB of heap that the allocator does not give back,
/// so per-request lookups read the committed contract instead ([`crate::operation_ids`]).
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

fn document_bytes() -> &'static [u8] {
    static JSON: OnceLock<Vec<u8>> = OnceLock::new();
    JSON.get_or_init(|| serde_json::to_vec(&openapi()).unwrap_or_default())
}

pub(crate) fn routes(r: &mut Routes) {
    r.public().get(DOCUMENT, document).public().get(DOCS, docs);
}

/// Swagger UI under `/docs/`, reading [`DOCUMENT`]; its assets are compiled in.
pub(crate) fn swagger_ui() -> utoipa_swagger_ui::SwaggerUi {
    utoipa_swagger_ui::SwaggerUi::new(format!("{DOCS_PREFIX}{{_:.*}}"))
        .config(utoipa_swagger_ui::Config::new([DOCUMENT]).try_it_out_enabled(true))
}

/// This document (OpenAPI 3.1).
#[utoipa::path(get, path = "/openapi.json", tag = "system", operation_id = "get_openapi",
    security(()),
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object)))]
async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(document_bytes())
}

/// The interactive docs (Swagger UI), at `/docs/`.
#[utoipa::path(get, path = "/docs", tag = "system", operation_id = "get_docs",
    security(()),
    responses((status = 308, description = "Redirect to `/docs/`")))]
async fn docs() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, DOCS_PREFIX))
        .finish()
}
