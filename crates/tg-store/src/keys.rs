use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use tg_core::{StoreError, Timestamp};
use tg_tokens::{SealedKey, SigningKeyStore};

use crate::conn::{DbTx, run};
use crate::schema::signing_keys;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
struct KeyRow {
    kid: String,
    slot: i32,
    alg: String,
    sealed: Vec<u8>,
    public_jwk: String,
    created_at: i64,
}

impl KeyRow {
    fn of(key: &SealedKey, slot: i32) -> Self {
        Self {
            kid: key.kid.clone(),
            slot,
            alg: key.alg.clone(),
            sealed: key.sealed.clone(),
            public_jwk: key.public_jwk.clone(),
            created_at: key.created_at.as_micros(),
        }
    }

    fn into_key(self) -> SealedKey {
        SealedKey {
            kid: self.kid,
            alg: self.alg,
            sealed: self.sealed,
            public_jwk: self.public_jwk,
            created_at: Timestamp::from_micros(self.created_at),
        }
    }
}

/// The first key takes slot 1; `UNIQUE(slot)` with `ON CONFLICT DO NOTHING` makes
/// "insert if none" atomic across instances.
const FIRST_SLOT: i32 = 1;

#[async_trait::async_trait]
impl SigningKeyStore for DbTx<'_> {
    async fn signing_keys(&mut self) -> Result<Vec<SealedKey>, StoreError> {
        let q = signing_keys::table.order(signing_keys::slot.asc());
        let rows: Vec<KeyRow> = run!(self, |c| q.load(c).await)?;
        Ok(rows.into_iter().map(KeyRow::into_key).collect())
    }

    async fn insert_signing_key_if_none(
        &mut self,
        key: &SealedKey,
    ) -> Result<SealedKey, StoreError> {
        let row = KeyRow::of(key, FIRST_SLOT);
        run!(self, |c| diesel::insert_into(signing_keys::table)
            .values(&row)
            .on_conflict(signing_keys::slot)
            .do_nothing()
            .execute(c)
            .await)?;
        let q = signing_keys::table.filter(signing_keys::slot.eq(FIRST_SLOT));
        let row: KeyRow = run!(self, |c| q.first(c).await)?;
        Ok(row.into_key())
    }

    async fn add_signing_key(&mut self, key: &SealedKey) -> Result<(), StoreError> {
        let q = signing_keys::table.select(diesel::dsl::max(signing_keys::slot));
        let last: Option<i32> = run!(self, |c| q.first(c).await)?;
        let row = KeyRow::of(key, last.unwrap_or(0).saturating_add(1));
        // `UNIQUE(slot)`: a concurrent rotation that took the slot makes this one conflict.
        run!(self, |c| diesel::insert_into(signing_keys::table)
            .values(&row)
            .execute(c)
            .await)?;
        Ok(())
    }

    async fn remove_signing_key(&mut self, kid: &str) -> Result<bool, StoreError> {
        let q = diesel::delete(signing_keys::table.filter(signing_keys::kid.eq(kid)));
        let n = run!(self, |c| q.execute(c).await)?;
        Ok(n > 0)
    }
}
