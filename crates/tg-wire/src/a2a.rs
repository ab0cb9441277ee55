//! A2A v1.0 agent cards (`GET /agents/{id}/agent-card.json`) with the trust extension.

pub use tg_identity::a2a_card::{
    AgentCapabilities, AgentCard, AgentExtension, AgentInterface, AgentProvider, AgentSkill,
    TRUST_EXTENSION, TrustParams,
};
