use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use tg_access::{AccessStore, Account, ApiKey, Plan, Scope};
use tg_core::{AccountId, StoreError, Timestamp};

use crate::conn::{Conn, DbTx, run};
use crate::error::{corrupt, store_error, touched};
use crate::receipts::hash32;
use crate::schema::{accounts, api_keys};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = accounts)]
struct AccountRow {
    id: String,
    name: String,
    plan: String,
    created_at: i64,
    lifts_operator_suspensions: bool,
}

impl AccountRow {
    fn into_account(self) -> Result<Account, StoreError> {
        Ok(Account {
            id: AccountId::parse(&self.id).map_err(|_| corrupt("account id", &self.id))?,
            plan: Plan::parse(&self.plan).ok_or_else(|| corrupt("plan", &self.plan))?,
            name: self.name,
            created_at: Timestamp::from_micros(self.created_at),
            lifts_operator_suspensions: self.lifts_operator_suspensions,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
struct KeyRow {
    id: String,
    account_id: String,
    prefix: String,
    hash: Vec<u8>,
    scope: String,
    created_at: i64,
    revoked_at: Option<i64>,
}

impl KeyRow {
    fn into_key(self) -> Result<ApiKey, StoreError> {
        Ok(ApiKey {
            account_id: AccountId::parse(&self.account_id)
                .map_err(|_| corrupt("account id", &self.account_id))?,
            hash: hash32("key hash", &self.hash)?,
            scope: Scope::parse(&self.scope).ok_or_else(|| corrupt("scope", &self.scope))?,
            id: self.id,
            prefix: self.prefix,
            created_at: Timestamp::from_micros(self.created_at),
            revoked_at: self.revoked_at.map(Timestamp::from_micros),
        })
    }
}

#[async_trait::async_trait]
impl AccessStore for DbTx<'_> {
    async fn insert_account(&mut self, a: &Account) -> Result<(), StoreError> {
        let row = AccountRow {
            id: a.id.to_string(),
            name: a.name.clone(),
            plan: a.plan.as_str().to_owned(),
            created_at: a.created_at.as_micros(),
            lifts_operator_suspensions: a.lifts_operator_suspensions,
        };
        run!(self, |c| diesel::insert_into(accounts::table)
            .values(&row)
            .execute(c)
            .await)?;
        Ok(())
    }

    async fn get_account(&mut self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        let q = accounts::table.find(id.as_str());
        let row: Option<AccountRow> = run!(self, |c| q.first(c).await.optional())?;
        row.map(AccountRow::into_account).transpose()
    }

    async fn account_by_name(&mut self, name: &str) -> Result<Option<Account>, StoreError> {
        let q = accounts::table.filter(accounts::name.eq(name));
        let row: Option<AccountRow> = run!(self, |c| q.first(c).await.optional())?;
        row.map(AccountRow::into_account).transpose()
    }

    async fn list_accounts(&mut self) -> Result<Vec<Account>, StoreError> {
        let q = accounts::table.order((accounts::created_at.asc(), accounts::id.asc()));
        let rows: Vec<AccountRow> = run!(self, |c| q.load(c).await)?;
        rows.into_iter().map(AccountRow::into_account).collect()
    }

    async fn update_account(&mut self, a: &Account) -> Result<(), StoreError> {
        let target = accounts::table.find(a.id.as_str());
        let n = run!(self, |c| diesel::update(target)
            .set((
                accounts::plan.eq(a.plan.as_str()),
                accounts::lifts_operator_suspensions.eq(a.lifts_operator_suspensions),
            ))
            .execute(c)
            .await)?;
        touched(n)?;
        self.changed(tg_service::state_signals::account_changed(a.id.as_str()));
        Ok(())
    }

    async fn insert_key(&mut self, k: &ApiKey) -> Result<(), StoreError> {
        let row = KeyRow {
            id: k.id.clone(),
            account_id: k.account_id.to_string(),
            prefix: k.prefix.clone(),
            hash: k.hash.to_vec(),
            scope: k.scope.as_str().to_owned(),
            created_at: k.created_at.as_micros(),
            revoked_at: k.revoked_at.map(Timestamp::as_micros),
        };
        run!(self, |c| diesel::insert_into(api_keys::table)
            .values(&row)
            .execute(c)
            .await)?;
        Ok(())
    }

    async fn get_key(&mut self, id: &str) -> Result<Option<ApiKey>, StoreError> {
        let q = api_keys::table.find(id);
        let row: Option<KeyRow> = run!(self, |c| q.first(c).await.optional())?;
        row.map(KeyRow::into_key).transpose()
    }

    async fn list_keys(&mut self, account: &AccountId) -> Result<Vec<ApiKey>, StoreError> {
        let q = api_keys::table
            .filter(api_keys::account_id.eq(account.as_str()))
            .order((api_keys::created_at.asc(), api_keys::id.asc()));
        let rows: Vec<KeyRow> = run!(self, |c| q.load(c).await)?;
        rows.into_iter().map(KeyRow::into_key).collect()
    }

    async fn revoke_key(&mut self, id: &str, at: Timestamp) -> Result<(), StoreError> {
        let target = api_keys::table
            .filter(api_keys::id.eq(id))
            .filter(api_keys::revoked_at.is_null());
        let n = run!(self, |c| diesel::update(target)
            .set(api_keys::revoked_at.eq(Some(at.as_micros())))
            .execute(c)
            .await)?;
        if n == 1 {
            self.changed(tg_service::state_signals::key_changed(id));
            // Every instance hears it on commit and closes the key's dashboards.
            if let Conn::Pg(c) = &mut self.conn {
                let signal = format!("{}{id}", tg_service::REVOKED_KEY_SIGNAL);
                let sent = crate::signals::notify(c, &[signal.as_str()])
                    .await
                    .map_err(store_error);
                self.poison(sent)?;
            }
            return Ok(());
        }
        // Revoking twice is harmless; revoking what does not exist is not.
        match self.get_key(id).await? {
            Some(_) => Ok(()),
            None => Err(StoreError::NotFound),
        }
    }
}
