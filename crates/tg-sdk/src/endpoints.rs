//! Every endpoint, written once: each line becomes an async method of [`crate::Client`] and
//! a blocking one of [`crate::blocking::Client`], named by its OpenAPI `operationId`.
//!
//! Not here: the browser UI (`/dashboard` and its assets, `/docs`), and `/ws/dashboard`,
//! which is [`crate::Client::live_feed`].

use serde_json::Value;
use tg_core::{AccountId, AgentId, ChainId, DelegationId, VouchId, WebhookId};
use tg_delegation::ChainView;
use tg_identity::A2aProfile;
use tg_joy::TrustResult;
use tg_receipts::ChainReport;
use tg_scoring::{ActionRule, TierEdit};
use tg_tokens::DpopKey;
use tg_wire::a2a::AgentCard;
use tg_wire::admin::{
    AccountOut, AccountUpdate, Accounts, KeyOut, Keys, NewAccount, NewKey, SigningKeys,
};
use tg_wire::agents::{
    AgentOut, AgentPage, AttestationRequest, Breakdown, Card, DiscoverQuery, History, HistoryQuery,
    RegisterRequest, TokenGrant, TokenQuery, TrustBreakdown, TrustQuery, VerifyRequest,
};
use tg_wire::audit::{
    AuditExportDocument, AuditPage, AuditQuery, ExportQuery, Format, GatewayAuditPage,
};
use tg_wire::authorize::{AuthorizeRequest, Authorized, BatchAuthorized, BatchRequest};
use tg_wire::delegations::{DelegationOut, DelegationPage, DelegationRequest, OutcomeRequest};
use tg_wire::identity::{
    AttestationNonce, Challenge, ChallengeAnswer, ConfigHashRequest, PublicKeyRequest,
};
use tg_wire::lifecycle::{
    Introspection, IntrospectionRequest, ReasonRequest, RevocationRequest, RevokedToken,
};
use tg_wire::live::Ticket;
use tg_wire::log::{
    ConsistencyProofOut, ConsistencyQuery, CosignatureRequest, CosignedOut, InclusionProofOut,
    InclusionQuery, LogKey, LogRoundOut,
};
use tg_wire::oauth::{TokenExchangeRequest, TokenExchangeResponse};
use tg_wire::policy::{Catalog, TierOut};
use tg_wire::receipts::{
    NEXT_BEFORE_SEQ_HEADER, ReceiptExportDocument, ReceiptPage, RecordRequest, Recorded,
};
use tg_wire::ssf::{StreamConfiguration, StreamRequest, StreamUpdate, TransmitterConfiguration};
use tg_wire::system::{Bundles, Health, Ready, Stats};
use tg_wire::vouches::{Anchor, VouchOut, VouchPage, VouchRequest};
use tg_wire::webhooks::{
    AttemptPage, Deleted, EndpointOut, Queued, RecoverRequest, Requeued, WebhookRequest,
    WebhookUpdate,
};
use tg_wire::{Page, agents, receipts, vouches};

/// `name [as operation_id](args) -> Answer => |client| request;` — see the module docs.
macro_rules! endpoints {
    (@op $name:ident) => { stringify!($name) };
    (@op $name:ident $op:ident) => { stringify!($op) };
    ($(
        $(#[doc = $doc:literal])*
        $name:ident $(as $op:ident)? ($($arg:ident: $ty:ty),*) -> $out:ty => |$c:ident| $call:expr;
    )*) => {
        /// The OpenAPI `operationId` of every endpoint the clients cover (the browser UI's
        /// pages aside): a method of that name each (and `export_audit_csv` beside
        /// `export_audit`), and `live_feed` for the WebSocket (with the `live` feature).
        pub const OPERATIONS: &[&str] = &[
            $(endpoints!(@op $name $($op)?),)*
            #[cfg(feature = "live")]
            "live_feed",
        ];

        impl crate::Client {$(
            $(#[doc = $doc])*
            pub async fn $name(&self, $($arg: $ty),*) -> Result<$out, crate::Error> {
                let $c = self;
                $call.await
            }
        )*}

        impl crate::blocking::Client {$(
            $(#[doc = $doc])*
            pub fn $name(&self, $($arg: $ty),*) -> Result<$out, crate::Error> {
                self.run(self.inner().$name($($arg),*))
            }
        )*}
    };
}

endpoints! {
    // System
    /// `GET /health`: liveness (no key needed).
    health() -> Health => |c| c.get(&["health"]).fetch();
    /// `GET /ready`: the store is reachable and migrated (a 503 is an error).
    ready() -> Ready => |c| c.get(&["ready"]).fetch();
    /// `GET /.well-known/jwks.json`: the token-signing public keys (see [`crate::TokenVerifier`]).
    get_jwks() -> Value => |c| c.get(&[".well-known", "jwks.json"]).fetch();
    /// `GET /stats`: gateway-wide counters.
    get_stats() -> Stats => |c| c.get(&["stats"]).fetch();
    /// `GET /metrics`: Prometheus/OpenMetrics text.
    metrics() -> String => |c| c.get(&["metrics"]).text();
    /// `GET /openapi.json`: the API's OpenAPI 3.1 document.
    get_openapi() -> Value => |c| c.get(&["openapi.json"]).fetch();
    /// `GET /admin/trust-bundles` (admin).
    list_trust_bundles() -> Bundles => |c| c.get(&["admin", "trust-bundles"]).fetch();
    /// `POST /admin/trust-bundles/reload` (admin).
    reload_trust_bundles() -> Bundles => |c| c.post(&["admin", "trust-bundles", "reload"]).fetch();

    // Agents
    /// `POST /agents/register`.
    register_agent(body: &RegisterRequest) -> AgentOut => |c| c.post(&["agents", "register"]).json(body).fetch();
    /// `GET /agents`: a page of the caller's agents (admins: every account's, or one).
    list_agents(query: &agents::ListQuery) -> AgentPage => |c| c.get(&["agents"]).query(query).fetch();
    /// `GET /agents/discover`: search by name and capability (Joy §6).
    discover_agents(query: &DiscoverQuery) -> AgentPage => |c| c.get(&["agents", "discover"]).query(query).fetch();
    /// `POST /trust/verify` as it is: refusals are errors. Relying parties want
    /// [`crate::Client::verify`], which fails closed.
    verify_trust(body: &VerifyRequest) -> TrustResult => |c| c.post(&["trust", "verify"]).json(body).fetch();
    /// `GET /agents/{id}`.
    get_agent(id: &AgentId) -> AgentOut => |c| c.get(&["agents", id.as_str()]).fetch();
    /// `GET /agents/{id}/trust`: the score explained factor by factor (with
    /// `min_state_version`, on the agent's state at that version or later).
    get_trust_breakdown(id: &AgentId, query: &TrustQuery) -> TrustBreakdown => |c| c.get(&["agents", id.as_str(), "trust"]).query(query).fetch();
    /// `GET /agents/{id}/history`.
    get_trust_history(id: &AgentId, query: &HistoryQuery) -> History => |c| c.get(&["agents", id.as_str(), "history"]).query(query).fetch();
    /// `GET /agents/{id}/card`: the V2 agent card.
    get_agent_card(id: &AgentId) -> Card => |c| c.get(&["agents", id.as_str(), "card"]).fetch();
    /// `POST /agents/{id}/token`: a short-lived token for tool servers.
    issue_token(id: &AgentId, query: &TokenQuery) -> TokenGrant => |c| c.post(&["agents", id.as_str(), "token"]).query(query).fetch();
    /// `POST /agents/{id}/token` with a DPoP proof by `key` (RFC 9449): a token bound to
    /// the key (`token_type: DPoP`), used only with proofs by it ([`DpopKey::proof`]).
    issue_bound_token as issue_token(id: &AgentId, query: &TokenQuery, key: &DpopKey) -> TokenGrant => |c| c.post(&["agents", id.as_str(), "token"]).query(query).dpop(key).fetch();
    /// `POST /agents/{id}/attestation`: presents a new attestation.
    reattest_agent(id: &AgentId, body: &AttestationRequest) -> AgentOut => |c| c.post(&["agents", id.as_str(), "attestation"]).json(body).fetch();

    // A2A
    /// `PUT /agents/{id}/a2a`: sets the agent's A2A profile.
    set_a2a_profile(id: &AgentId, body: &A2aProfile) -> AgentOut => |c| c.put(&["agents", id.as_str(), "a2a"]).json(body).fetch();
    /// `DELETE /agents/{id}/a2a`.
    clear_a2a_profile(id: &AgentId) -> AgentOut => |c| c.delete(&["agents", id.as_str(), "a2a"]).fetch();
    /// `GET /agents/{id}/agent-card.json`: the signed A2A agent card (public).
    get_a2a_agent_card(id: &AgentId) -> AgentCard => |c| c.get(&["agents", id.as_str(), "agent-card.json"]).fetch();

    // Receipts
    /// `POST /actions/record`: records what an agent did; answers the receipt and the score change.
    record_action(body: &RecordRequest) -> Recorded => |c| c.post(&["actions", "record"]).json(body).fetch();
    /// `GET /receipts/{agent_id}`: a page of receipts, newest first.
    list_receipts(id: &AgentId, query: &receipts::ListQuery) -> ReceiptPage => |c| async {
        let (receipts, next_before_seq) = c.get(&["receipts", id.as_str()]).query(query).page(NEXT_BEFORE_SEQ_HEADER).await?;
        Ok(ReceiptPage { receipts, next_before_seq })
    };
    /// `GET /receipts/{agent_id}/export`: the whole chain and the gateway's signed statement
    /// (check it offline with `trust-gateway verify-export`).
    export_receipts(id: &AgentId) -> ReceiptExportDocument => |c| c.get(&["receipts", id.as_str(), "export"]).fetch();
    /// `GET /receipts/{agent_id}/verify`: the gateway re-verifies the chain.
    verify_receipt_chain(id: &AgentId) -> ChainReport => |c| c.get(&["receipts", id.as_str(), "verify"]).fetch();

    // Authorization
    /// `POST /authorize`: may the agent do this action now?
    authorize_action(body: &AuthorizeRequest) -> Authorized => |c| c.post(&["authorize"]).json(body).fetch();
    /// `POST /authorize/batch`.
    authorize_batch(body: &BatchRequest) -> BatchAuthorized => |c| c.post(&["authorize", "batch"]).json(body).fetch();

    // Policy
    /// `GET /tiers`.
    list_tiers() -> Vec<TierOut> => |c| c.get(&["tiers"]).fetch();
    /// `PUT /tiers/{n}` (admin).
    edit_tier(n: u8, body: &TierEdit) -> TierOut => |c| c.put(&["tiers", &n.to_string()]).json(body).fetch();
    /// `GET /actions`: the action catalogue.
    list_actions() -> Catalog => |c| c.get(&["actions"]).fetch();
    /// `PUT /actions/{name}` (admin).
    put_action(name: &str, body: &ActionRule) -> Catalog => |c| c.put(&["actions", name]).json(body).fetch();

    // Lifecycle
    /// `POST /agents/{id}/suspend`.
    suspend_agent(id: &AgentId, body: &ReasonRequest) -> AgentOut => |c| c.post(&["agents", id.as_str(), "suspend"]).json(body).fetch();
    /// `POST /agents/{id}/reactivate`.
    reactivate_agent(id: &AgentId, body: &ReasonRequest) -> AgentOut => |c| c.post(&["agents", id.as_str(), "reactivate"]).json(body).fetch();
    /// `POST /agents/{id}/revoke`: final.
    revoke_agent(id: &AgentId, body: &ReasonRequest) -> AgentOut => |c| c.post(&["agents", id.as_str(), "revoke"]).json(body).fetch();
    /// `POST /tokens/introspect` (RFC 7662): is the token active right now (revocation included)?
    introspect_token(body: &IntrospectionRequest) -> Introspection => |c| c.post(&["tokens", "introspect"]).form(body).fetch();
    /// `POST /oauth/token` (RFC 8693 token exchange): a token for an agent acting for another
    /// along an accepted delegation, or a narrower one (`scope`, `audience`). One `audience`
    /// and one `resource` here; the endpoint takes several.
    exchange_token(body: &TokenExchangeRequest) -> TokenExchangeResponse => |c| c.post(&["oauth", "token"]).form(body).fetch();
    /// `POST /oauth/token` with a DPoP proof by `key`: the new token is bound to it.
    exchange_bound_token as exchange_token(body: &TokenExchangeRequest, key: &DpopKey) -> TokenExchangeResponse => |c| c.post(&["oauth", "token"]).form(body).dpop(key).fetch();
    /// `POST /tokens/revoke`: by the token, or by `jti` and `agent_id`.
    revoke_token(body: &RevocationRequest) -> RevokedToken => |c| c.post(&["tokens", "revoke"]).json(body).fetch();

    // Identity
    /// `PUT /agents/{id}/public-key`: registers the agent's Ed25519 key.
    set_public_key(id: &AgentId, body: &PublicKeyRequest) -> AgentOut => |c| c.put(&["agents", id.as_str(), "public-key"]).json(body).fetch();
    /// `POST /agents/{id}/challenge`: a nonce to sign with that key.
    issue_challenge(id: &AgentId) -> Challenge => |c| c.post(&["agents", id.as_str(), "challenge"]).fetch();
    /// `POST /agents/{id}/challenge/verify`: proves possession of the key.
    verify_challenge(id: &AgentId, body: &ChallengeAnswer) -> AgentOut => |c| c.post(&["agents", id.as_str(), "challenge", "verify"]).json(body).fetch();
    /// `POST /agents/{id}/config`: reports the running configuration's hash.
    report_config(id: &AgentId, body: &ConfigHashRequest) -> Breakdown => |c| c.post(&["agents", id.as_str(), "config"]).json(body).fetch();
    /// `POST /agents/{id}/config/approve`: approves a configuration hash.
    approve_config(id: &AgentId, body: &ConfigHashRequest) -> Breakdown => |c| c.post(&["agents", id.as_str(), "config", "approve"]).json(body).fetch();

    // Accounts and keys
    /// `GET /admin/accounts` (admin).
    list_accounts() -> Accounts => |c| c.get(&["admin", "accounts"]).fetch();
    /// `PATCH /admin/accounts/{id}` (the operator): plan, delegated reactivation.
    update_account(id: &AccountId, body: &AccountUpdate) -> AccountOut => |c| c.patch(&["admin", "accounts", id.as_str()]).json(body).fetch();
    /// `POST /admin/accounts` (admin).
    create_account(body: &NewAccount) -> AccountOut => |c| c.post(&["admin", "accounts"]).json(body).fetch();
    /// `GET /admin/accounts/{id}/keys` (admin).
    list_keys(account: &AccountId) -> Keys => |c| c.get(&["admin", "accounts", account.as_str(), "keys"]).fetch();
    /// `POST /admin/accounts/{id}/keys` (admin): the answer holds the key, shown once.
    create_key(account: &AccountId, body: &NewKey) -> KeyOut => |c| c.post(&["admin", "accounts", account.as_str(), "keys"]).json(body).fetch();
    /// `DELETE /admin/keys/{key_id}` (admin).
    revoke_key(key_id: &str) -> () => |c| c.delete(&["admin", "keys", key_id]).empty();
    /// `GET /admin/signing-keys` (admin): the token-signing keys and which one signs now.
    list_signing_keys() -> SigningKeys => |c| c.get(&["admin", "signing-keys"]).fetch();
    /// `POST /admin/signing-keys` (admin): rotates; the new key signs 120 s later.
    rotate_signing_key() -> SigningKeys => |c| c.post(&["admin", "signing-keys"]).fetch();
    /// `DELETE /admin/signing-keys/{kid}` (admin): tokens the key signed stop verifying.
    retire_signing_key(kid: &str) -> SigningKeys => |c| c.delete(&["admin", "signing-keys", kid]).fetch();

    // Transparency log (public reads need no key)
    /// `GET /log/checkpoint`: the newest signed checkpoint (C2SP signed note), cosignatures included.
    get_log_checkpoint() -> String => |c| c.get(&["log", "checkpoint"]).text();
    /// `GET /log/checkpoint/witnessed`: the newest checkpoint witnesses cosigned.
    get_witnessed_log_checkpoint() -> String => |c| c.get(&["log", "checkpoint", "witnessed"]).text();
    /// `GET /log/key`: the origin and the checkpoint verifier keys.
    get_log_key() -> LogKey => |c| c.get(&["log", "key"]).fetch();
    /// `GET /log/proof/inclusion`: a leaf's audit path in a tree the log signed.
    get_log_inclusion_proof(query: &InclusionQuery) -> InclusionProofOut => |c| c.get(&["log", "proof", "inclusion"]).query(query).fetch();
    /// `GET /log/proof/consistency`: that one tree extends another.
    get_log_consistency_proof(query: &ConsistencyQuery) -> ConsistencyProofOut => |c| c.get(&["log", "proof", "consistency"]).query(query).fetch();
    /// `GET /log/tile/{path}`: a C2SP tile or entry bundle (`path` as `tg_log::TilePath::render` after `tile/`).
    get_log_tile(path: &str) -> Vec<u8> => |c| {
        let mut segments = vec!["log", "tile"];
        segments.extend(path.split('/'));
        c.get(&segments).bytes()
    };
    /// `POST /log/cosignature`: a witness's cosigned checkpoint.
    post_log_cosignature(request: &CosignatureRequest) -> CosignedOut => |c| c.post(&["log", "cosignature"]).json(request).fetch();
    /// `POST /admin/log/keys` (operator): rotates the checkpoint key.
    rotate_log_key() -> LogKey => |c| c.post(&["admin", "log", "keys"]).fetch();
    /// `POST /admin/log/integrate` (operator): one round of the log now.
    integrate_log() -> LogRoundOut => |c| c.post(&["admin", "log", "integrate"]).fetch();

    // Audit
    /// `GET /agents/{id}/audit`: a page of the agent's audit trail.
    get_audit_trail(id: &AgentId, query: &AuditQuery) -> AuditPage => |c| c.get(&["agents", id.as_str(), "audit"]).query(query).fetch();
    /// `GET /agents/{id}/audit/export?format=json`: the period's events and the gateway's
    /// signed statement over them (`query.format` is ignored).
    export_audit(id: &AgentId, query: &ExportQuery) -> AuditExportDocument => |c| c.get(&["agents", id.as_str(), "audit", "export"]).query(&ExportQuery { format: Format::Json, ..query.clone() }).fetch();
    /// `GET /agents/{id}/audit/export?format=csv` (unsigned; `query.format` is ignored).
    export_audit_csv as export_audit(id: &AgentId, query: &ExportQuery) -> String => |c| c.get(&["agents", id.as_str(), "audit", "export"]).query(&ExportQuery { format: Format::Csv, ..query.clone() }).text();

    /// `GET /admin/audit` (admin): the gateway's own trail — API keys and accounts, policy
    /// edits, signing keys.
    get_gateway_audit_trail(query: &AuditQuery) -> GatewayAuditPage => |c| c.get(&["admin", "audit"]).query(query).fetch();

    // Delegations (Joy §4)
    /// `POST /attestation/nonce`: what an X509-SVID's key signs to prove possession.
    issue_attestation_nonce() -> AttestationNonce => |c| c.post(&["attestation", "nonce"]).fetch();

    /// `POST /delegations`: fails closed when the delegatee is below the threshold.
    create_delegation(body: &DelegationRequest) -> DelegationOut => |c| c.post(&["delegations"]).json(body).fetch();
    /// `GET /delegations/{id}`.
    get_delegation(id: &DelegationId) -> DelegationOut => |c| c.get(&["delegations", id.as_str()]).fetch();
    /// `POST /delegations/{id}/accept`: by the delegatee's account.
    accept_delegation(id: &DelegationId) -> DelegationOut => |c| c.post(&["delegations", id.as_str(), "accept"]).fetch();
    /// `PATCH /delegations/{id}/outcome`.
    record_delegation_outcome(id: &DelegationId, body: &OutcomeRequest) -> DelegationOut => |c| c.patch(&["delegations", id.as_str(), "outcome"]).json(body).fetch();
    /// `GET /chains/{id}`.
    get_delegation_chain(id: &ChainId) -> ChainView => |c| c.get(&["chains", id.as_str()]).fetch();
    /// `GET /agents/{id}/delegation-history`.
    get_delegation_history(id: &AgentId, query: &Page) -> DelegationPage => |c| c.get(&["agents", id.as_str(), "delegation-history"]).query(query).fetch();

    // Vouches
    /// `GET /agents/{id}/vouches`.
    list_vouches(id: &AgentId, query: &vouches::ListQuery) -> VouchPage => |c| c.get(&["agents", id.as_str(), "vouches"]).query(query).fetch();
    /// `POST /agents/{id}/vouches`: `from_agent` vouches for `id`.
    create_vouch(id: &AgentId, body: &VouchRequest) -> VouchOut => |c| c.post(&["agents", id.as_str(), "vouches"]).json(body).fetch();
    /// `DELETE /agents/{id}/vouches/{vouch_id}`.
    revoke_vouch(id: &AgentId, vouch: &VouchId) -> VouchOut => |c| c.delete(&["agents", id.as_str(), "vouches", vouch.as_str()]).fetch();
    /// `PUT /agents/{id}/anchor` (admin): makes the agent a trust anchor.
    set_anchor(id: &AgentId) -> Anchor => |c| c.put(&["agents", id.as_str(), "anchor"]).fetch();
    /// `DELETE /agents/{id}/anchor` (admin).
    unset_anchor(id: &AgentId) -> Anchor => |c| c.delete(&["agents", id.as_str(), "anchor"]).fetch();

    // Webhooks
    /// `GET /config/webhooks`.
    list_webhooks() -> Vec<EndpointOut> => |c| c.get(&["config", "webhooks"]).fetch();
    /// `POST /config/webhooks`: the answer holds the signing secret, shown once.
    create_webhook(body: &WebhookRequest) -> EndpointOut => |c| c.post(&["config", "webhooks"]).json(body).fetch();
    /// `GET /config/webhooks/{id}`.
    get_webhook(id: &WebhookId) -> EndpointOut => |c| c.get(&["config", "webhooks", id.as_str()]).fetch();
    /// `PATCH /config/webhooks/{id}`.
    update_webhook(id: &WebhookId, body: &WebhookUpdate) -> EndpointOut => |c| c.patch(&["config", "webhooks", id.as_str()]).json(body).fetch();
    /// `DELETE /config/webhooks/{id}`.
    delete_webhook(id: &WebhookId) -> Deleted => |c| c.delete(&["config", "webhooks", id.as_str()]).fetch();
    /// `GET /config/webhooks/{id}/attempts`.
    list_webhook_attempts(id: &WebhookId, query: &Page) -> AttemptPage => |c| c.get(&["config", "webhooks", id.as_str(), "attempts"]).query(query).fetch();
    /// `POST /config/webhooks/{id}/deliveries/{event_id}/retry`.
    retry_webhook_delivery(id: &WebhookId, event_id: &str) -> Queued => |c| c.post(&["config", "webhooks", id.as_str(), "deliveries", event_id, "retry"]).fetch();
    /// `POST /config/webhooks/{id}/recover`: requeues failed deliveries of a period.
    recover_webhook(id: &WebhookId, body: &RecoverRequest) -> Requeued => |c| c.post(&["config", "webhooks", id.as_str(), "recover"]).json(body).fetch();
    /// `GET /.well-known/ssf-configuration`: the Shared Signals transmitter metadata.
    get_ssf_configuration() -> TransmitterConfiguration => |c| c.get(&[".well-known", "ssf-configuration"]).fetch();
    /// `POST /ssf/streams`: a stream of Security Event Tokens pushed to the receiver.
    create_ssf_stream(body: &StreamRequest) -> StreamConfiguration => |c| c.post(&["ssf", "streams"]).json(body).fetch();
    /// `GET /ssf/streams`: every stream of the caller's account.
    read_ssf_streams() -> Vec<StreamConfiguration> => |c| c.get(&["ssf", "streams"]).fetch();
    /// `GET /ssf/streams?stream_id=`: one stream.
    get_ssf_stream as read_ssf_streams(stream_id: &str) -> StreamConfiguration => |c| c.get(&["ssf", "streams"]).query(&[("stream_id", stream_id)]).fetch();
    /// `PATCH /ssf/streams`.
    update_ssf_stream(body: &StreamUpdate) -> StreamConfiguration => |c| c.patch(&["ssf", "streams"]).json(body).fetch();
    /// `DELETE /ssf/streams?stream_id=`.
    delete_ssf_stream(stream_id: &str) -> () => |c| c.delete(&["ssf", "streams"]).query(&[("stream_id", stream_id)]).empty();

    // Live feed
    /// `POST /ws/ticket`: a single-use ticket for a browser's live-feed connection.
    issue_live_ticket() -> Ticket => |c| c.post(&["ws", "ticket"]).fetch();
}
