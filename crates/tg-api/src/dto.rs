//! Wire shapes (V2-compatible field names).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tg_core::{Outcome, Timestamp};
use tg_identity::Attestation;
use tg_receipts::Receipt;
use tg_scoring::TierBand;
use tg_service::{AuthorizeOutcome, TrustView};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegisterRequest {
    pub name: String,
    pub provider: String,
    #[serde(default)]
    pub spiffe_id: Option<String>,
    pub config_hash: String,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub attestation: Option<Attestation>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AttestationRequest {
    pub attestation: Attestation,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordRequest {
    pub agent_id: String,
    pub action: String,
    pub result: Outcome,
    #[serde(default)]
    pub timestamp: Option<Timestamp>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthorizeRequest {
    pub agent_id: String,
    pub action: String,
    /// Accepted for V2 compatibility and ignored by the decision (it is not evidence).
    #[serde(default)]
    #[allow(dead_code)]
    pub context: Option<serde_json::Map<String, Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BatchRequest {
    pub agent_id: String,
    pub actions: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    pub context: Option<serde_json::Map<String, Value>>,
}

pub(crate) fn agent(v: &TrustView) -> Value {
    let a = &v.agent;
    json!({
        "id": a.id,
        "name": a.name,
        "provider": a.provider,
        "spiffe_id": a.spiffe_id.as_ref().map(ToString::to_string),
        "config_hash": a.config_hash,
        "approved_config_hash": a.approved_config_hash,
        "public_key": a.public_key,
        "capabilities": a.capabilities,
        "status": a.status,
        "verification_level": v.verification_level,
        "badges": v.agent.badges(v.computed_at),
        "attestation_type": a.attestation_type,
        "attestation_expires_at": a.attestation_expires_at,
        "created_at": a.created_at,
        "trust_score": v.breakdown.composite,
        "trust_tier": v.breakdown.tier,
        "tier_name": v.breakdown.tier_name,
    })
}

pub(crate) fn breakdown(v: &TrustView) -> Value {
    let b = &v.breakdown;
    let w = &v.policy.policy.weights;
    json!({
        "agent_id": v.agent.id,
        "identity_score": b.factors.identity,
        "config_score": b.factors.config,
        "behavior_score": b.factors.behavior,
        "vouch_score": b.factors.vouch,
        "activity_score": b.factors.activity,
        "composite_score": b.composite,
        "base_score": b.base_score,
        "tier": b.tier,
        "tier_name": b.tier_name,
        "weights": {"identity": w.identity, "config": w.config, "behavior": w.behavior, "vouch": w.vouch, "activity": w.activity},
        "factors": b.explain,
        "cold_start": b.cold_start,
        "evidence_count": b.evidence_count,
        "decay": {"multiplier": b.decay_multiplier, "days_inactive": b.days_inactive},
        "last_activity": b.last_activity,
        "verification_level": v.verification_level,
        "badges": v.agent.badges(v.computed_at),
        "attestation_type": v.agent.attestation_type,
        "attestation_expires_at": v.agent.attestation_expires_at,
        "status": v.agent.status,
        "policy": v.policy.policy.preset.as_str(),
        "computed_at": v.computed_at,
    })
}

pub(crate) fn card(v: &TrustView) -> Value {
    let a = &v.agent;
    let e = &v.state.evidence;
    let total = e.count();
    json!({
        "agent_id": a.id,
        "name": a.name,
        "provider": a.provider,
        "spiffe_id": a.spiffe_id.as_ref().map(ToString::to_string),
        "capabilities": a.capabilities,
        "trust_score": v.breakdown.composite,
        "trust_tier": v.breakdown.tier,
        "tier_name": v.breakdown.tier_name,
        "created_at": a.created_at,
        "last_action_at": e.last_activity,
        "total_actions": total,
        "success_rate": if total == 0 { None } else { Some(e.successes as f64 / total as f64) },
        "permitted_actions": v.permitted_actions,
        "verification_level": v.verification_level,
        "badges": v.agent.badges(v.computed_at),
        "status": a.status,
        "metadata": {
            "identity_score": v.breakdown.factors.identity,
            "config_score": v.breakdown.factors.config,
            "behavior_score": v.breakdown.factors.behavior,
        },
    })
}

pub(crate) fn receipt(r: &Receipt) -> Value {
    json!({
        "id": r.id,
        "agent_id": r.agent_id,
        "seq": r.seq,
        "action": r.action,
        "result": r.result,
        "timestamp": r.timestamp,
        "reported_at": r.reported_at,
        "prev_hash": hex(&r.prev_hash),
        "receipt_hash": hex(&r.receipt_hash),
        "signature": hex(&r.signature),
        "key_id": r.key_id,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One decision's numbers (shared by single and batch answers).
pub(crate) fn decision(o: &AuthorizeOutcome) -> Value {
    json!({
        "allowed": o.decision.allowed,
        "current_tier": o.current_tier,
        "required_tier": o.decision.required_tier,
        "current_score": o.current_score,
        "required_score": o.decision.required_score,
        "reason": o.decision.reason(),
    })
}

#[derive(Debug, Serialize)]
pub(crate) struct Tiers<'a> {
    pub tiers: &'a [TierBand],
    pub version: i64,
}

pub(crate) fn trust_result(r: &tg_service::TrustResult) -> Value {
    json!({
        "agent_id": r.agent_id,
        "agent_name": r.agent_name,
        "trust_score": r.trust_score,
        "verified": r.verified,
        "meets_threshold": r.meets_threshold,
        "threshold_used": r.threshold_used,
        "vouch_count": r.vouch_count,
        "evidence_count": r.evidence_count,
        "capabilities": r.capabilities,
        "tier": r.tier,
        "badges": r.badges,
        "last_activity": r.last_activity,
        "withheld": r.withheld,
        "error": r.error,
        "provider": r.provider,
        "provider_version": r.provider_version,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyRequest {
    pub agent_id: Option<String>,
    pub agent_name: Option<String>,
    pub min_score: f64,
}

/// An optional JSON body: empty means `T::default()`, anything else must parse (422 if not).
pub(crate) fn optional_json<T: serde::de::DeserializeOwned + Default>(
    body: &[u8],
) -> Result<T, crate::ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        crate::ApiError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            format!("invalid request body: {e}"),
        )
    })
}

/// Page size when a listing's `limit` is not given.
pub(crate) fn default_page_limit() -> u32 {
    100
}

/// `?offset=&limit=` of an offset-paged listing.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Page {
    #[serde(default)]
    pub offset: u32,
    #[serde(default = "default_page_limit")]
    pub limit: u32,
}

impl Page {
    /// The next page's offset when this page came back full.
    pub fn next_offset(&self, returned: usize) -> Option<u32> {
        (returned == self.limit as usize).then(|| self.offset.saturating_add(self.limit))
    }
}
