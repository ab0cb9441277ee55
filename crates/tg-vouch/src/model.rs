use serde::Serialize;
use tg_core::{AgentId, Timestamp, VouchId};

/// One agent's vouch for another.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Vouch {
    pub id: VouchId,
    pub from_agent: AgentId,
    pub to_agent: AgentId,
    /// In (0, 1].
    pub weight: f64,
    pub note: Option<String>,
    /// The voucher's Ed25519 signature over [`signed_message`] (base64), when given.
    pub signature: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    /// Violations the vouchee committed while this vouch was active: they count against
    /// the voucher's credibility, even after the vouch is revoked.
    pub vouchee_violations: u64,
}

/// Which side of a vouch to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Received,
    Given,
}

impl Direction {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "received" => Some(Direction::Received),
            "given" => Some(Direction::Given),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VouchError {
    #[error("an agent cannot vouch for itself")]
    SelfVouch,
    #[error("`weight` must be a number in (0, 1]")]
    Weight,
    #[error("`note` must be at most {MAX_NOTE} characters without control characters")]
    Note,
}

pub const MAX_NOTE: usize = 500;

/// Checks a vouch's fields before anything is stored.
pub fn validate(
    from: &AgentId,
    to: &AgentId,
    weight: f64,
    note: Option<&str>,
) -> Result<(), VouchError> {
    if from == to {
        return Err(VouchError::SelfVouch);
    }
    if !(weight > 0.0 && weight <= 1.0) {
        return Err(VouchError::Weight);
    }
    if let Some(n) = note
        && (n.chars().count() > MAX_NOTE || n.chars().any(|c| c.is_control() && c != '\n'))
    {
        return Err(VouchError::Note);
    }
    Ok(())
}

pub const SIGNED_PREFIX: &[u8] = b"trust-gateway/vouch/v1\0";

/// What a voucher signs: `"trust-gateway/vouch/v1\0" ‖ from_agent ‖ "\0" ‖ to_agent ‖ "\0"
/// ‖ weight with exactly three decimals` (`0.500`, `1.000`: Rust `{:.3}`, Python `:.3f`).
pub fn signed_message(from: &AgentId, to: &AgentId, weight: f64) -> Vec<u8> {
    let mut m = SIGNED_PREFIX.to_vec();
    m.extend_from_slice(from.as_str().as_bytes());
    m.push(0);
    m.extend_from_slice(to.as_str().as_bytes());
    m.push(0);
    m.extend_from_slice(format!("{weight:.3}").as_bytes());
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_refuses_self_vouches_bad_weights_and_notes() {
        let (a, b) = (AgentId::generate(), AgentId::generate());
        assert_eq!(validate(&a, &a, 0.5, None), Err(VouchError::SelfVouch));
        for w in [0.0, -0.1, 1.0001, f64::NAN, f64::INFINITY] {
            assert_eq!(validate(&a, &b, w, None), Err(VouchError::Weight), "{w}");
        }
        assert_eq!(
            validate(&a, &b, 1.0, Some(&"x".repeat(501))),
            Err(VouchError::Note)
        );
        assert_eq!(
            validate(&a, &b, 1.0, Some("a\u{0}b")),
            Err(VouchError::Note)
        );
        assert_eq!(validate(&a, &b, 1.0, Some("line\nline")), Ok(()));
        assert_eq!(validate(&a, &b, 0.001, Some(&"é".repeat(500))), Ok(()));
    }

    #[test]
    fn the_signed_message_is_domain_separated_and_fixes_the_weight_format() {
        let a = AgentId::parse("ag_000000000000000000000001").unwrap();
        let b = AgentId::parse("ag_000000000000000000000002").unwrap();
        assert_eq!(
            signed_message(&a, &b, 0.5),
            b"trust-gateway/vouch/v1\0ag_000000000000000000000001\0ag_000000000000000000000002\x000.500"
        );
        assert!(signed_message(&a, &b, 1.0).ends_with(b"\x001.000"));
    }
}
