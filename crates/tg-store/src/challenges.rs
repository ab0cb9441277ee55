use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use tg_core::{AccountId, AgentId, StoreError, Timestamp};
use tg_identity::{AttestationNonce, Challenge, ChallengeStore, NonceStore};

use crate::conn::{DbTx, run};
use crate::receipts::seq_from_i64;
use crate::schema::{attestation_nonces, challenges};

#[derive(Queryable, Insertable)]
#[diesel(table_name = challenges)]
struct ChallengeRow {
    agent_id: String,
    nonce: String,
    created_at: i64,
    expires_at: i64,
}

#[async_trait::async_trait]
impl ChallengeStore for DbTx<'_> {
    async fn insert_challenge(&mut self, c: &Challenge) -> Result<(), StoreError> {
        let row = ChallengeRow {
            agent_id: c.agent_id.to_string(),
            nonce: c.nonce.clone(),
            created_at: c.created_at.as_micros(),
            expires_at: c.expires_at.as_micros(),
        };
        run!(self, |conn| diesel::insert_into(challenges::table)
            .values(&row)
            .execute(conn)
            .await)?;
        Ok(())
    }

    async fn purge_challenges(
        &mut self,
        agent: &AgentId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let expired = challenges::table
            .filter(challenges::agent_id.eq(agent.as_str()))
            .filter(challenges::expires_at.le(now.as_micros()));
        run!(self, |conn| diesel::delete(expired).execute(conn).await)?;
        Ok(())
    }

    async fn pending_challenges(&mut self, agent: &AgentId) -> Result<u64, StoreError> {
        let q = challenges::table
            .filter(challenges::agent_id.eq(agent.as_str()))
            .select(count_star());
        let n: i64 = run!(self, |conn| q.first(conn).await)?;
        seq_from_i64("count", n)
    }

    async fn take_challenge(
        &mut self,
        agent: &AgentId,
        nonce: &str,
    ) -> Result<Option<Challenge>, StoreError> {
        let target = challenges::table
            .filter(challenges::agent_id.eq(agent.as_str()))
            .filter(challenges::nonce.eq(nonce));
        let row: Option<ChallengeRow> = run!(self, |conn| target.first(conn).await.optional())?;
        let Some(row) = row else { return Ok(None) };
        // The delete decides who took it: under concurrency only one caller deletes the row.
        let deleted = run!(self, |conn| diesel::delete(target).execute(conn).await)?;
        if deleted == 0 {
            return Ok(None);
        }
        Ok(Some(Challenge {
            agent_id: agent.clone(),
            nonce: row.nonce,
            created_at: Timestamp::from_micros(row.created_at),
            expires_at: Timestamp::from_micros(row.expires_at),
        }))
    }
}

#[derive(Queryable, Insertable)]
#[diesel(table_name = attestation_nonces)]
struct NonceRow {
    nonce: String,
    account_id: String,
    expires_at: i64,
}

#[async_trait::async_trait]
impl NonceStore for DbTx<'_> {
    async fn insert_nonce(&mut self, n: &AttestationNonce) -> Result<(), StoreError> {
        let row = NonceRow {
            nonce: n.nonce.clone(),
            account_id: n.account_id.to_string(),
            expires_at: n.expires_at.as_micros(),
        };
        run!(self, |conn| diesel::insert_into(attestation_nonces::table)
            .values(&row)
            .execute(conn)
            .await)?;
        Ok(())
    }

    async fn purge_nonces(
        &mut self,
        account: &AccountId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let expired = attestation_nonces::table
            .filter(attestation_nonces::account_id.eq(account.as_str()))
            .filter(attestation_nonces::expires_at.le(now.as_micros()));
        run!(self, |conn| diesel::delete(expired).execute(conn).await)?;
        Ok(())
    }

    async fn pending_nonces(&mut self, account: &AccountId) -> Result<u64, StoreError> {
        let q = attestation_nonces::table
            .filter(attestation_nonces::account_id.eq(account.as_str()))
            .select(count_star());
        let n: i64 = run!(self, |conn| q.first(conn).await)?;
        seq_from_i64("count", n)
    }

    async fn take_nonce(
        &mut self,
        nonce: &str,
        account: &AccountId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let target = attestation_nonces::table
            .filter(attestation_nonces::nonce.eq(nonce))
            .filter(attestation_nonces::account_id.eq(account.as_str()));
        let row: Option<NonceRow> = run!(self, |conn| target.first(conn).await.optional())?;
        let Some(row) = row else { return Ok(false) };
        // The delete decides who took it: under concurrency only one caller deletes the row.
        let deleted = run!(self, |conn| diesel::delete(target).execute(conn).await)?;
        Ok(deleted == 1 && now < Timestamp::from_micros(row.expires_at))
    }
}
