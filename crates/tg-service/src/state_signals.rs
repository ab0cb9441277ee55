//! The signals a transaction raises when it changes what decisions are made from: an
//! agent (its row or its score state), an account, an API key, or the policy. The store
//! hands them to [`crate::Store::on_commit`] hooks when (and only if) the transaction
//! commits and, on PostgreSQL, notifies every instance on the same channel as the events
//! (see `live_relay.rs`). Each instance's decision state evicts what they name.

/// Every state signal starts with this.
pub const STATE_SIGNAL: &str = "state:";
/// An instance's freshness probe, `ping:<instance>:<n>` (see `decision_state.rs`).
pub const PING_SIGNAL: &str = "ping:";

/// An agent or its score state changed.
pub fn agent_changed(id: &str) -> String {
    format!("{STATE_SIGNAL}agent:{id}")
}

/// An account changed (its plan or flags).
pub fn account_changed(id: &str) -> String {
    format!("{STATE_SIGNAL}account:{id}")
}

/// An API key changed (revoked).
pub fn key_changed(id: &str) -> String {
    format!("{STATE_SIGNAL}key:{id}")
}

/// A new policy version was saved.
pub fn policy_changed() -> String {
    format!("{STATE_SIGNAL}policy")
}

/// What a state signal names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Changed<'a> {
    Agent(&'a str),
    Account(&'a str),
    Key(&'a str),
    Policy,
}

/// Parses a state signal; `None` for anything else (including malformed ones, which the
/// caller treats as "anything may have changed").
pub(crate) fn parse(signal: &str) -> Option<Changed<'_>> {
    let rest = signal.strip_prefix(STATE_SIGNAL)?;
    if rest == "policy" {
        return Some(Changed::Policy);
    }
    let (kind, id) = rest.split_once(':')?;
    match kind {
        "agent" => Some(Changed::Agent(id)),
        "account" => Some(Changed::Account(id)),
        "key" => Some(Changed::Key(id)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_back_to_what_changed() {
        assert_eq!(
            parse(&agent_changed("agt_1")),
            Some(Changed::Agent("agt_1"))
        );
        assert_eq!(
            parse(&account_changed("acc_1")),
            Some(Changed::Account("acc_1"))
        );
        assert_eq!(parse(&key_changed("k1")), Some(Changed::Key("k1")));
        assert_eq!(parse(&policy_changed()), Some(Changed::Policy));
        assert_eq!(parse("state:weird"), None);
        assert_eq!(parse("msg_0001"), None);
    }
}
