//! What a token presented as evidence still proves (not revoked, not from before the
//! agent's last suspension), and how far the presenting account's word counts.

use tg_core::AccountId;
use tg_identity::Agent;
use tg_tokens::TokenClaims;

use crate::{ServiceError, Tx};

/// [`token_void`] as a 403 naming what the token fails to prove.
pub(crate) async fn require_live(
    tx: &mut dyn Tx,
    claims: &TokenClaims,
    agent: &Agent,
    proves: &str,
) -> Result<(), ServiceError> {
    match token_void(tx, claims, agent).await? {
        None => Ok(()),
        Some(void) => Err(ServiceError::Forbidden(format!(
            "`token` proves no {proves}: {void}"
        ))),
    }
}

/// How far evidence from `account` counts (a witness's report, a delegator's outcome): the
/// operator's account fully; any other as far as it traces to the pre-trusted — the best
/// vouch factor among its active agents (0 for a ring nobody trusted vouched for).
pub(crate) async fn credibility(
    tx: &mut dyn Tx,
    account: &AccountId,
    operator: &AccountId,
) -> Result<f64, ServiceError> {
    if account == operator {
        Ok(1.0)
    } else {
        Ok(tx.best_vouch_factor(account).await?)
    }
}

/// Why a token that verifies proves nothing any more, if so: its `jti` was revoked, or it
/// was issued before the agent's last suspension or revocation.
pub(crate) async fn token_void(
    tx: &mut dyn Tx,
    claims: &TokenClaims,
    agent: &Agent,
) -> Result<Option<&'static str>, ServiceError> {
    if tx.first_revoked(&[&claims.jti]).await?.is_some() {
        return Ok(Some("the token was revoked"));
    }
    if agent.token_predates_suspension(claims.epoch) {
        return Ok(Some(
            "the token was issued before the agent was last suspended or revoked",
        ));
    }
    Ok(None)
}
