//! Whether a token still speaks for everyone it names: its subject and, for an exchanged
//! token (RFC 8693), every agent of its `act` chain. Introspection and token exchange ask
//! the same question, in the same words.

use tg_core::{AgentId, DelegationId, Timestamp};
use tg_delegation::Delegator;
use tg_identity::AgentStatus;
use tg_tokens::TokenClaims;

use crate::policy_cache::PolicyCache;
use crate::trust_view::load_view;
use crate::{ServiceError, TrustView, Tx};

/// Views of agents the caller already holds (the decision memory, as fresh as decisions
/// are), by id; the parties not among them are read in the transaction.
pub(crate) type Held = std::collections::HashMap<AgentId, TrustView>;

/// Proof that [`revoked`] found none of the tokens revoked: [`token_parties`] asks for it,
/// so no caller can skip the revocation check.
pub(crate) struct NotRevoked(());

/// Whether a token no longer holds because its `jti`, or one of a token it was exchanged
/// from (`tg_sources`), was revoked: one read for all of `tokens`. Answers which of
/// `tokens` fell, by index, and why; else the proof that none did.
pub(crate) async fn revoked(
    tx: &mut dyn Tx,
    tokens: &[&TokenClaims],
) -> Result<Result<NotRevoked, (usize, String)>, ServiceError> {
    let jtis: Vec<&str> = tokens
        .iter()
        .flat_map(|c| std::iter::once(&c.jti).chain(&c.sources))
        .map(String::as_str)
        .collect();
    let Some(jti) = tx.first_revoked(&jtis).await? else {
        return Ok(Ok(NotRevoked(())));
    };
    let which = tokens.iter().enumerate().find_map(|(i, c)| {
        if c.jti == jti {
            Some((i, "the token was revoked".to_owned()))
        } else if c.sources.contains(&jti) {
            Some((
                i,
                format!("the token `{jti}` it was exchanged from was revoked"),
            ))
        } else {
            None
        }
    });
    // The store answered one of the `jti`s it was asked about.
    Ok(Err(which.unwrap_or_else(|| {
        (0, format!("the token `{jti}` was revoked"))
    })))
}

/// The views of the token's parties, subject first then its actors (current actor first),
/// when all of them still stand behind it; otherwise why not. A token stands when:
/// - it was not revoked (the caller asks [`revoked`] first, in one read for every token it
///   holds, and passes on its proof);
/// - every party exists, is active, and was not suspended or revoked since the token was
///   issued (its `tg_epoch`);
/// - every actor's delegation is still an accepted hand-off from the party before it,
///   without an outcome: recording the outcome ends the task, and the token with it.
pub(crate) async fn token_parties(
    tx: &mut dyn Tx,
    cache: &PolicyCache,
    claims: &TokenClaims,
    now: Timestamp,
    held: &Held,
    _: &NotRevoked,
) -> Result<Result<Vec<TrustView>, String>, ServiceError> {
    let Ok(subject) = AgentId::parse(&claims.sub) else {
        return Ok(Err("the token's subject is not an agent".into()));
    };
    let mut views = Vec::with_capacity(1 + claims.act.len());
    match party(tx, cache, &subject, claims.epoch, now, held).await? {
        Ok(view) => views.push(view),
        Err(reason) => return Ok(Err(reason)),
    }
    // Oldest actor first: each acts for the party before it.
    let mut before = subject;
    for link in claims.act.iter().rev() {
        let Ok(actor) = AgentId::parse(&link.sub) else {
            return Ok(Err("an actor of the token is not an agent".into()));
        };
        let open = match DelegationId::parse(&link.delegation_id) {
            Ok(id) => tx.get_delegation(&id).await?.filter(|d| {
                d.accepted_at.is_some()
                    && d.outcome.is_none()
                    && d.from == Delegator::Agent(before.clone())
                    && d.to_agent == actor
            }),
            Err(_) => None,
        };
        if open.is_none() {
            return Ok(Err(format!(
                "the delegation `{}` that lets `{actor}` act is no longer open",
                link.delegation_id
            )));
        }
        match party(tx, cache, &actor, link.epoch, now, held).await? {
            Ok(view) => views.push(view),
            Err(reason) => return Ok(Err(format!("acting agent `{actor}`: {reason}"))),
        }
        before = actor;
    }
    if let Some(actors) = views.get_mut(1..) {
        actors.reverse();
    }
    Ok(Ok(views))
}

/// One party's view, if it still stands behind a token of generation `epoch`.
async fn party(
    tx: &mut dyn Tx,
    cache: &PolicyCache,
    id: &AgentId,
    epoch: u64,
    now: Timestamp,
    held: &Held,
) -> Result<Result<TrustView, String>, ServiceError> {
    let read = match held.get(id) {
        Some(view) => Ok(view.clone()),
        None => load_view(tx, cache, id, now, false).await,
    };
    let view = match read {
        Ok(view) => view,
        Err(ServiceError::NotFound(_)) => {
            return Ok(Err("the token's agent does not exist".into()));
        }
        Err(e) => return Err(e),
    };
    if view.agent.status != AgentStatus::Active {
        return Ok(Err(format!("the agent is {}", view.agent.status.as_str())));
    }
    if view.agent.token_predates_suspension(epoch) {
        return Ok(Err(
            "the token was issued before the agent was last suspended or revoked".into(),
        ));
    }
    Ok(Ok(view))
}

/// The lowest trust tier among `views`: what a token for all of them may grant.
pub(crate) fn weakest_tier(views: &[TrustView]) -> u8 {
    views.iter().map(|v| v.breakdown.tier).min().unwrap_or(0)
}
