//! Joy §7.1, fail-closed trust checks: unknown agents, network errors, invalid answers and
//! scores below the threshold all deny.

use tg_core::AgentId;
use tg_joy::{JOY_SCALE, TrustResult};
use tg_wire::agents::VerifyRequest;

use crate::{Client, Error};

impl Client {
    /// Does `agent` meet `min_score` (Joy's 0–5 scale)? Never an error: any failure — the
    /// gateway unreachable or stopped, a timeout, a 5xx, a refusal (bad key, rate limit),
    /// an unknown, suspended or cold-start agent, an answer that is not a `TrustResult` or
    /// contradicts itself — is a `TrustResult` with `meets_threshold: false` and `error`
    /// saying why. Act on `meets_threshold` alone.
    pub async fn verify(&self, agent: &AgentId, min_score: f64) -> TrustResult {
        let ask = VerifyRequest {
            agent_id: Some(agent.to_string()),
            agent_name: None,
            min_score,
        };
        self.verify_subject(ask, Some(agent.clone()), None).await
    }

    /// [`Client::verify`] by agent name (denied when several agents share it).
    pub async fn verify_named(&self, name: &str, min_score: f64) -> TrustResult {
        let ask = VerifyRequest {
            agent_id: None,
            agent_name: Some(name.to_owned()),
            min_score,
        };
        self.verify_subject(ask, None, Some(name.to_owned())).await
    }

    async fn verify_subject(
        &self,
        ask: VerifyRequest,
        agent_id: Option<AgentId>,
        agent_name: Option<String>,
    ) -> TrustResult {
        let min_score = ask.min_score;
        if !min_score.is_finite() || !(0.0..=JOY_SCALE).contains(&min_score) {
            let e = Error::InvalidRequest("`min_score` must be between 0 and 5".into());
            return denial(min_score, agent_id, agent_name, &e);
        }
        match self.verify_trust(&ask).await {
            Ok(r) => match contradiction(&r, min_score, agent_id.as_ref(), agent_name.as_deref()) {
                None => r,
                Some(why) => TrustResult {
                    meets_threshold: false,
                    error: Some(format!("inconsistent answer, denied: {why}")),
                    ..r
                },
            },
            Err(e) => denial(min_score, agent_id, agent_name, &e),
        }
    }
}

/// The denial standing for `e`.
pub(crate) fn denial(
    min_score: f64,
    agent_id: Option<AgentId>,
    agent_name: Option<String>,
    e: &Error,
) -> TrustResult {
    TrustResult::denied(
        min_score,
        agent_id,
        agent_name,
        format!("trust check failed closed: {e}"),
    )
}

/// Why an answer that says "meets the threshold" cannot be believed, if it cannot.
fn contradiction(
    r: &TrustResult,
    min_score: f64,
    agent_id: Option<&AgentId>,
    agent_name: Option<&str>,
) -> Option<&'static str> {
    if !r.meets_threshold {
        return None;
    }
    if r.error.is_some() {
        Some("an error is reported")
    } else if r.withheld {
        Some("the trust data is withheld")
    } else if !r.trust_score.is_finite() || r.trust_score < min_score {
        Some("the score is below the threshold")
    } else if r.threshold_used != min_score {
        Some("another threshold was checked")
    } else if (agent_id.is_some() && r.agent_id.as_ref() != agent_id)
        || (agent_name.is_some() && r.agent_name.as_deref() != agent_name)
    {
        Some("the answer is about another agent")
    } else {
        None
    }
}
