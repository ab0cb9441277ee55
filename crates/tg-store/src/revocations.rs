use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use tg_core::{StoreError, Timestamp};
use tg_tokens::{RevocationStore, RevokedToken};

use crate::conn::{DbTx, run};
use crate::schema::revoked_tokens;

#[derive(Queryable, Insertable)]
#[diesel(table_name = revoked_tokens)]
struct RevokedRow {
    jti: String,
    agent_id: String,
    revoked_at: i64,
    expires_at: i64,
}

#[async_trait::async_trait]
impl RevocationStore for DbTx<'_> {
    async fn revoke_token(&mut self, t: &RevokedToken) -> Result<bool, StoreError> {
        let row = RevokedRow {
            jti: t.jti.clone(),
            agent_id: t.agent_id.to_string(),
            revoked_at: t.revoked_at.as_micros(),
            expires_at: t.expires_at.as_micros(),
        };
        let inserted = run!(self, |c| diesel::insert_into(revoked_tokens::table)
            .values(&row)
            .on_conflict_do_nothing()
            .execute(c)
            .await)?;
        Ok(inserted > 0)
    }

    async fn first_revoked(&mut self, jtis: &[&str]) -> Result<Option<String>, StoreError> {
        match jtis {
            [] => Ok(None),
            // One `jti`, the usual case, as a cached prepared statement.
            [jti] => {
                let q = revoked_tokens::table.find(*jti).select(revoked_tokens::jti);
                run!(self, |c| q.first(c).await.optional())
            }
            _ => {
                let q = revoked_tokens::table
                    .filter(revoked_tokens::jti.eq_any(jtis))
                    .select(revoked_tokens::jti);
                run!(self, |c| q.first(c).await.optional())
            }
        }
    }

    async fn purge_revoked_tokens(&mut self, now: Timestamp) -> Result<(), StoreError> {
        let expired = revoked_tokens::table.filter(revoked_tokens::expires_at.lt(now.as_micros()));
        run!(self, |c| diesel::delete(expired).execute(c).await)?;
        Ok(())
    }
}
