//! The live feed as use cases: who may watch, subscribe and hold a browser ticket. The
//! feed itself (`live::LiveFeed`) knows nothing of `Gateway`.

use serde_json::json;
use tg_access::{Principal, Scope};
use tg_audit::LiveEvent;
use tg_core::AccountId;

use crate::runtime::live::{KeyWatch, LiveSubscription};
use crate::{Gateway, ServiceError};

impl Gateway {
    /// Watches for the revocation of the key `principal` presented (for its dashboard).
    pub fn watch_key(&self, principal: &Principal) -> KeyWatch {
        self.live.watch_key(principal)
    }

    /// Subscribes a dashboard. Refused beyond [`crate::MAX_CLIENTS`] connections.
    pub fn subscribe_live(&self, principal: &Principal) -> Result<LiveSubscription, ServiceError> {
        self.require(principal, Scope::Read)?;
        let account = (!principal.is_operator()).then(|| principal.account_id.clone());
        self.live.subscribe(account)
    }

    /// Dashboards connected to this instance now.
    pub fn live_clients(&self) -> usize {
        self.live.clients()
    }
    /// `initial_stats`: V2's `/stats` fields (`total_agents`, `total_actions`,
    /// `agents_by_tier` as tier → agents, `recent_actions` in the last 24 h,
    /// `trust_score_distribution` by band), plus the status counts, the score distribution
    /// in tenths and `recent_events`: the receipts and denials this instance has seen lately
    /// (the account's only, for a non-admin key; totals are gateway-wide).
    pub async fn initial_stats(&self, account: Option<&AccountId>) -> Result<String, ServiceError> {
        let stats = self.stats().await?;
        let policy = self.policy().await?;
        let histogram = crate::reading(self.store.as_ref(), |tx| {
            Box::pin(async move { Ok(tx.score_histogram().await?) })
        })
        .await?;
        let recent = self.live.recent(account);
        let data = json!({
            "total_agents": stats.total_agents,
            "active_agents": stats.active_agents,
            "suspended_agents": stats.suspended_agents,
            "revoked_agents": stats.revoked_agents,
            "agents_by_tier": stats.tier_counts(),
            "total_receipts": stats.total_receipts,
            "total_actions": stats.total_receipts,
            "recent_actions": stats.recent_receipts,
            "trust_score_distribution": stats.by_band(&policy.policy.tiers),
            "average_score": stats.average_score,
            "score_distribution": histogram.iter().enumerate().map(|(i, n)| json!({"from": i as f64 / 10.0, "to": (i + 1) as f64 / 10.0, "agents": n})).collect::<Vec<_>>(),
            "recent_events": recent,
        });
        let message = LiveEvent {
            kind: "initial_stats".into(),
            timestamp: self.now(),
            data,
        };
        serde_json::to_string(&message)
            .map_err(|e| ServiceError::internal_because("a live message as JSON", e))
    }

    /// A single-use ticket a browser passes as `?ticket=` (it cannot set headers).
    pub fn issue_live_ticket(&self, principal: &Principal) -> Result<String, ServiceError> {
        self.require(principal, Scope::Read)?;
        self.live.issue_ticket(principal, self.now())
    }

    /// The principal a ticket was issued to, once, within its lifetime.
    pub fn redeem_live_ticket(&self, ticket: &str) -> Result<Principal, ServiceError> {
        self.live
            .redeem_ticket(ticket, self.now())
            .ok_or_else(|| ServiceError::Unauthorized("invalid or expired dashboard ticket".into()))
    }
}
