//! The answers the server builds from its use cases' views (`server` feature, used by
//! `tg-api`). Everything else in this crate is plain data, so a client links no server.

use tg_service::{AuthorizeOutcome, SigningKeyView, TrustView, WebhookSaved};

use crate::admin::{SigningKeyOut, SigningKeys};
use crate::agents::{
    AgentOut, AgentPage, Breakdown, Card, CardScores, Decay, HistoryPoint, Weights,
};
use crate::authorize::Decision;
use crate::webhooks::EndpointOut;

impl AgentPage {
    pub fn of(found: &[TrustView], offset: u32, limit: u32) -> Self {
        Self {
            agents: found.iter().map(AgentOut::from).collect(),
            offset,
            limit,
            next_offset: (found.len() == limit as usize).then(|| offset.saturating_add(limit)),
        }
    }
}

impl From<&tg_service::HistoryPoint> for HistoryPoint {
    fn from(p: &tg_service::HistoryPoint) -> Self {
        Self {
            timestamp: p.timestamp,
            composite_score: p.composite_score,
            tier: p.tier,
            trigger: p.trigger,
        }
    }
}

impl From<&TrustView> for AgentOut {
    fn from(v: &TrustView) -> Self {
        let a = &v.agent;
        Self {
            id: a.id.clone(),
            name: a.name.clone(),
            provider: a.provider.clone(),
            spiffe_id: a.spiffe_id.as_ref().map(ToString::to_string),
            config_hash: a.config_hash.clone(),
            approved_config_hash: a.approved_config_hash.clone(),
            public_key: a.public_key.clone(),
            capabilities: a.capabilities.clone(),
            status: a.status,
            suspended_by: a.suspended_by,
            verification_level: v.verification_level,
            badges: a.badges(v.computed_at),
            attestation_type: a.attestation_type,
            attestation_expires_at: a.attestation_expires_at,
            created_at: a.created_at,
            trust_score: v.breakdown.composite,
            trust_tier: v.breakdown.tier,
            tier_name: v.breakdown.tier_name.clone(),
            composite_score: v.breakdown.composite,
            tier: v.breakdown.tier,
            a2a: a.a2a.clone(),
            state_version: v.state.version,
        }
    }
}

/// By value: the answer takes the view's strings and lists instead of copying them.
impl From<TrustView> for Breakdown {
    fn from(v: TrustView) -> Self {
        let badges = v.agent.badges(v.computed_at);
        let b = v.breakdown;
        let w = &v.policy.policy.weights;
        Self {
            agent_id: v.agent.id,
            identity_score: b.factors.identity,
            config_score: b.factors.config,
            behavior_score: b.factors.behavior,
            vouch_score: b.factors.vouch,
            activity_score: b.factors.activity,
            composite_score: b.composite,
            base_score: b.base_score,
            tier: b.tier,
            tier_name: b.tier_name,
            weights: Weights {
                identity: w.identity,
                config: w.config,
                behavior: w.behavior,
                vouch: w.vouch,
                activity: w.activity,
            },
            factors: b.explain,
            cold_start: b.cold_start,
            evidence_count: b.evidence_count,
            decay: Decay {
                multiplier: b.decay_multiplier,
                days_inactive: b.days_inactive,
            },
            last_activity: b.last_activity,
            proof: b.proof,
            verification_level: v.verification_level,
            badges,
            attestation_type: v.agent.attestation_type,
            attestation_expires_at: v.agent.attestation_expires_at,
            status: v.agent.status,
            policy: v.policy.policy.preset.as_str().to_owned(),
            computed_at: v.computed_at,
        }
    }
}

impl From<&TrustView> for Card {
    fn from(v: &TrustView) -> Self {
        let a = &v.agent;
        let e = &v.state.evidence;
        let total = e.count();
        Self {
            agent_id: a.id.clone(),
            name: a.name.clone(),
            provider: a.provider.clone(),
            spiffe_id: a.spiffe_id.as_ref().map(ToString::to_string),
            capabilities: a.capabilities.clone(),
            trust_score: v.breakdown.composite,
            trust_tier: v.breakdown.tier,
            tier_name: v.breakdown.tier_name.clone(),
            created_at: a.created_at,
            last_action_at: e.last_activity,
            total_actions: total,
            success_rate: (total != 0).then(|| e.successes as f64 / total as f64),
            permitted_actions: v.permitted_actions(),
            verification_level: v.verification_level,
            badges: a.badges(v.computed_at),
            status: a.status,
            metadata: CardScores {
                identity_score: v.breakdown.factors.identity,
                config_score: v.breakdown.factors.config,
                behavior_score: v.breakdown.factors.behavior,
            },
        }
    }
}

impl From<&AuthorizeOutcome> for Decision {
    fn from(o: &AuthorizeOutcome) -> Self {
        Self {
            allowed: o.decision.allowed,
            current_tier: o.current_tier,
            required_tier: o.decision.required_tier,
            current_score: o.current_score,
            required_score: o.decision.required_score,
            reason: o.decision.reason().to_owned(),
        }
    }
}

impl From<&SigningKeyView> for SigningKeyOut {
    fn from(k: &SigningKeyView) -> Self {
        Self {
            kid: k.kid.clone(),
            alg: k.alg.clone(),
            created_at: k.created_at,
            signs_from: k.signs_from,
            current: k.current,
        }
    }
}

impl SigningKeys {
    pub fn of(keys: &[SigningKeyView]) -> Self {
        Self {
            keys: keys.iter().map(SigningKeyOut::from).collect(),
        }
    }
}

impl From<&WebhookSaved> for EndpointOut {
    fn from(s: &WebhookSaved) -> Self {
        Self {
            secret: s.secret.as_ref().map(|s| s.expose().clone()),
            warnings: s.warnings.clone(),
            ..Self::from(&s.endpoint)
        }
    }
}
