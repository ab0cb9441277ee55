//! Token exchange (RFC 8693): "agent B acting for agent A" as a token, allowed only along
//! an accepted delegation, granting no more than every agent of the chain may do.

use std::sync::Arc;

use serde_json::json;
use tg_access::{Principal, Scope};
use tg_audit::Actor;
use tg_core::{AgentId, DelegationId, Timestamp};
use tg_delegation::Delegator;
use tg_identity::{Attestation, SpiffeId};
use tg_tokens::{ActingAgent, DpopProof, Exchange, IssuedToken, TokenClaims, TokenRequest};

use crate::token_chain::{Held, revoked, token_parties, weakest_tier};
use crate::tokens::MAX_EXPIRES_IN;
use crate::trust_view::load_view;
use crate::{Gateway, ServiceError, Tx, reading};

/// RFC 8693 §3 token type identifiers.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";

/// Most `audience` and `resource` values one exchange may name.
pub const MAX_AUDIENCES: usize = 8;

/// A token exchange request's parameters (RFC 8693 §2.1), `grant_type` already checked.
#[derive(Debug, Clone, Default)]
pub struct TokenExchange {
    pub subject_token: String,
    pub subject_token_type: String,
    pub actor_token: Option<String>,
    pub actor_token_type: Option<String>,
    pub requested_token_type: Option<String>,
    /// Space-separated actions the new token is narrowed to.
    pub scope: Option<String>,
    pub audience: Vec<String>,
    /// RFC 8707 resource indicators: absolute URIs without a fragment.
    pub resource: Vec<String>,
    /// A DPoP proof already checked ([`Gateway::check_dpop`]): the new token is bound to its
    /// key (RFC 9449 §5).
    pub dpop: Option<DpopProof>,
}

/// The RFC 6749 §5.2 / RFC 8693 §2.2.2 error codes an exchange is refused with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthError {
    InvalidRequest,
    InvalidGrant,
    InvalidScope,
    InvalidTarget,
    UnauthorizedClient,
}

impl OAuthError {
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthError::InvalidRequest => "invalid_request",
            OAuthError::InvalidGrant => "invalid_grant",
            OAuthError::InvalidScope => "invalid_scope",
            OAuthError::InvalidTarget => "invalid_target",
            OAuthError::UnauthorizedClient => "unauthorized_client",
        }
    }
}

/// Why an exchange did not issue a token: a refusal the client can act on, or the service
/// failing (store unavailable, internal error).
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("{1}")]
    Refused(OAuthError, String),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

fn refuse<T>(code: OAuthError, why: impl Into<String>) -> Result<T, ExchangeError> {
    Err(ExchangeError::Refused(code, why.into()))
}

/// An exchanged token (RFC 8693 §2.2.1).
#[derive(Debug, Clone)]
pub struct Exchanged {
    pub issued: IssuedToken,
    pub issued_token_type: &'static str,
    pub expires_in: i64,
    pub permitted_actions: Vec<String>,
    pub tier: u8,
    /// `cnf.jkt` when bound to a DPoP key (`token_type: DPoP`).
    pub jkt: Option<String>,
    /// The actors, current first.
    pub act: Vec<ActingAgent>,
}

/// The subject token, verified: a gateway token, or a JWT-SVID whose SPIFFE ID an agent
/// holds.
enum Subject {
    Token(Box<TokenClaims>),
    Svid { id: SpiffeId, expires_at: Timestamp },
}

/// The parameters that need no store: token types, audiences, scope, the checked proof.
struct Checked {
    issued_token_type: &'static str,
    audience: Vec<String>,
    scope: Option<Vec<String>>,
    dpop: Option<DpopProof>,
}

fn check_parameters(req: &TokenExchange) -> Result<Checked, ExchangeError> {
    let known = |t: &str| t == ACCESS_TOKEN_TYPE || t == JWT_TOKEN_TYPE;
    if !known(&req.subject_token_type) {
        return refuse(
            OAuthError::InvalidRequest,
            "`subject_token_type` must be the access_token or jwt token type (RFC 8693 §3)",
        );
    }
    match (&req.actor_token, &req.actor_token_type) {
        (Some(_), Some(t)) if known(t) => {}
        (Some(_), Some(_)) => {
            return refuse(
                OAuthError::InvalidRequest,
                "`actor_token_type` must be the access_token or jwt token type (RFC 8693 §3)",
            );
        }
        (Some(_), None) => {
            return refuse(
                OAuthError::InvalidRequest,
                "`actor_token_type` is required with `actor_token`",
            );
        }
        (None, Some(_)) => {
            return refuse(
                OAuthError::InvalidRequest,
                "`actor_token_type` was given without `actor_token`",
            );
        }
        (None, None) => {}
    }
    let issued_token_type = match req.requested_token_type.as_deref() {
        None | Some(ACCESS_TOKEN_TYPE) => ACCESS_TOKEN_TYPE,
        Some(JWT_TOKEN_TYPE) => JWT_TOKEN_TYPE,
        Some(_) => {
            return refuse(
                OAuthError::InvalidRequest,
                "`requested_token_type` must be the access_token or jwt token type: the gateway issues JWT access tokens only",
            );
        }
    };
    let mut audience: Vec<String> = Vec::new();
    for a in &req.audience {
        if a.is_empty() || a.len() > 512 || a.chars().any(char::is_control) {
            return refuse(
                OAuthError::InvalidTarget,
                "each `audience` must be 1–512 characters, none of them control characters",
            );
        }
        if !audience.contains(a) {
            audience.push(a.clone());
        }
    }
    for r in &req.resource {
        let ok = r.len() <= 512
            && url::Url::parse(r).is_ok_and(|u| u.fragment().is_none() && !u.cannot_be_a_base());
        if !ok {
            return refuse(
                OAuthError::InvalidTarget,
                "each `resource` must be an absolute URI of at most 512 characters without a fragment (RFC 8707 §2)",
            );
        }
        if !audience.contains(r) {
            audience.push(r.clone());
        }
    }
    if audience.len() > MAX_AUDIENCES {
        return refuse(
            OAuthError::InvalidTarget,
            format!("at most {MAX_AUDIENCES} audiences and resources"),
        );
    }
    let scope = match req.scope.as_deref() {
        None => None,
        Some(s) => {
            let actions: Vec<String> = s
                .split(' ')
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect();
            // RFC 6749 §3.3: scope tokens are printable ASCII but space, `"` and `\`.
            let printable = |a: &String| {
                a.bytes()
                    .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
            };
            if actions.is_empty() || actions.len() > 64 || !actions.iter().all(printable) {
                return refuse(
                    OAuthError::InvalidScope,
                    "`scope` must be 1–64 space-separated actions of printable ASCII",
                );
            }
            Some(actions)
        }
    };
    Ok(Checked {
        issued_token_type,
        audience,
        scope,
        dpop: req.dpop.clone(),
    })
}

impl Gateway {
    /// `POST /oauth/token` with the token-exchange grant. The new token's subject is the
    /// subject token's; with an actor token, the actor is added in front of the `act` chain,
    /// which requires an open delegation (accepted, no outcome yet) from the current
    /// holder to the actor — under the previous hop's delegation when the subject token was
    /// exchanged already — and the actor's trust at the delegation's threshold now. The
    /// caller's account must own the agent that will hold the new token (the actor, else
    /// the subject token's current actor, else its subject). The grant is the intersection
    /// of the subject token's actions and every party's current actions, narrowed by
    /// `scope`; the tier is the lowest party's; it expires with the tokens it came from.
    /// Audited as `token_issued` with `grant: token_exchange`.
    pub async fn exchange_token(
        &self,
        principal: &Principal,
        actor: &Actor,
        req: TokenExchange,
    ) -> Result<Exchanged, ExchangeError> {
        if let Err(e) = self.require(principal, Scope::Write) {
            return refuse(OAuthError::UnauthorizedClient, e.to_string());
        }
        let checked = check_parameters(&req)?;
        let now = self.now();
        let subject = self.subject(&req, now)?;
        let acting = match &req.actor_token {
            None => None,
            Some(t) => {
                let claims = match self.tokens().verify(t, now) {
                    Ok(c) => c,
                    Err(e) => {
                        return refuse(OAuthError::InvalidGrant, format!("`actor_token`: {e}"));
                    }
                };
                if !claims.act.is_empty() {
                    return refuse(
                        OAuthError::InvalidGrant,
                        "`actor_token` must be the acting agent's own token, not an exchanged one",
                    );
                }
                Some(claims)
            }
        };
        let held = self.held_parties(&subject, acting.as_ref()).await;
        let (cache, caller) = (Arc::clone(&self.policy), principal.clone());
        // Read-only: the parties the decision memory holds come from it (as fresh as
        // decisions), everything else is read in one snapshot; the one write, the audit
        // record, joins the next group commit.
        let plan = reading(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let input = Input {
                    subject,
                    acting,
                    checked,
                    held,
                };
                plan_exchange(tx, &cache, &caller, input, now).await
            })
        })
        .await?;
        let plan = match plan {
            Ok(plan) => plan,
            Err((code, why)) => return Err(ExchangeError::Refused(code, why)),
        };
        let x = plan.request.exchange.as_ref();
        let more = json!({
            "grant": "token_exchange",
            "act": x.map(|x| x.act.iter().map(|a| a.sub.clone()).collect::<Vec<_>>()),
            "delegation_id": x.and_then(|x| x.act.first()).map(|a| a.delegation_id.clone()),
            "audience": x.map(|x| x.audience.clone()),
            "caller_account": principal.account_id,
        });
        let issued = self.issue_recorded(&plan.request, actor, now, more).await?;
        Ok(Exchanged {
            issued,
            issued_token_type: plan.issued_token_type,
            expires_in: plan.request.expires_in,
            permitted_actions: plan.request.permitted_actions.clone(),
            tier: plan.request.tier,
            jkt: plan.request.jkt.clone(),
            act: plan.request.exchange.map(|x| x.act).unwrap_or_default(),
        })
    }

    /// What the decision memory holds of the exchange's parties: the subject token's
    /// subject and actors, and the acting agent with its account's plan and vouch count
    /// (read through and then held when memory lacks them, as trust reads do).
    async fn held_parties(&self, subject: &Subject, acting: Option<&TokenClaims>) -> HeldParties {
        let mut views = Held::new();
        let mut hold = |sub: &str| {
            if let Some(view) = AgentId::parse(sub)
                .ok()
                .and_then(|id| self.view_from_memory(&id, None))
            {
                views.insert(view.agent.id.clone(), view);
            }
        };
        if let Subject::Token(claims) = subject {
            hold(&claims.sub);
            claims.act.iter().for_each(|a| hold(&a.sub));
        }
        let mut standing = None;
        if let Some(id) = acting.and_then(|c| AgentId::parse(&c.sub).ok()) {
            // An unknown agent is the transaction's to refuse.
            if let Ok((view, plan, vouches)) = self.trust_inputs(&id, None).await {
                views.insert(view.agent.id.clone(), view);
                standing = Some((plan, vouches));
            }
        }
        HeldParties { views, standing }
    }

    /// The subject token verified: a JWT-SVID when its (unverified) `sub` is a SPIFFE ID,
    /// else a gateway token for the gateway's audience.
    fn subject(&self, req: &TokenExchange, now: Timestamp) -> Result<Subject, ExchangeError> {
        let token = &req.subject_token;
        if let Some(id) = tg_identity::unverified_spiffe_subject(token) {
            if req.subject_token_type != JWT_TOKEN_TYPE {
                return refuse(
                    OAuthError::InvalidRequest,
                    "a JWT-SVID `subject_token` has the jwt token type",
                );
            }
            let svid = Attestation::Jwt {
                token: token.clone(),
            };
            return match self.attestation.verify(Some(&id), &svid, now) {
                Ok(v) => Ok(Subject::Svid {
                    id,
                    expires_at: v.expires_at.unwrap_or(now),
                }),
                Err(e) => refuse(OAuthError::InvalidGrant, format!("`subject_token`: {e}")),
            };
        }
        match self.tokens().verify(token, now) {
            Ok(claims) => Ok(Subject::Token(Box::new(claims))),
            Err(e) => refuse(OAuthError::InvalidGrant, format!("`subject_token`: {e}")),
        }
    }
}

/// What the decision memory held of the parties.
struct HeldParties {
    views: Held,
    /// The acting agent's account plan and vouch count.
    standing: Option<(tg_access::Plan, u64)>,
}

/// What the exchange plans from.
struct Input {
    subject: Subject,
    acting: Option<TokenClaims>,
    checked: Checked,
    held: HeldParties,
}

/// What the transaction decided to issue.
struct Plan {
    request: TokenRequest,
    issued_token_type: &'static str,
}

type Refusal = (OAuthError, String);

fn grant_refused<T>(why: impl Into<String>) -> Result<Result<T, Refusal>, ServiceError> {
    Ok(Err((OAuthError::InvalidGrant, why.into())))
}

/// Checks everything the store knows and builds the token request; a refusal is an
/// `Ok(Err(_))`.
async fn plan_exchange(
    tx: &mut dyn Tx,
    cache: &crate::policy_cache::PolicyCache,
    principal: &Principal,
    input: Input,
    now: Timestamp,
) -> Result<Result<Plan, Refusal>, ServiceError> {
    let Input {
        subject,
        acting,
        checked,
        held,
    } = input;
    // Both tokens and everything they were exchanged from, in one read.
    let (names, tokens): (Vec<&str>, Vec<&TokenClaims>) = match &subject {
        Subject::Token(claims) => Some(("subject_token", claims.as_ref())),
        Subject::Svid { .. } => None,
    }
    .into_iter()
    .chain(acting.as_ref().map(|c| ("actor_token", c)))
    .unzip();
    let unrevoked = match revoked(tx, &tokens).await? {
        Ok(proof) => proof,
        Err((i, reason)) => {
            let name = names.get(i).copied().unwrap_or("subject_token");
            return grant_refused(format!("`{name}` no longer holds: {reason}"));
        }
    };
    // The subject side: the parties it names, its grant and lifetime so far.
    let (mut views, mut actions, mut expires_at, chain, root, mut sources) = match subject {
        Subject::Token(claims) => {
            let claims = *claims;
            let views =
                match token_parties(tx, cache, &claims, now, &held.views, &unrevoked).await? {
                    Ok(views) => views,
                    Err(reason) => {
                        return grant_refused(format!("`subject_token` no longer holds: {reason}"));
                    }
                };
            let mut sources = claims.sources;
            sources.push(claims.jti);
            (
                views,
                Some(claims.permitted_actions),
                Timestamp::from_secs(claims.exp),
                claims.act,
                claims.root_authority,
                sources,
            )
        }
        Subject::Svid { id, expires_at } => {
            let holder = tx
                .agents_naming_spiffe_id(&id)
                .await?
                .into_iter()
                .find(|a| a.holds_spiffe_id());
            let Some(holder) = holder else {
                return grant_refused(format!(
                    "no agent holds the SPIFFE ID `{id}` of the `subject_token`"
                ));
            };
            let view = load_view(tx, cache, &holder.id, now, false).await?;
            if view.agent.status != tg_identity::AgentStatus::Active {
                return grant_refused(format!(
                    "the subject agent is {}",
                    view.agent.status.as_str()
                ));
            }
            (vec![view], None, expires_at, Vec::new(), None, Vec::new())
        }
    };
    let Some(subject_id) = views.first().map(|v| v.agent.id.clone()) else {
        return grant_refused("the subject token names no agent");
    };
    // Who holds the token now: the current actor, else the subject.
    let holder = chain
        .first()
        .map_or(Ok(subject_id.clone()), |a| AgentId::parse(&a.sub));
    let Ok(holder) = holder else {
        return grant_refused("the subject token's actor is not an agent");
    };
    let mut act = chain.clone();
    let mut root_authority = root;
    // The agent that will hold the new token.
    let holder = match acting {
        None => match views.iter().find(|v| v.agent.id == holder) {
            Some(v) => v.agent.clone(),
            None => return grant_refused("the subject token's current actor was not loaded"),
        },
        Some(claims) => {
            let Ok(actor_id) = AgentId::parse(&claims.sub) else {
                return grant_refused("the actor token's subject is not an agent");
            };
            if views.iter().any(|v| v.agent.id == actor_id) {
                return grant_refused(format!("agent `{actor_id}` is in the chain already"));
            }
            let actor_view =
                match token_parties(tx, cache, &claims, now, &held.views, &unrevoked).await? {
                    Ok(v) => v.into_iter().next(),
                    Err(reason) => {
                        return grant_refused(format!("`actor_token` no longer holds: {reason}"));
                    }
                };
            let Some(actor_view) = actor_view else {
                return grant_refused("the actor token names no agent");
            };
            let parent = match chain.first().map(|a| DelegationId::parse(&a.delegation_id)) {
                None => None,
                Some(Ok(id)) => Some(id),
                Some(Err(_)) => {
                    return grant_refused("the subject token's delegation is malformed");
                }
            };
            let Some(d) = tx
                .open_delegation(
                    &Delegator::Agent(holder.clone()),
                    &actor_id,
                    parent.as_ref(),
                )
                .await?
            else {
                return grant_refused(format!(
                    "no open delegation from `{holder}` to `{actor_id}`{}: delegate the task, and have it accepted, first",
                    parent
                        .map(|p| format!(" under delegation `{p}`"))
                        .unwrap_or_default()
                ));
            };
            let (plan, vouches) = match held.standing {
                Some(standing) => standing,
                None => (
                    tx.get_account(&actor_view.agent.account_id)
                        .await?
                        .map_or(tg_access::Plan::Free, |a| a.plan),
                    tx.count_vouches_received(&actor_id).await?,
                ),
            };
            let trust = crate::trust_result(&actor_view, plan, vouches, d.threshold);
            if !trust.meets_threshold {
                return grant_refused(format!(
                    "`{actor_id}`'s trust ({}) is below the delegation's threshold ({})",
                    trust.trust_score, d.threshold
                ));
            }
            act.insert(
                0,
                ActingAgent {
                    sub: actor_id.to_string(),
                    delegation_id: d.id.to_string(),
                    epoch: actor_view.agent.token_epoch,
                },
            );
            root_authority = Some(d.root_authority.to_string());
            expires_at = expires_at.min(Timestamp::from_secs(claims.exp));
            sources.push(claims.jti);
            let holder = actor_view.agent.clone();
            views.push(actor_view);
            holder
        }
    };
    if !principal.can_write(&holder.account_id) {
        return grant_refused(
            "the caller's account does not own the agent that would hold the token",
        );
    }
    // The grant: what every party may do now, within what the subject token granted.
    for v in &views {
        actions = Some(match actions {
            None => v.permitted_actions(),
            Some(a) => {
                let permitted = v.permitted_actions();
                a.into_iter().filter(|x| permitted.contains(x)).collect()
            }
        });
    }
    let mut actions = actions.unwrap_or_default();
    if let Some(scope) = checked.scope {
        if let Some(extra) = scope.iter().find(|s| !actions.contains(s)) {
            return Ok(Err((
                OAuthError::InvalidScope,
                format!("`{extra}` is not an action the whole chain is permitted"),
            )));
        }
        actions.retain(|a| scope.contains(a));
    }
    let expires_in = (expires_at.as_secs() - now.as_secs()).min(MAX_EXPIRES_IN);
    if expires_in < 1 {
        return grant_refused("the tokens exchanged expire now");
    }
    let Some(subject) = views.first() else {
        return grant_refused("the subject token names no agent");
    };
    let request = TokenRequest {
        agent_id: subject_id,
        name: subject.agent.name.clone(),
        tier: weakest_tier(&views),
        trust_score: views
            .iter()
            .map(|v| v.breakdown.composite)
            .fold(f64::INFINITY, f64::min),
        permitted_actions: actions,
        expires_in,
        epoch: subject.agent.token_epoch,
        state_version: subject.state.version,
        exchange: Some(Exchange {
            audience: checked.audience,
            act,
            root_authority,
            sources,
        }),
        jkt: checked.dpop.map(|p| p.jkt),
    };
    Ok(Ok(Plan {
        request,
        issued_token_type: checked.issued_token_type,
    }))
}
