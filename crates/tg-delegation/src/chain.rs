use serde::Serialize;
use tg_core::{AgentId, ChainId, DelegationId, Timestamp};

use crate::{Delegation, Delegator};

/// Bounds on chains.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub max_depth: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_depth: 8 }
    }
}

/// A delegation as asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub from: Delegator,
    pub to_agent: AgentId,
    pub task_type: String,
    pub threshold: f64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("`threshold` must be a number between 0 and 5")]
    Threshold,
    #[error("`task_type` must be 1–64 characters of a-z, 0-9, `_`, `.`, `-`")]
    TaskType,
    #[error("an agent cannot delegate to itself")]
    SelfDelegation,
    #[error("only the delegatee of the parent delegation (`{expected}`) may delegate further")]
    NotParentDelegatee { expected: String },
    #[error("`{0}` is already in this delegation chain: cycles are not allowed")]
    Cycle(String),
    #[error("delegation chains are limited to {0} hops")]
    TooDeep(u32),
    #[error("the delegatee's trust score {score:.2} is below the threshold {threshold:.2}")]
    BelowThreshold { score: f64, threshold: f64 },
}

/// Checks a delegation against the chain it extends and the delegatee's current score
/// (0–5), and builds the record. Fails closed.
///
/// `ancestors` are the delegations from the chain's root down to `parent` (inclusive), in
/// depth order; empty for a new chain.
pub fn plan(
    req: Request,
    ancestors: &[Delegation],
    delegatee_score: f64,
    limits: Limits,
    now: Timestamp,
) -> Result<Delegation, PlanError> {
    if !req.threshold.is_finite() || !(0.0..=5.0).contains(&req.threshold) {
        return Err(PlanError::Threshold);
    }
    let task_ok = !req.task_type.is_empty()
        && req.task_type.len() <= 64
        && req.task_type.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        });
    if !task_ok {
        return Err(PlanError::TaskType);
    }
    if req.from.agent() == Some(&req.to_agent) {
        return Err(PlanError::SelfDelegation);
    }
    let (chain_id, root_authority, depth, parent) = match ancestors.last() {
        None => (ChainId::generate(), req.from.clone(), 1, None),
        Some(parent) => {
            if req.from.agent() != Some(&parent.to_agent) {
                return Err(PlanError::NotParentDelegatee {
                    expected: parent.to_agent.to_string(),
                });
            }
            let in_chain = ancestors
                .iter()
                .any(|d| d.to_agent == req.to_agent || d.from.agent() == Some(&req.to_agent));
            if in_chain {
                return Err(PlanError::Cycle(req.to_agent.to_string()));
            }
            (
                parent.chain_id.clone(),
                parent.root_authority.clone(),
                parent.depth.saturating_add(1),
                Some(parent.id.clone()),
            )
        }
    };
    if depth > limits.max_depth {
        return Err(PlanError::TooDeep(limits.max_depth));
    }
    if delegatee_score.is_nan() || delegatee_score < req.threshold {
        return Err(PlanError::BelowThreshold {
            score: delegatee_score,
            threshold: req.threshold,
        });
    }
    Ok(Delegation {
        id: DelegationId::generate(),
        chain_id,
        parent,
        depth,
        from: req.from,
        to_agent: req.to_agent,
        root_authority,
        task_type: req.task_type,
        threshold: req.threshold,
        trust_score_at_delegation: delegatee_score,
        delegated_at: now,
        accepted_at: None,
        outcome: None,
    })
}

/// One hop of Joy §4.2's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainLink {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub delegation_id: DelegationId,
    pub from: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub to: AgentId,
    pub at: Timestamp,
}

/// Joy §4.2: `{chain_id, delegations, root_authority, terminal_agent}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainView {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub chain_id: ChainId,
    pub delegations: Vec<ChainLink>,
    pub root_authority: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub terminal_agent: AgentId,
}

impl ChainView {
    /// Builds the view of a chain from its delegations (any order). `None` when empty.
    /// With branches (one delegatee delegating twice), `terminal_agent` is the deepest,
    /// newest delegatee.
    pub fn of(mut delegations: Vec<Delegation>) -> Option<Self> {
        delegations.sort_by(|a, b| {
            a.depth
                .cmp(&b.depth)
                .then(a.delegated_at.cmp(&b.delegated_at))
        });
        let first = delegations.first()?;
        let last = delegations.last()?;
        Some(ChainView {
            chain_id: first.chain_id.clone(),
            root_authority: first.root_authority.to_string(),
            terminal_agent: last.to_agent.clone(),
            delegations: delegations
                .iter()
                .map(|d| ChainLink {
                    delegation_id: d.id.clone(),
                    from: d.from.to_string(),
                    to: d.to_agent.clone(),
                    at: d.delegated_at,
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DelegationOutcome, Feedback, OutcomeError, OutcomeRecord};
    use tg_core::Outcome;

    const T0: Timestamp = Timestamp::from_secs(1_800_000_000);

    fn human() -> Delegator {
        Delegator::parse("user:alice@example.org").unwrap_or_else(|| unreachable!())
    }

    fn req(from: Delegator, to: &AgentId) -> Request {
        Request {
            from,
            to_agent: to.clone(),
            task_type: "code_review".into(),
            threshold: 3.0,
        }
    }

    fn ok(r: Result<Delegation, PlanError>) -> Delegation {
        r.unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn a_three_hop_chain_keeps_its_human_root() {
        let (a, b, c) = (
            AgentId::generate(),
            AgentId::generate(),
            AgentId::generate(),
        );
        let first = ok(plan(req(human(), &a), &[], 3.5, Limits::default(), T0));
        assert_eq!(
            (
                first.depth,
                first.parent.clone(),
                first.trust_score_at_delegation
            ),
            (1, None, 3.5)
        );
        let second = ok(plan(
            req(Delegator::Agent(a.clone()), &b),
            std::slice::from_ref(&first),
            4.0,
            Limits::default(),
            T0.plus_secs(1),
        ));
        let third = ok(plan(
            req(Delegator::Agent(b.clone()), &c),
            &[first.clone(), second.clone()],
            3.0,
            Limits::default(),
            T0.plus_secs(2),
        ));
        assert_eq!(third.depth, 3);
        assert_eq!(third.chain_id, first.chain_id);
        assert_eq!(third.root_authority, human());
        assert_eq!(third.parent, Some(second.id.clone()));

        let view = ChainView::of(vec![third.clone(), first.clone(), second.clone()])
            .unwrap_or_else(|| unreachable!());
        assert_eq!(view.root_authority, "user:alice@example.org");
        assert_eq!(view.terminal_agent, c);
        let hops: Vec<(String, AgentId)> = view
            .delegations
            .iter()
            .map(|l| (l.from.clone(), l.to.clone()))
            .collect();
        assert_eq!(
            hops,
            vec![
                ("user:alice@example.org".into(), a.clone()),
                (a.to_string(), b.clone()),
                (b.to_string(), c)
            ]
        );
    }

    #[test]
    fn cycles_depth_and_strangers_are_refused() {
        let (a, b) = (AgentId::generate(), AgentId::generate());
        let first = ok(plan(req(human(), &a), &[], 4.0, Limits::default(), T0));
        let second = ok(plan(
            req(Delegator::Agent(a.clone()), &b),
            std::slice::from_ref(&first),
            4.0,
            Limits::default(),
            T0,
        ));
        let chain = [first.clone(), second.clone()];
        // b delegating back to a closes a cycle.
        assert_eq!(
            plan(
                req(Delegator::Agent(b.clone()), &a),
                &chain,
                4.0,
                Limits::default(),
                T0
            ),
            Err(PlanError::Cycle(a.to_string()))
        );
        // Only the parent's delegatee may extend the chain.
        let stranger = AgentId::generate();
        let r = plan(
            req(Delegator::Agent(stranger), &AgentId::generate()),
            &chain,
            4.0,
            Limits::default(),
            T0,
        );
        assert!(
            matches!(r, Err(PlanError::NotParentDelegatee { .. })),
            "{r:?}"
        );
        // Depth bound.
        let r = plan(
            req(Delegator::Agent(b.clone()), &AgentId::generate()),
            &chain,
            4.0,
            Limits { max_depth: 2 },
            T0,
        );
        assert_eq!(r, Err(PlanError::TooDeep(2)));
        assert_eq!(
            plan(
                req(Delegator::Agent(a.clone()), &a),
                &[],
                4.0,
                Limits::default(),
                T0
            ),
            Err(PlanError::SelfDelegation)
        );
    }

    #[test]
    fn below_threshold_fails_closed_and_equal_meets_it() {
        let a = AgentId::generate();
        assert!(matches!(
            plan(req(human(), &a), &[], 2.99, Limits::default(), T0),
            Err(PlanError::BelowThreshold { .. })
        ));
        assert!(matches!(
            plan(req(human(), &a), &[], f64::NAN, Limits::default(), T0),
            Err(PlanError::BelowThreshold { .. })
        ));
        assert!(plan(req(human(), &a), &[], 3.0, Limits::default(), T0).is_ok());
        let mut bad = req(human(), &a);
        bad.threshold = 5.5;
        assert_eq!(
            plan(bad, &[], 5.0, Limits::default(), T0),
            Err(PlanError::Threshold)
        );
        let mut bad = req(human(), &a);
        bad.task_type = "Code Review".into();
        assert_eq!(
            plan(bad, &[], 5.0, Limits::default(), T0),
            Err(PlanError::TaskType)
        );
    }

    #[test]
    fn outcomes_are_recorded_once_and_map_to_evidence() {
        let mut d = ok(plan(
            req(human(), &AgentId::generate()),
            &[],
            4.0,
            Limits::default(),
            T0,
        ));
        let rec = |outcome, feedback| OutcomeRecord {
            outcome,
            feedback,
            notes: None,
            completed_at: T0,
        };
        assert_eq!(
            d.complete(rec(DelegationOutcome::Success, Some(Feedback::Positive))),
            Ok(())
        );
        assert_eq!(
            d.complete(rec(DelegationOutcome::Failure, None)),
            Err(OutcomeError::AlreadyRecorded(d.id.to_string()))
        );
        assert_eq!(
            rec(DelegationOutcome::Success, None).evidence(),
            Some(Outcome::Success)
        );
        assert_eq!(
            rec(DelegationOutcome::Success, Some(Feedback::Negative)).evidence(),
            Some(Outcome::Failure)
        );
        assert_eq!(
            rec(DelegationOutcome::Timeout, None).evidence(),
            Some(Outcome::Failure)
        );
        assert_eq!(
            rec(DelegationOutcome::Cancelled, Some(Feedback::Negative)).evidence(),
            None
        );
    }

    #[test]
    fn delegators_parse_strictly() {
        assert!(matches!(
            Delegator::parse("user:bob"),
            Some(Delegator::Human(_))
        ));
        assert!(matches!(
            Delegator::parse(AgentId::generate().as_str()),
            Some(Delegator::Agent(_))
        ));
        for bad in ["bob", "user:", "user:bob smith", "ag_123", "user:<script>"] {
            assert_eq!(Delegator::parse(bad), None, "{bad}");
        }
    }
}
