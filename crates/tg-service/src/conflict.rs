//! Why a request cannot be carried out in the state things are in (409): one variant per
//! rule of an aggregate, so callers match on the rule and the client reads its message.

use tg_core::{AgentId, Unique};
use tg_delegation::OutcomeError;
use tg_identity::SpiffeId;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// An unrevoked agent already claims or holds the SPIFFE ID a registration names.
    #[error("spiffe_id `{0}` is already registered to an active agent")]
    SpiffeIdTaken(SpiffeId),
    /// Another agent proved the SPIFFE ID (an attestation that would claim it too).
    #[error("spiffe_id `{0}` is held by an agent that proved it")]
    SpiffeIdHeld(SpiffeId),
    /// The account already has an agent by that name.
    #[error("an agent named `{0}` already exists in this account")]
    AgentNameTaken(String),
    #[error("an account named `{0}` exists")]
    AccountNameTaken(String),
    /// The agent addressed is revoked, so nothing more is recorded for or about it.
    #[error("agent `{0}` is revoked")]
    AgentRevoked(AgentId),
    /// A status change asked of a revoked agent.
    #[error("agent `{0}` is revoked; revocation is final")]
    RevocationIsFinal(AgentId),
    /// Tokens are issued to active agents only.
    #[error("agent `{id}` is {status}: no token can be issued")]
    NoTokenWhile { id: AgentId, status: &'static str },
    /// Only an active agent vouches.
    #[error("agent `{id}` is {status} and cannot vouch")]
    CannotVouchWhile { id: AgentId, status: &'static str },
    /// A re-attestation raced a change of the agent's SPIFFE ID.
    #[error("the agent's spiffe_id changed during re-attestation; retry")]
    SpiffeIdChanged,
    /// A key-possession challenge for an agent without a registered key.
    #[error("register a public key first (`PUT /agents/{{id}}/public-key`)")]
    NoKeyToChallenge,
    /// A challenge answered by an agent whose key was removed meanwhile.
    #[error("the agent has no public key")]
    NoPublicKey,
    /// Read-your-writes asked for a state version the agent has not reached.
    #[error("agent `{id}` is at state version {at}; no state version {asked} has been written")]
    StateVersionAhead { id: AgentId, at: u64, asked: u64 },
    /// Webhook endpoints and signal streams share one limit per account.
    #[error("an account has at most {0} webhook endpoints and signal streams")]
    EndpointLimit(usize),
    #[error("the endpoint is disabled: enable it first")]
    EndpointDisabled,
    #[error("the delivery is being attempted right now")]
    DeliveryInFlight,
    /// The key that signs tokens now cannot be retired.
    #[error("signing key `{0}` signs tokens now: rotate, and retire it once the new key signs")]
    SigningKeyInUse(String),
    #[error("no trust bundle source is configured (set TRUST_BUNDLE_DIR)")]
    NoBundleSource,
    /// A delegation's outcome is recorded once, and a finished delegation is not accepted.
    #[error(transparent)]
    Delegation(OutcomeError),
    /// A uniqueness rule of the model that the use case did not word more closely.
    #[error("{0}")]
    Taken(Unique),
    /// A write the database refused (a foreign key, a serialisation failure), in its words.
    #[error("{0}")]
    Refused(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each rule answers the words it answered when conflicts were text.
    #[test]
    fn every_conflict_keeps_its_message() {
        let agent = || AgentId::parse("ag_9deeca233ed8ec80ce959c1f").unwrap();
        let spiffe = || SpiffeId::parse("spiffe://acme.example/agents/mail").unwrap();
        let a = "ag_9deeca233ed8ec80ce959c1f";
        let s = "spiffe://acme.example/agents/mail";
        for (conflict, message) in [
            (
                Conflict::SpiffeIdTaken(spiffe()),
                format!("spiffe_id `{s}` is already registered to an active agent"),
            ),
            (
                Conflict::SpiffeIdHeld(spiffe()),
                format!("spiffe_id `{s}` is held by an agent that proved it"),
            ),
            (
                Conflict::AgentNameTaken("mail".into()),
                "an agent named `mail` already exists in this account".into(),
            ),
            (
                Conflict::AccountNameTaken("acme".into()),
                "an account named `acme` exists".into(),
            ),
            (
                Conflict::AgentRevoked(agent()),
                format!("agent `{a}` is revoked"),
            ),
            (
                Conflict::RevocationIsFinal(agent()),
                format!("agent `{a}` is revoked; revocation is final"),
            ),
            (
                Conflict::NoTokenWhile {
                    id: agent(),
                    status: "suspended",
                },
                format!("agent `{a}` is suspended: no token can be issued"),
            ),
            (
                Conflict::CannotVouchWhile {
                    id: agent(),
                    status: "probation",
                },
                format!("agent `{a}` is probation and cannot vouch"),
            ),
            (
                Conflict::SpiffeIdChanged,
                "the agent's spiffe_id changed during re-attestation; retry".into(),
            ),
            (
                Conflict::NoKeyToChallenge,
                "register a public key first (`PUT /agents/{id}/public-key`)".into(),
            ),
            (Conflict::NoPublicKey, "the agent has no public key".into()),
            (
                Conflict::StateVersionAhead {
                    id: agent(),
                    at: 3,
                    asked: 7,
                },
                format!("agent `{a}` is at state version 3; no state version 7 has been written"),
            ),
            (
                Conflict::EndpointLimit(50),
                "an account has at most 50 webhook endpoints and signal streams".into(),
            ),
            (
                Conflict::EndpointDisabled,
                "the endpoint is disabled: enable it first".into(),
            ),
            (
                Conflict::DeliveryInFlight,
                "the delivery is being attempted right now".into(),
            ),
            (
                Conflict::SigningKeyInUse("k1".into()),
                "signing key `k1` signs tokens now: rotate, and retire it once the new key signs"
                    .into(),
            ),
            (
                Conflict::NoBundleSource,
                "no trust bundle source is configured (set TRUST_BUNDLE_DIR)".into(),
            ),
            (
                Conflict::Delegation(OutcomeError::AlreadyRecorded("del_1".into())),
                "the outcome of delegation `del_1` is already recorded".into(),
            ),
            (
                Conflict::Taken(Unique::AccountName),
                "an account already has the name".into(),
            ),
            (
                Conflict::Refused("FOREIGN KEY constraint failed".into()),
                "FOREIGN KEY constraint failed".into(),
            ),
        ] {
            assert_eq!(conflict.to_string(), message);
        }
    }
}
