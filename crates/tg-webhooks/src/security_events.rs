//! Shared Signals (OpenID SSF 1.0): which Security Event Token (RFC 8417) a gateway event
//! becomes on a stream, and its claims. Signing and pushing (RFC 8935) are the caller's.
//!
//! | gateway event | event types, preferred first |
//! |---|---|
//! | `tier_changed` | CAEP `assurance-level-change` |
//! | `agent_suspended` | RISC `account-disabled`, CAEP `session-revoked` |
//! | `agent_reactivated` | RISC `account-enabled` |
//! | `agent_revoked` | RISC `account-purged`, CAEP `session-revoked` |
//! | `token_revoked` | CAEP `session-revoked` (the token's `jti` as the session) |
//!
//! A stream gets one SET per gateway event (SSF: one event per SET): the first type of the
//! row it requested. The subject is the agent as tokens name it, `iss_sub` (RFC 9493) with
//! the gateway's issuer and the agent id.

use serde_json::{Map, Value, json};

use crate::{EventKind, OutboxEvent};

/// The one delivery method: push (RFC 8935).
pub const PUSH_DELIVERY: &str = "urn:ietf:rfc:8935";
/// The `typ` of every SET (RFC 8417 §2.3).
pub const SET_TYP: &str = "secevent+jwt";
/// The `Content-Type` of a pushed SET (RFC 8935 §2).
pub const SET_CONTENT_TYPE: &str = "application/secevent+jwt";
/// `namespace` of the levels in `assurance-level-change`: the gateway's trust tiers.
pub const TIER_NAMESPACE: &str = "urn:trust-gateway:tier";

pub const SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
pub const ASSURANCE_LEVEL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/assurance-level-change";
pub const ACCOUNT_DISABLED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/account-disabled";
pub const ACCOUNT_ENABLED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/account-enabled";
pub const ACCOUNT_PURGED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/account-purged";

/// `events_supported`.
pub const EVENTS_SUPPORTED: [&str; 5] = [
    SESSION_REVOKED,
    ASSURANCE_LEVEL_CHANGE,
    ACCOUNT_DISABLED,
    ACCOUNT_ENABLED,
    ACCOUNT_PURGED,
];

/// The event types `kind` can be sent as, preferred first (empty: never sent on a stream).
pub fn event_types(kind: EventKind) -> &'static [&'static str] {
    match kind {
        EventKind::TierChanged => &[ASSURANCE_LEVEL_CHANGE],
        EventKind::AgentSuspended => &[ACCOUNT_DISABLED, SESSION_REVOKED],
        EventKind::AgentReactivated => &[ACCOUNT_ENABLED],
        EventKind::AgentRevoked => &[ACCOUNT_PURGED, SESSION_REVOKED],
        EventKind::TokenRevoked => &[SESSION_REVOKED],
        _ => &[],
    }
}

/// The gateway events a stream requesting `requested` is sent.
pub fn kinds_for(requested: &[String]) -> Vec<EventKind> {
    EventKind::ALL
        .into_iter()
        .filter(|k| {
            event_types(*k)
                .iter()
                .any(|t| requested.iter().any(|r| r == t))
        })
        .collect()
}

/// `events_delivered`: the supported types among `requested`, in `requested`'s order.
pub fn events_delivered(requested: &[String]) -> Vec<String> {
    requested
        .iter()
        .filter(|r| EVENTS_SUPPORTED.contains(&r.as_str()))
        .cloned()
        .collect()
}

/// Where a SET goes and who signs it.
#[derive(Debug, Clone, Copy)]
pub struct SetContext<'a> {
    pub issuer: &'a str,
    /// `aud`: the receiver, as its stream's configuration names it.
    pub audience: &'a str,
    pub stream_id: &'a str,
}

/// The claims of the SET `event` becomes on a stream that requested `requested`; `None`
/// when it requested none of the event's types (or the event has none).
///
/// `jti` is the event id and the stream's, so every attempt at one delivery carries the
/// same `jti` (a receiver deduplicates on it); `txn` is the event id, the same on every
/// stream; `iat` and `event_timestamp` are when the change committed.
pub fn set_claims(event: &OutboxEvent, requested: &[String], cx: SetContext<'_>) -> Option<Value> {
    let event_type = event_types(event.kind)
        .iter()
        .find(|t| requested.iter().any(|r| r == *t))?;
    let payload: Value = serde_json::from_str(&event.payload).unwrap_or(Value::Null);
    let data = |name: &str| payload.get("data").and_then(|d| d.get(name));
    let agent = event.agent_id.as_ref()?;
    let at = event.created_at.as_micros().div_euclid(1_000_000);
    let user = json!({"format": "iss_sub", "iss": cx.issuer, "sub": agent.as_str()});
    let mut body = Map::new();
    body.insert("event_timestamp".into(), json!(at));
    let sub_id = match event.kind {
        EventKind::TierChanged => {
            let tier = |name| data(name).and_then(Value::as_u64);
            let (old, new) = (tier("old_tier"), tier("new_tier"));
            body.insert("namespace".into(), json!(TIER_NAMESPACE));
            body.insert("current_level".into(), json!(new?.to_string()));
            body.insert("previous_level".into(), json!(old?.to_string()));
            let direction = if new > old { "increase" } else { "decrease" };
            body.insert("change_direction".into(), json!(direction));
            body.insert("initiating_entity".into(), json!("policy"));
            user
        }
        EventKind::TokenRevoked => {
            body.insert("initiating_entity".into(), json!("admin"));
            let jti = data("jti").and_then(Value::as_str)?;
            json!({"format": "complex", "user": user, "session": {"format": "opaque", "id": jti}})
        }
        _ => {
            if *event_type == SESSION_REVOKED {
                body.insert("initiating_entity".into(), json!("admin"));
                if let Some(reason) = data("reason").and_then(Value::as_str) {
                    body.insert("reason_admin".into(), json!({"en": reason}));
                }
            }
            user
        }
    };
    Some(json!({
        "iss": cx.issuer,
        "aud": cx.audience,
        "iat": at,
        "jti": format!("{}-{}", event.id, cx.stream_id),
        "txn": event.id,
        "sub_id": sub_id,
        "events": {*event_type: body},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tg_core::{AccountId, AgentId, Timestamp};

    fn event(kind: EventKind, data: Value) -> OutboxEvent {
        OutboxEvent::new(
            kind,
            Some(AccountId::generate()),
            Some(AgentId::generate()),
            data,
            Timestamp::from_secs(1_700_000_000),
        )
    }

    const CX: SetContext<'static> = SetContext {
        issuer: "https://gw.example",
        audience: "acc_1",
        stream_id: "wh_1",
    };

    #[test]
    fn a_tier_drop_is_an_assurance_level_change_about_the_agent() {
        let e = event(
            EventKind::TierChanged,
            json!({"old_tier": 2, "new_tier": 1}),
        );
        let claims = set_claims(&e, &[ASSURANCE_LEVEL_CHANGE.into()], CX).unwrap();
        let body = &claims["events"][ASSURANCE_LEVEL_CHANGE];
        assert_eq!(body["current_level"], "1");
        assert_eq!(body["previous_level"], "2");
        assert_eq!(body["change_direction"], "decrease");
        assert_eq!(body["event_timestamp"], 1_700_000_000);
        assert_eq!(claims["sub_id"]["format"], "iss_sub");
        assert_eq!(claims["sub_id"]["sub"], e.agent_id.unwrap().as_str());
        assert_eq!(claims["jti"], format!("{}-wh_1", e.id));
        assert!(claims.get("sub").is_none() && claims.get("exp").is_none());
    }

    #[test]
    fn a_stream_gets_the_first_type_it_requested_or_nothing() {
        let e = event(EventKind::AgentSuspended, json!({"reason": "leak"}));
        let risc = set_claims(&e, &[SESSION_REVOKED.into(), ACCOUNT_DISABLED.into()], CX);
        assert!(risc.unwrap()["events"].get(ACCOUNT_DISABLED).is_some());
        let caep = set_claims(&e, &[SESSION_REVOKED.into()], CX).unwrap();
        assert_eq!(
            caep["events"][SESSION_REVOKED]["reason_admin"]["en"],
            "leak"
        );
        assert!(set_claims(&e, &[ASSURANCE_LEVEL_CHANGE.into()], CX).is_none());
        let other = event(EventKind::ReceiptRecorded, json!({}));
        assert!(set_claims(&other, &EVENTS_SUPPORTED.map(String::from), CX).is_none());
    }

    #[test]
    fn requested_types_choose_the_gateway_events() {
        assert_eq!(
            kinds_for(&[SESSION_REVOKED.into()]),
            [
                EventKind::AgentSuspended,
                EventKind::AgentRevoked,
                EventKind::TokenRevoked
            ]
        );
        assert!(kinds_for(&["https://example.com/unknown".into()]).is_empty());
        assert_eq!(
            events_delivered(&["x".into(), ACCOUNT_ENABLED.into()]),
            [ACCOUNT_ENABLED]
        );
    }
}
