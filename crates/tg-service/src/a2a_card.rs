//! A2A v1.0 AgentCards: the card of an agent with an A2A profile — its endpoint, skills
//! from its capabilities, and the trust data in a `capabilities.extensions` entry — signed
//! as A2A specifies: a JWS with detached payload over the RFC 8785 (JCS) canonical card
//! without `signatures`, by the gateway's Ed25519 key, `kid` in `/.well-known/jwks.json`.
//!
//! A2A verifiers canonicalise the card after dropping empty values (protobuf JSON omits
//! them): the card is pruned the same way before it is signed and served, so the bytes
//! signed are the bytes every verifier rebuilds.

use serde_json::Value;
use tg_core::{AgentId, Timestamp};
use tg_identity::a2a_card::{
    AgentCapabilities, AgentCard, AgentExtension, AgentInterface, AgentProvider, AgentSkill,
    TRUST_EXTENSION, TrustParams,
};
use tg_identity::{A2aProfile, AgentStatus};
use tg_tokens::Signed;

use crate::{Gateway, ServiceError, TrustView};

/// How long a card's trust data may be relied on.
const CARD_LIFETIME_SECS: i64 = 3600;

impl Gateway {
    /// `GET /agents/{id}/agent-card.json`: the agent's card as served — pruned,
    /// canonicalised, signed, with its signature added. Anyone may ask (cards are
    /// discoverable by design); an unknown or revoked agent, or one without an A2A profile,
    /// has none.
    pub async fn agent_card(&self, id: &AgentId) -> Result<Value, ServiceError> {
        let view = self.trust_view(id).await?;
        let agent = &view.agent;
        if agent.status == AgentStatus::Revoked {
            return Err(ServiceError::NotFound(format!(
                "agent `{}` is revoked: it has no card",
                agent.id
            )));
        }
        let Some(profile) = &agent.a2a else {
            return Err(ServiceError::NotFound(format!(
                "agent `{}` has no A2A profile (its owner sets one with PUT /agents/{{id}}/a2a)",
                agent.id
            )));
        };
        let card = unsigned_card(&view, profile, self.tokens().issuer());
        let value = serde_json::to_value(&card).map_err(|e| internal("encoding", e))?;
        let mut value = prune(value).unwrap_or_default();
        let signature = self.sign_canonical(&value, Signed::A2aCard)?;
        if let Value::Object(map) = &mut value {
            let signatures =
                serde_json::to_value([signature]).map_err(|e| internal("encoding", e))?;
            map.insert("signatures".into(), signatures);
        }
        Ok(value)
    }
}

fn internal(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> ServiceError {
    ServiceError::internal_because(format!("agent card {what}"), e)
}

/// Everything of the card but its signatures, from the agent's view at `now`.
fn unsigned_card(view: &TrustView, profile: &A2aProfile, issuer: &str) -> AgentCard {
    let a = &view.agent;
    let skills = if a.capabilities.is_empty() {
        vec![AgentSkill {
            id: "agent".into(),
            name: a.name.clone(),
            description: format!("{}, as registered with Trust Gateway.", a.name),
            tags: vec![a.provider.clone()],
        }]
    } else {
        a.capabilities
            .iter()
            .map(|c| AgentSkill {
                id: c.clone(),
                name: c.clone(),
                description: format!("Capability `{c}`, as registered with Trust Gateway."),
                tags: vec![c.clone()],
            })
            .collect()
    };
    AgentCard {
        name: a.name.clone(),
        description: profile.description.clone().unwrap_or_else(|| {
            format!(
                "{} ({}), registered with Trust Gateway.",
                a.name, a.provider
            )
        }),
        supported_interfaces: vec![AgentInterface {
            url: profile.url.clone(),
            protocol_binding: profile.protocol_binding.clone(),
            protocol_version: profile.protocol_version.clone(),
        }],
        provider: profile.provider.as_ref().map(|p| AgentProvider {
            url: p.url.clone(),
            organization: p.organization.clone(),
        }),
        version: profile
            .version
            .clone()
            .unwrap_or_else(|| a.approved_config_hash.clone()),
        documentation_url: profile.documentation_url.clone(),
        capabilities: AgentCapabilities {
            extensions: vec![AgentExtension {
                uri: TRUST_EXTENSION.to_owned(),
                description: "Trust Gateway's trust data for this agent: score, tier, \
                    verification level, status, when it was issued and until when it holds."
                    .to_owned(),
                params: TrustParams {
                    agent_id: a.id.clone(),
                    trust_score: view.breakdown.composite,
                    trust_tier: view.breakdown.tier,
                    tier_name: view.breakdown.tier_name.clone(),
                    verification_level: view.verification_level.as_u8(),
                    badges: a.badges(view.computed_at),
                    status: a.status,
                    permitted_actions: view.permitted_actions(),
                    issuer: issuer.to_owned(),
                    issued_at: view.computed_at,
                    expires_at: Timestamp::from_micros(
                        view.computed_at
                            .as_micros()
                            .saturating_add(CARD_LIFETIME_SECS * 1_000_000),
                    ),
                },
            }],
        },
        default_input_modes: profile.input_modes.clone(),
        default_output_modes: profile.output_modes.clone(),
        skills,
        signatures: Vec::new(),
    }
}

/// Drops nulls, empty strings, empty arrays and empty objects, innermost first — what
/// A2A verifiers do before canonicalising.
fn prune(v: Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::Array(items) => {
            let kept: Vec<Value> = items.into_iter().filter_map(prune).collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        Value::Object(map) => {
            let kept: serde_json::Map<String, Value> = map
                .into_iter()
                .filter_map(|(k, v)| prune(v).map(|v| (k, v)))
                .collect();
            (!kept.is_empty()).then_some(Value::Object(kept))
        }
        other => Some(other),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use serde_json::json;

    use super::*;

    /// RFC 8785 §3.2.2's sample: numbers, string escapes and literals.
    #[test]
    fn jcs_matches_the_rfc_8785_sample() {
        let input = r#"{
            "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
            "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
            "literals": [null, true, false]
        }"#;
        let v: Value = serde_json::from_str(input).unwrap();
        assert_eq!(
            serde_jcs::to_string(&v).unwrap(),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }

    /// RFC 8785 §3.2.3: properties sorted by UTF-16 code units, not by code points.
    #[test]
    fn jcs_sorts_properties_as_rfc_8785_does() {
        let input = r#"{
            "\u20ac": "Euro Sign",
            "\r": "Carriage Return",
            "\ufb33": "Hebrew Letter Dalet With Dagesh",
            "1": "One",
            "\ud83d\ude00": "Emoji: Grinning Face",
            "\u0080": "Control",
            "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        let v: Value = serde_json::from_str(input).unwrap();
        let out = serde_jcs::to_string(&v).unwrap();
        let order: Vec<&str> = out.split('"').skip(3).step_by(4).collect();
        assert_eq!(
            order,
            [
                "Carriage Return",
                "One",
                "Control",
                "Latin Small Letter O With Diaeresis",
                "Euro Sign",
                "Emoji: Grinning Face",
                "Hebrew Letter Dalet With Dagesh"
            ],
            "{out}"
        );
    }

    /// RFC 8785 appendix B: IEEE 754 doubles and their canonical text.
    #[test]
    fn jcs_numbers_match_rfc_8785_appendix_b() {
        for (bits, text) in [
            (0x0000_0000_0000_0000_u64, "0"),
            (0x8000_0000_0000_0000, "0"),
            (0x0000_0000_0000_0001, "5e-324"),
            (0x8000_0000_0000_0001, "-5e-324"),
            (0x7fef_ffff_ffff_ffff, "1.7976931348623157e+308"),
            (0xffef_ffff_ffff_ffff, "-1.7976931348623157e+308"),
            (0x4340_0000_0000_0000, "9007199254740992"),
            (0xc340_0000_0000_0000, "-9007199254740992"),
            (0x4430_0000_0000_0000, "295147905179352830000"),
            (0x44b5_2d02_c7e1_4af5, "9.999999999999997e+22"),
            (0x44b5_2d02_c7e1_4af6, "1e+23"),
            (0x44b5_2d02_c7e1_4af7, "1.0000000000000001e+23"),
            (0x444b_1ae4_d6e2_ef4e, "999999999999999700000"),
            (0x444b_1ae4_d6e2_ef4f, "999999999999999900000"),
            (0x444b_1ae4_d6e2_ef50, "1e+21"),
            (0x3eb0_c6f7_a0b5_ed8c, "9.999999999999997e-7"),
            (0x3eb0_c6f7_a0b5_ed8d, "0.000001"),
            (0x41b3_de43_5555_5553, "333333333.3333332"),
            (0x41b3_de43_5555_5554, "333333333.33333325"),
            (0x41b3_de43_5555_5555, "333333333.3333333"),
            (0x41b3_de43_5555_5556, "333333333.3333334"),
            (0x41b3_de43_5555_5557, "333333333.33333343"),
            (0xbecb_f647_612f_3696, "-0.0000033333333333333333"),
            (0x4314_3ff3_c1cb_0959, "1424953923781206.2"),
        ] {
            let n = f64::from_bits(bits);
            assert_eq!(serde_jcs::to_string(&n).unwrap(), text, "{bits:#018x}");
        }
        // NaN and infinities have no JSON form: refused, never written.
        assert!(serde_jcs::to_string(&f64::NAN).is_err());
        assert!(serde_jcs::to_string(&f64::INFINITY).is_err());
    }

    #[test]
    fn pruning_drops_what_a2a_verifiers_drop() {
        let v = json!({"a": "", "b": [], "c": {}, "d": null, "e": {"f": [""], "g": 0},
            "h": false, "i": [1, null]});
        assert_eq!(prune(v), Some(json!({"e": {"g": 0}, "h": false, "i": [1]})));
    }
}
