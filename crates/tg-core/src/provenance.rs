use serde::{Deserialize, Serialize};

/// Who stands behind one piece of behaviour evidence (DESIGN §15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Provenance {
    /// The agent's own account reported it.
    #[default]
    #[serde(rename = "self")]
    SelfReported,
    /// Another account reported it with the agent's gateway token, proving it dealt with
    /// the agent.
    #[serde(rename = "witnessed")]
    Witnessed,
    /// The outcome of a delegation the delegatee's account accepted, set by the delegator.
    #[serde(rename = "delegation")]
    Delegation,
}

impl Provenance {
    pub fn as_str(self) -> &'static str {
        match self {
            Provenance::SelfReported => "self",
            Provenance::Witnessed => "witnessed",
            Provenance::Delegation => "delegation",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "self" => Some(Provenance::SelfReported),
            "witnessed" => Some(Provenance::Witnessed),
            "delegation" => Some(Provenance::Delegation),
            _ => None,
        }
    }
}
