//! Accounts and their API keys (admin).

use serde_json::json;
use tg_access::{Account, ApiKey, NewKey, Plan, Principal, Scope};
use tg_audit::{Actor, AuditEvent, EventType};
use tg_core::AccountId;

use crate::{Conflict, Gateway, ServiceError, in_transaction, reading};

fn account_name(name: &str) -> Result<String, ServiceError> {
    let n = name.trim();
    let ok = !n.is_empty()
        && n.len() <= 64
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(n.to_owned())
    } else {
        Err(ServiceError::Invalid(
            "`name` must be 1–64 characters of A-Z, a-z, 0-9, `-`, `_`, `.`".into(),
        ))
    }
}

impl Gateway {
    /// The account an `admin` key may manage keys of: its own, or any for the operator.
    /// Another tenant's account answers 404, like an unknown one (no existence leak).
    fn administered(
        &self,
        principal: &Principal,
        account: &AccountId,
    ) -> Result<AccountId, ServiceError> {
        self.require(principal, Scope::Admin)?;
        if principal.sees(account) {
            Ok(account.clone())
        } else {
            Err(ServiceError::NotFound(format!(
                "account `{account}` not found"
            )))
        }
    }

    /// `POST /admin/accounts`.
    pub async fn create_account(
        &self,
        principal: &Principal,
        actor: &Actor,
        name: &str,
        plan: Plan,
    ) -> Result<Account, ServiceError> {
        self.require_operator(principal)?;
        let account = Account {
            id: AccountId::generate(),
            name: account_name(name)?,
            plan,
            created_at: self.now(),
            lifts_operator_suspensions: false,
        };
        let (a, actor) = (account.clone(), actor.clone());
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                tx.insert_account(&a).await.map_err(|e| match e {
                    tg_core::StoreError::Taken(tg_core::Unique::AccountName) => {
                        ServiceError::Conflict(Conflict::AccountNameTaken(a.name.clone()))
                    }
                    other => other.into(),
                })?;
                let details = json!({"account_id": a.id, "name": a.name, "plan": a.plan.as_str()});
                tx.append_audit(&AuditEvent::new(
                    EventType::PolicyChanged,
                    None,
                    json!({"changed": "account created", "after": details}),
                    &actor,
                    a.created_at,
                ))
                .await?;
                Ok(())
            })
        })
        .await?;
        Ok(account)
    }

    /// `PATCH /admin/accounts/{id}` (the operator): the plan, and whether the account's
    /// `admin` keys may lift the operator's suspensions of its agents. Audited.
    pub async fn update_account(
        &self,
        principal: &Principal,
        actor: &Actor,
        account: &AccountId,
        plan: Option<Plan>,
        lifts_operator_suspensions: Option<bool>,
    ) -> Result<Account, ServiceError> {
        self.require_operator(principal)?;
        let id = account.clone();
        let (actor, now) = (actor.clone(), self.now());
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let before = tx
                    .get_account(&id)
                    .await?
                    .ok_or_else(|| ServiceError::NotFound(format!("account `{id}` not found")))?;
                let mut after = before.clone();
                after.plan = plan.unwrap_or(before.plan);
                after.lifts_operator_suspensions =
                    lifts_operator_suspensions.unwrap_or(before.lifts_operator_suspensions);
                if after == before {
                    return Ok(after);
                }
                tx.update_account(&after).await?;
                let shown = |a: &Account| json!({"account_id": a.id, "plan": a.plan.as_str(), "lifts_operator_suspensions": a.lifts_operator_suspensions});
                tx.append_audit(&AuditEvent::new(
                    EventType::PolicyChanged,
                    None,
                    json!({"changed": "account settings", "before": shown(&before), "after": shown(&after)}),
                    &actor,
                    now,
                ))
                .await?;
                Ok(after)
            })
        })
        .await
    }

    /// `GET /admin/accounts`.
    pub async fn list_accounts(&self, principal: &Principal) -> Result<Vec<Account>, ServiceError> {
        self.require_operator(principal)?;
        reading(self.store.as_ref(), |tx| {
            Box::pin(async move { Ok(tx.list_accounts().await?) })
        })
        .await
    }

    /// `POST /admin/accounts/{id}/keys`: the plaintext is returned once, never stored.
    pub async fn create_key(
        &self,
        principal: &Principal,
        actor: &Actor,
        account: &AccountId,
        scope: Scope,
    ) -> Result<NewKey, ServiceError> {
        let account = self.administered(principal, account)?;
        let new = ApiKey::generate(account.clone(), scope, self.now());
        let (key, actor) = (new.key.clone(), actor.clone());
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                if tx.get_account(&account).await?.is_none() {
                    return Err(ServiceError::NotFound(format!("account `{account}` not found")));
                }
                tx.insert_key(&key).await?;
                let details = json!({"key_id": key.id, "prefix": key.prefix, "account_id": key.account_id, "scope": key.scope.as_str()});
                tx.append_audit(&AuditEvent::new(EventType::ApiKeyCreated, None, details, &actor, key.created_at)).await?;
                Ok(())
            })
        })
        .await?;
        Ok(new)
    }

    /// `GET /admin/accounts/{id}/keys`: prefixes only.
    pub async fn list_keys(
        &self,
        principal: &Principal,
        account: &AccountId,
    ) -> Result<Vec<ApiKey>, ServiceError> {
        let account = self.administered(principal, account)?;
        reading(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                if tx.get_account(&account).await?.is_none() {
                    return Err(ServiceError::NotFound(format!(
                        "account `{account}` not found"
                    )));
                }
                Ok(tx.list_keys(&account).await?)
            })
        })
        .await
    }

    /// `DELETE /admin/keys/{key_id}`: the key never authenticates again.
    pub async fn revoke_key(
        &self,
        principal: &Principal,
        actor: &Actor,
        key_id: &str,
    ) -> Result<(), ServiceError> {
        self.require(principal, Scope::Admin)?;
        let valid = key_id.len() == 8
            && key_id
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !valid {
            return Err(ServiceError::NotFound(format!(
                "key `{}` not found",
                key_id.chars().take(16).collect::<String>()
            )));
        }
        let (id, actor, now) = (key_id.to_owned(), actor.clone(), self.now());
        let key_id = id.clone();
        let principal = principal.clone();
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                // Another tenant's key is as absent as an unknown one.
                let visible = tx
                    .get_key(&key_id)
                    .await?
                    .is_some_and(|k| principal.sees(&k.account_id));
                if !visible {
                    return Err(ServiceError::NotFound(format!("key `{key_id}` not found")));
                }
                tx.revoke_key(&key_id, now).await?;
                tx.append_audit(&AuditEvent::new(
                    EventType::ApiKeyRevoked,
                    None,
                    json!({"key_id": key_id}),
                    &actor,
                    now,
                ))
                .await?;
                Ok(())
            })
        })
        .await?;
        // This instance's dashboards opened with the key close, its tickets die. (Other
        // instances' dashboards re-check nothing: they close when the client reconnects,
        // which needs a valid key; a ticket lives 30 s.)
        self.live.key_revoked(&id);
        Ok(())
    }
}
