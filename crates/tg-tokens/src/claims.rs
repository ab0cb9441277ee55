//! What the gateway's tokens and detached signatures are, and how checking them fails.

use serde::Serialize;
use serde_json::{Map, Value, json};

/// The `typ` of each kind of JWS the gateway signs (RFC 8725 §3.11, explicit typing), so
/// none can be taken for another: a card signature or an export statement with its
/// payload re-attached is not a token, and a statement is not a card's signature.
pub const TOKEN_TYP: &str = "JWT";

/// What a detached-payload JWS by the gateway vouches for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signed {
    /// An A2A `AgentCardSignature` (`typ: JOSE`, as A2A signs cards).
    A2aCard,
    /// A receipt or audit export statement.
    ExportStatement,
    /// A Security Event Token (RFC 8417 §2.3: `typ: secevent+jwt`), which no token check
    /// accepts as a token (`typ` differs, and it has no `exp` or `sub`).
    SecurityEvent,
}

impl Signed {
    pub const fn typ(self) -> &'static str {
        match self {
            Signed::A2aCard => "JOSE",
            Signed::ExportStatement => "trust-gateway-statement+jws",
            Signed::SecurityEvent => "secevent+jwt",
        }
    }
}

/// A JWS whose payload travels separately: `protected.<payload>.signature` is the compact
/// form a verifier rebuilds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachedJws {
    pub protected: String,
    pub signature: String,
}

/// The verified claims of a token.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenClaims {
    pub sub: String,
    pub name: Option<String>,
    pub tier: Option<u8>,
    pub trust_score: Option<f64>,
    pub permitted_actions: Vec<String>,
    pub iss: String,
    pub aud: Vec<String>,
    pub jti: String,
    pub iat: Option<i64>,
    pub exp: i64,
    /// `tg_epoch`: the agent's token generation when it was issued (0 when absent). The
    /// gateway voids every token of an older generation when it suspends or revokes the
    /// agent; offline verifiers cannot see that and rely on `exp`.
    pub epoch: u64,
    /// `tg_state_version`: the agent's state version the token was issued at (see
    /// `docs/API.md`); `None` for tokens issued before it was written. Send it as
    /// `min_state_version` to decide on a state at least as new as the token's.
    pub state_version: Option<u64>,
    /// `act` (RFC 8693 §4.1): who acts for `sub`, the current actor first and each earlier
    /// one after it. Empty for an agent's own token; set by token exchange.
    pub act: Vec<ActingAgent>,
    /// `tg_root_authority`: who began the delegation chain the actors act along (an agent
    /// id or `user:<name>`), when there are actors.
    pub root_authority: Option<String>,
    /// `tg_sources`: the `jti` of every gateway token this one was exchanged from. Revoking
    /// any of them voids this one too (online checks only).
    pub sources: Vec<String>,
    /// `cnf.jkt` (RFC 9449 §6.1): the thumbprint of the key the token is bound to. A bound
    /// token is used only with a DPoP proof by that key; bearer checks refuse it.
    pub cnf_jkt: Option<String>,
}

impl TokenClaims {
    /// The `act` claim as the token carries it (RFC 8693 §4.1); `None` without actors.
    pub fn act_claim(&self) -> Option<Value> {
        act_claim(&self.act)
    }
}

/// The nested `act` object of RFC 8693 §4.1: the current actor outermost.
pub(crate) fn act_claim(chain: &[ActingAgent]) -> Option<Value> {
    chain.iter().rev().fold(None, |inner, a| {
        let mut link = Map::new();
        link.insert("sub".into(), json!(a.sub));
        link.insert("tg_delegation".into(), json!(a.delegation_id));
        link.insert("tg_epoch".into(), json!(a.epoch));
        if let Some(inner) = inner {
            link.insert("act".into(), inner);
        }
        Some(Value::Object(link))
    })
}

/// One link of an `act` chain (RFC 8693 §4.1): an agent acting for the token's subject (or
/// for the actor before it), along an accepted delegation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActingAgent {
    /// The acting agent's id (`sub` of the `act` object).
    pub sub: String,
    /// `tg_delegation`: the accepted delegation that lets it act.
    pub delegation_id: String,
    /// `tg_epoch`: its token generation when the token was issued; a suspension of the
    /// actor voids the token as it voids the actor's own.
    pub epoch: u64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TokenError {
    #[error("signing key error: {0}")]
    Key(String),
    #[error("malformed token")]
    Malformed,
    #[error("token algorithm `{0}` is not accepted")]
    Algorithm(String),
    #[error("token key id is unknown")]
    UnknownKey,
    #[error("token signature does not verify")]
    Signature,
    #[error("token claim `{0}` is missing")]
    MissingClaim(&'static str),
    #[error("token claim `{0}` is invalid")]
    InvalidClaim(&'static str),
    #[error("token has expired")]
    Expired,
    #[error("token is not yet valid")]
    NotYetValid,
    /// The token is DPoP-bound (`cnf.jkt`) and was presented without a proof.
    #[error("the token is bound to a key (DPoP): present it with a DPoP proof")]
    ProofRequired,
    /// A DPoP proof was presented with a token that is not bound to its key.
    #[error("DPoP: {0}")]
    Dpop(#[from] crate::DpopError),
    /// The JWS is of another kind (its `typ`): e.g. a card signature presented as a token.
    #[error("JWS type `{0}` is not accepted here")]
    Type(String),
}
