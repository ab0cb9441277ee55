use serde::{Deserialize, Serialize};
use tg_core::{AccountId, AgentId, Timestamp};

use crate::{AttestationType, SpiffeId, VerificationLevel};

/// Lifecycle state. `Revoked` is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    Active,
    Suspended,
    Revoked,
}

impl AgentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Active => "active",
            AgentStatus::Suspended => "suspended",
            AgentStatus::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(AgentStatus::Active),
            "suspended" => Some(AgentStatus::Suspended),
            "revoked" => Some(AgentStatus::Revoked),
            _ => None,
        }
    }
}

/// Who suspended an agent: the operator's suspension binds its owner, who cannot lift it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SuspensionAuthor {
    /// The agent's own account.
    Owner,
    /// The gateway's operator.
    Operator,
}

impl SuspensionAuthor {
    pub fn as_str(self) -> &'static str {
        match self {
            SuspensionAuthor::Owner => "owner",
            SuspensionAuthor::Operator => "operator",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(SuspensionAuthor::Owner),
            "operator" => Some(SuspensionAuthor::Operator),
            _ => None,
        }
    }
}

/// The identity aggregate.
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    pub id: AgentId,
    pub account_id: AccountId,
    pub name: String,
    pub provider: String,
    pub spiffe_id: Option<SpiffeId>,
    /// The hash the agent last reported.
    pub config_hash: String,
    /// The hash an operator approved (at registration: the registered one).
    pub approved_config_hash: String,
    pub capabilities: Vec<String>,
    pub status: AgentStatus,
    /// Who suspended it, while it is suspended.
    pub suspended_by: Option<SuspensionAuthor>,
    pub verification_level: VerificationLevel,
    pub attestation_type: AttestationType,
    pub identity_strength: f64,
    /// When the attestation's evidence (an SVID) expires; after it the agent counts as
    /// `api_key`-attested (claimed) until it re-attests.
    pub attestation_expires_at: Option<Timestamp>,
    /// The agent's Ed25519 public key (PEM SPKI), if it registered one.
    pub public_key: Option<String>,
    /// When possession of `public_key` was last proven (cleared when the key changes).
    pub key_verified_at: Option<Timestamp>,
    /// How other agents reach it over A2A; without it no A2A card is published.
    pub a2a: Option<crate::A2aProfile>,
    /// The generation of the agent's tokens (their `tg_epoch` claim): moved on when the
    /// agent is suspended or revoked, so tokens from before stay dead after reactivation.
    pub token_epoch: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Agent {
    /// The attestation strength and level that count at `now`.
    pub fn effective_identity(&self, now: Timestamp) -> (f64, VerificationLevel) {
        let (strength, level) = match self.attestation_expires_at {
            Some(expiry) if now >= expiry => {
                let fallback = AttestationType::ApiKey;
                (
                    fallback.strength().min(self.identity_strength),
                    fallback.level().min(self.verification_level),
                )
            }
            _ => (self.identity_strength, self.verification_level),
        };
        // A proven Ed25519 key makes the agent at least `verified` (level 2).
        let level = if self.key_verified_at.is_some() {
            level.max(VerificationLevel::Verified)
        } else {
            level
        };
        (strength, level)
    }

    /// Badges (Joy §2.3): the verification level's badges and proof of possession.
    /// Whether the agent proved its SPIFFE ID (a JWT-SVID, or an X509-SVID whose key signed
    /// a gateway nonce): a holder blocks other registrations of the ID; an unproven claim
    /// blocks nothing and is superseded when a holder registers.
    pub fn holds_spiffe_id(&self) -> bool {
        self.spiffe_id.is_some() && self.attestation_type.holds_spiffe_id()
    }

    /// Whether a token of generation `epoch` predates the agent's last suspension or
    /// revocation, and so is void.
    pub fn token_predates_suspension(&self, epoch: u64) -> bool {
        epoch < self.token_epoch
    }

    pub fn badges(&self, now: Timestamp) -> Vec<String> {
        let (_, level) = self.effective_identity(now);
        let mut out = Vec::new();
        if level >= VerificationLevel::Claimed {
            out.push("claimed");
        }
        if level >= VerificationLevel::Verified {
            out.push("verified");
        }
        if level >= VerificationLevel::Certified {
            out.push("certified");
        }
        if self.key_verified_at.is_some() {
            out.push("key_verified");
        }
        out.into_iter().map(str::to_owned).collect()
    }
}

/// A registration request, validated ("parse, don't validate").
#[derive(Debug, Clone, PartialEq)]
pub struct NewAgent {
    pub name: String,
    pub provider: String,
    pub spiffe_id: Option<SpiffeId>,
    pub config_hash: String,
    pub capabilities: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NewAgentError {
    #[error("`{field}` must be 1–{max} characters without control characters")]
    BadText { field: &'static str, max: usize },
    #[error("at most {max} capabilities are allowed")]
    TooManyCapabilities { max: usize },
    #[error("invalid `spiffe_id`: {0}")]
    SpiffeId(#[from] crate::SpiffeIdError),
}

pub const MAX_NAME: usize = 128;
pub const MAX_PROVIDER: usize = 64;
pub const MAX_CONFIG_HASH: usize = 256;
pub const MAX_CAPABILITY: usize = 64;
pub const MAX_CAPABILITIES: usize = 64;

impl NewAgent {
    pub fn parse(
        name: &str,
        provider: &str,
        spiffe_id: Option<&str>,
        config_hash: &str,
        capabilities: &[String],
    ) -> Result<Self, NewAgentError> {
        let name = text("name", name, MAX_NAME)?;
        let provider = text("provider", provider, MAX_PROVIDER)?;
        let config_hash = text("config_hash", config_hash, MAX_CONFIG_HASH)?;
        if capabilities.len() > MAX_CAPABILITIES {
            return Err(NewAgentError::TooManyCapabilities {
                max: MAX_CAPABILITIES,
            });
        }
        let mut caps = Vec::with_capacity(capabilities.len());
        for c in capabilities {
            let c = text("capabilities", c, MAX_CAPABILITY)?;
            if !caps.contains(&c) {
                caps.push(c);
            }
        }
        let spiffe_id = spiffe_id.map(SpiffeId::parse).transpose()?;
        Ok(Self {
            name,
            provider,
            spiffe_id,
            config_hash,
            capabilities: caps,
        })
    }
}

fn text(field: &'static str, value: &str, max: usize) -> Result<String, NewAgentError> {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed.chars().count() > max || trimmed.chars().any(char::is_control)
    {
        return Err(NewAgentError::BadText { field, max });
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_fields_are_bounded() {
        let caps = vec!["send_email".to_owned(), "send_email".to_owned()];
        let ok = NewAgent::parse(
            " email-bot ",
            "openai",
            Some("spiffe://example.org/a"),
            "abc",
            &caps,
        );
        let ok = ok.map(|a| (a.name, a.capabilities));
        assert_eq!(
            ok,
            Ok(("email-bot".to_owned(), vec!["send_email".to_owned()]))
        );

        let err =
            |r: Result<NewAgent, NewAgentError>| r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err(NewAgent::parse("", "p", None, "h", &[])).contains("`name`"));
        assert!(err(NewAgent::parse(&"x".repeat(129), "p", None, "h", &[])).contains("`name`"));
        assert!(err(NewAgent::parse("a\u{0}b", "p", None, "h", &[])).contains("`name`"));
        assert!(
            err(NewAgent::parse("a", "p", Some("spiffe://EX"), "h", &[])).contains("spiffe_id")
        );
        let many: Vec<String> = (0..65).map(|i| format!("c{i}")).collect();
        assert!(err(NewAgent::parse("a", "p", None, "h", &many)).contains("at most 64"));
    }
}
