//! The live feed behind `/ws/dashboard`: committed outbox events, published by the
//! delivery worker as it fans them out, to every connected dashboard of the right account.
//!
//! Each subscriber reads a bounded broadcast: one that falls more than [`FEED_CAPACITY`]
//! messages behind is told it lagged, and the WebSocket layer drops it — a slow client
//! never slows the server or the other clients.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tg_access::Principal;
use tg_audit::LiveEvent;
use tg_core::{AccountId, Timestamp};
use tg_webhooks::{EventKind, OutboxEvent};
use tokio::sync::broadcast;

use crate::ServiceError;

/// Messages a subscriber may fall behind before it is dropped.
/// (The delivery worker publishes at most 1000 events at once, so a client that keeps
/// reading never lags.)
pub const FEED_CAPACITY: usize = 4096;
/// Connected dashboards per instance.
pub const MAX_CLIENTS: usize = 1000;
/// Connected dashboards per account and instance (the operator's: up to [`MAX_CLIENTS`]),
/// so one tenant cannot take every slot.
pub const MAX_CLIENTS_PER_ACCOUNT: usize = 20;
/// How long a browser ticket stays valid, and how many may be pending.
pub const TICKET_TTL_SECS: i64 = 30;
const MAX_TICKETS: usize = 10_000;
/// Pending tickets per account, so one tenant cannot fill the pool for everyone.
pub const MAX_TICKETS_PER_ACCOUNT: usize = 100;
const RECENT: usize = 50;

/// One message for dashboards: a [`LiveEvent`] as text, and whose it is.
#[derive(Debug)]
pub struct LiveMessage {
    pub account_id: Option<AccountId>,
    pub text: String,
}

#[derive(Debug)]
pub(crate) struct LiveFeed {
    tx: broadcast::Sender<Arc<LiveMessage>>,
    recent: Mutex<VecDeque<(Option<AccountId>, LiveEvent)>>,
    tickets: Mutex<HashMap<String, (Principal, Timestamp)>>,
    /// Connected dashboards: in all, and by account (the operator's count in all only).
    slots: Arc<Mutex<Slots>>,
    /// Ids of API keys revoked on this instance: their dashboards close at once.
    revoked_keys: broadcast::Sender<String>,
}

#[derive(Debug, Default)]
struct Slots {
    total: usize,
    per_account: HashMap<AccountId, usize>,
}

/// One dashboard's hold on a slot (of the instance, and of its account unless it is the
/// operator's), given back when dropped.
#[derive(Debug)]
struct Slot {
    account: Option<AccountId>,
    slots: Arc<Mutex<Slots>>,
}

impl Slot {
    /// Takes a slot, or says why there is none.
    fn take(slots: &Arc<Mutex<Slots>>, account: Option<AccountId>) -> Result<Self, ServiceError> {
        let mut s = lock(slots);
        if s.total >= MAX_CLIENTS {
            return Err(ServiceError::unavailable(format!(
                "this instance already serves {MAX_CLIENTS} dashboards"
            )));
        }
        if let Some(a) = &account {
            let held = s.per_account.entry(a.clone()).or_insert(0);
            if *held >= MAX_CLIENTS_PER_ACCOUNT {
                return Err(ServiceError::TooMany(format!(
                    "this account already has {MAX_CLIENTS_PER_ACCOUNT} dashboards on this instance"
                )));
            }
            *held += 1;
        }
        s.total += 1;
        Ok(Self {
            account,
            slots: Arc::clone(slots),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut s = lock(&self.slots);
        s.total = s.total.saturating_sub(1);
        if let Some(account) = &self.account
            && let Some(held) = s.per_account.get_mut(account)
        {
            *held = held.saturating_sub(1);
            if *held == 0 {
                s.per_account.remove(account);
            }
        }
    }
}

/// A dashboard's subscription. Dropping it frees its connection slot.
#[derive(Debug)]
pub struct LiveSubscription {
    pub rx: broadcast::Receiver<Arc<LiveMessage>>,
    /// `None`: every account's events (admin keys).
    pub account: Option<AccountId>,
    _slot: Slot,
}

impl LiveSubscription {
    /// Whether a message is for this subscriber.
    pub fn wants(&self, m: &LiveMessage) -> bool {
        self.account.is_none() || m.account_id == self.account
    }
}

/// The dashboard name of an outbox event kind, for the kinds dashboards show.
fn dashboard_type(kind: EventKind) -> Option<&'static str> {
    match kind {
        EventKind::AgentRegistered => Some("agent_registered"),
        EventKind::ReceiptRecorded => Some("receipt_recorded"),
        EventKind::AuthorizationDenied => Some("auth_denied"),
        EventKind::TierChanged => Some("tier_changed"),
        EventKind::TrustChanged => Some("trust_changed"),
        _ => None,
    }
}

impl LiveFeed {
    pub(crate) fn new() -> Self {
        let (tx, _) = broadcast::channel(FEED_CAPACITY);
        Self {
            tx,
            recent: Mutex::new(VecDeque::new()),
            tickets: Mutex::new(HashMap::new()),
            slots: Arc::new(Mutex::new(Slots::default())),
            revoked_keys: broadcast::channel(64).0,
        }
    }

    /// Publishes committed events, in order.
    pub(crate) fn publish(&self, events: &[OutboxEvent]) {
        for e in events {
            let Some(kind) = dashboard_type(e.kind) else {
                continue;
            };
            let data = serde_json::from_str::<Value>(&e.payload)
                .ok()
                .and_then(|mut v| v.get_mut("data").map(Value::take))
                .unwrap_or(Value::Null);
            let message = LiveEvent {
                kind: kind.to_owned(),
                timestamp: e.created_at,
                data,
            };
            let Ok(text) = serde_json::to_string(&message) else {
                continue;
            };
            if matches!(
                e.kind,
                EventKind::ReceiptRecorded | EventKind::AuthorizationDenied
            ) {
                let mut recent = lock(&self.recent);
                recent.push_front((e.account_id.clone(), message.clone()));
                recent.truncate(RECENT);
            }
            // No subscriber is not an error.
            let _ = self.tx.send(Arc::new(LiveMessage {
                account_id: e.account_id.clone(),
                text,
            }));
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// The id (8 hex) of the `tgk_` key a principal presented, if it presented one.
fn key_id(principal: &Principal) -> Option<String> {
    principal
        .key_prefix
        .strip_prefix("tgk_")
        .filter(|id| id.len() == 8)
        .map(str::to_owned)
}

/// Tells a dashboard when the API key it was opened with is revoked on this instance.
#[derive(Debug)]
pub struct KeyWatch {
    key_id: Option<String>,
    rx: broadcast::Receiver<String>,
}

impl KeyWatch {
    /// Resolves when the key is revoked (or, failing closed, when revocations were missed).
    /// Never resolves for a key that cannot be revoked (`API_KEY` from the environment).
    pub async fn revoked(&mut self) {
        let Some(mine) = self.key_id.as_deref() else {
            return std::future::pending().await;
        };
        loop {
            match self.rx.recv().await {
                Ok(id) if id == mine => return,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => return,
                Err(broadcast::error::RecvError::Closed) => {
                    return std::future::pending().await;
                }
            }
        }
    }
}

impl LiveFeed {
    /// Watches for the revocation of the key `principal` presented.
    pub(crate) fn watch_key(&self, principal: &Principal) -> KeyWatch {
        KeyWatch {
            key_id: key_id(principal),
            rx: self.revoked_keys.subscribe(),
        }
    }

    /// A subscription to `account`'s events (every account's for `None`), holding one of
    /// the connection slots.
    pub(crate) fn subscribe(
        &self,
        account: Option<AccountId>,
    ) -> Result<LiveSubscription, ServiceError> {
        let slot = Slot::take(&self.slots, account.clone())?;
        Ok(LiveSubscription {
            rx: self.tx.subscribe(),
            account,
            _slot: slot,
        })
    }

    /// Dashboards connected now.
    pub(crate) fn clients(&self) -> usize {
        lock(&self.slots).total
    }

    /// The events seen lately: `account`'s, or every account's for `None`.
    pub(crate) fn recent(&self, account: Option<&AccountId>) -> Vec<LiveEvent> {
        lock(&self.recent)
            .iter()
            .filter(|(owner, _)| account.is_none() || owner.as_ref() == account)
            .map(|(_, m)| m.clone())
            .collect()
    }

    /// A single-use ticket for `principal`, valid [`TICKET_TTL_SECS`] from `now`.
    pub(crate) fn issue_ticket(
        &self,
        principal: &Principal,
        now: Timestamp,
    ) -> Result<String, ServiceError> {
        let mut tickets = lock(&self.tickets);
        tickets.retain(|_, (_, at)| now.as_micros() - at.as_micros() < TICKET_TTL_SECS * 1_000_000);
        let mine = tickets
            .values()
            .filter(|(p, _)| p.account_id == principal.account_id)
            .count();
        if mine >= MAX_TICKETS_PER_ACCOUNT && !principal.is_operator() {
            return Err(ServiceError::TooMany(format!(
                "this account holds {MAX_TICKETS_PER_ACCOUNT} unused dashboard tickets; use them or let them expire ({TICKET_TTL_SECS} s)"
            )));
        }
        if tickets.len() >= MAX_TICKETS {
            return Err(ServiceError::unavailable(
                "too many pending dashboard tickets",
            ));
        }
        let ticket = format!("wst_{}", tg_core::random_hex::<16>());
        tickets.insert(ticket.clone(), (principal.clone(), now));
        Ok(ticket)
    }

    /// The principal `ticket` was issued to, once, within its lifetime.
    pub(crate) fn redeem_ticket(&self, ticket: &str, now: Timestamp) -> Option<Principal> {
        let found = lock(&self.tickets).remove(ticket);
        match found {
            Some((p, at)) if now.as_micros() - at.as_micros() < TICKET_TTL_SECS * 1_000_000 => {
                Some(p)
            }
            _ => None,
        }
    }
}

impl LiveFeed {
    /// A key was revoked: its pending tickets are void and its dashboards close.
    pub(crate) fn key_revoked(&self, id: &str) {
        lock(&self.tickets).retain(|_, (p, _)| key_id(p).as_deref() != Some(id));
        let _ = self.revoked_keys.send(id.to_owned());
    }
}
