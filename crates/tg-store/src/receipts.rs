use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use tg_core::{AccountId, AgentId, Outcome, ReceiptId, StoreError, Timestamp};
use tg_receipts::{ChainHead, HASH_LEN, Receipt, ReceiptStore, Witness};

use crate::conn::{DbTx, run};
use crate::error::corrupt;
use crate::pg_unnest::{Unnest, unnest};
use crate::schema::{log_entries, log_queue, receipts};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = receipts)]
// A `None` is bound as NULL (the columns have no other default): one SQL text for every
// row (see `conn::prepared_by_type`).
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct ReceiptRow {
    agent_id: String,
    seq: i64,
    id: String,
    action: String,
    result: String,
    ts: i64,
    reported_at: Option<i64>,
    prev_hash: Vec<u8>,
    receipt_hash: Vec<u8>,
    signature: Vec<u8>,
    key_id: String,
    witness_account: Option<String>,
    witness_token: Option<String>,
}

/// A receipt's row in the sequencer's queue (`log_queue`, migration 000021), inserted with
/// the receipt: the log integrates in `(ts, agent_id, seq)` order.
#[derive(Insertable)]
#[diesel(table_name = log_queue)]
// Every field bound as given: one SQL text for every row (see `conn::prepared_by_type`).
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct QueuedRow {
    ts: i64,
    agent_id: String,
    seq: i64,
}

impl QueuedRow {
    /// The rows as one PostgreSQL `INSERT … SELECT * FROM unnest(…)`.
    pub(crate) fn unnest(rows: Vec<Self>) -> Unnest {
        use diesel::sql_types::{BigInt, Text};
        unnest!(log_queue, rows, { ts: BigInt, agent_id: Text, seq: BigInt })
    }
}

/// A receipt's row with its log index, from `log_entries` (`None` until integrated).
type StoredRow = (ReceiptRow, Option<i64>);

/// `receipts` with each one's log entry, if it has one.
macro_rules! with_log_index {
    () => {
        receipts::table
            .left_join(
                log_entries::table.on(log_entries::agent_id
                    .eq(receipts::agent_id)
                    .and(log_entries::seq.eq(receipts::seq))),
            )
            .select((receipts::all_columns, log_entries::log_index.nullable()))
    };
}

pub(crate) fn hash32(what: &str, bytes: &[u8]) -> Result<[u8; HASH_LEN], StoreError> {
    bytes
        .try_into()
        .map_err(|_| corrupt(what, format!("{} bytes", bytes.len())))
}

pub(crate) fn seq_to_i64(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::other(format!("seq {seq} out of range")))
}

pub(crate) fn seq_from_i64(what: &str, seq: i64) -> Result<u64, StoreError> {
    u64::try_from(seq).map_err(|_| corrupt(what, seq))
}

impl ReceiptRow {
    pub(crate) fn from_receipt(r: &Receipt) -> Result<Self, StoreError> {
        Ok(Self {
            agent_id: r.agent_id.to_string(),
            seq: seq_to_i64(r.seq)?,
            id: r.id.to_string(),
            action: r.action.clone(),
            result: r.result.as_str().to_owned(),
            ts: r.timestamp.as_micros(),
            reported_at: r.reported_at.map(Timestamp::as_micros),
            prev_hash: r.prev_hash.to_vec(),
            receipt_hash: r.receipt_hash.to_vec(),
            signature: r.signature.to_vec(),
            key_id: r.key_id.clone(),
            witness_account: r.witness.as_ref().map(|w| w.account_id.to_string()),
            witness_token: r.witness.as_ref().map(|w| w.token_jti.clone()),
        })
    }

    /// Its row in the sequencer's queue.
    pub(crate) fn queued(&self) -> QueuedRow {
        QueuedRow {
            ts: self.ts,
            agent_id: self.agent_id.clone(),
            seq: self.seq,
        }
    }

    /// The rows as one PostgreSQL `INSERT … SELECT * FROM unnest(…)`.
    pub(crate) fn unnest(rows: Vec<Self>) -> Unnest {
        use diesel::sql_types::{BigInt, Binary, Nullable, Text};
        unnest!(receipts, rows, {
            agent_id: Text, seq: BigInt, id: Text, action: Text, result: Text, ts: BigInt,
            reported_at: Nullable<BigInt>, prev_hash: Binary, receipt_hash: Binary,
            signature: Binary, key_id: Text, witness_account: Nullable<Text>,
            witness_token: Nullable<Text>,
        })
    }

    fn into_receipt((row, log_index): StoredRow) -> Result<Receipt, StoreError> {
        let witness = match (row.witness_account, row.witness_token) {
            (None, None) => None,
            (Some(account), Some(token_jti)) => Some(Witness {
                account_id: AccountId::parse(&account)
                    .map_err(|_| corrupt("witness account", &account))?,
                token_jti,
            }),
            (a, t) => return Err(corrupt("receipt witness", format!("{a:?} / {t:?}"))),
        };
        Ok(Receipt {
            id: ReceiptId::parse(&row.id).map_err(|_| corrupt("receipt id", &row.id))?,
            agent_id: AgentId::parse(&row.agent_id)
                .map_err(|_| corrupt("agent id", &row.agent_id))?,
            seq: seq_from_i64("receipt seq", row.seq)?,
            result: Outcome::parse(&row.result)
                .ok_or_else(|| corrupt("receipt result", &row.result))?,
            action: row.action,
            timestamp: Timestamp::from_micros(row.ts),
            reported_at: row.reported_at.map(Timestamp::from_micros),
            prev_hash: hash32("prev_hash", &row.prev_hash)?,
            receipt_hash: hash32("receipt_hash", &row.receipt_hash)?,
            signature: hash32("signature", &row.signature)?,
            key_id: row.key_id,
            provenance: Witness::provenance_of(witness.as_ref()),
            witness,
            log_index: log_index
                .map(|i| seq_from_i64("log index", i))
                .transpose()?,
        })
    }
}

#[async_trait::async_trait]
impl ReceiptStore for DbTx<'_> {
    async fn receipt_head(&mut self, agent: &AgentId) -> Result<ChainHead, StoreError> {
        let q = receipts::table
            .filter(receipts::agent_id.eq(agent.as_str()))
            .order(receipts::seq.desc())
            .select((receipts::seq, receipts::receipt_hash));
        let row: Option<(i64, Vec<u8>)> = run!(self, |c| q.first(c).await.optional())?;
        match row {
            None => Ok(ChainHead::EMPTY),
            Some((seq, hash)) => Ok(ChainHead {
                seq: seq_from_i64("receipt seq", seq)?,
                hash: hash32("receipt_hash", &hash)?,
            }),
        }
    }

    async fn append_receipt(&mut self, receipt: &Receipt) -> Result<(), StoreError> {
        let row = ReceiptRow::from_receipt(receipt)?;
        let queued = row.queued();
        run!(self, |c| diesel::insert_into(receipts::table)
            .values(&row)
            .execute(c)
            .await)?;
        run!(self, |c| diesel::insert_into(log_queue::table)
            .values(&queued)
            .execute(c)
            .await)?;
        Ok(())
    }

    async fn list_receipts(
        &mut self,
        agent: &AgentId,
        limit: u32,
        before_seq: Option<u64>,
    ) -> Result<Vec<Receipt>, StoreError> {
        // Beyond any stored seq (even beyond i64) means "from the newest".
        let before = before_seq.map_or(i64::MAX, |s| i64::try_from(s).unwrap_or(i64::MAX));
        let q = with_log_index!()
            .filter(receipts::agent_id.eq(agent.as_str()))
            .filter(receipts::seq.lt(before))
            .order(receipts::seq.desc())
            .limit(i64::from(limit));
        let rows: Vec<StoredRow> = run!(self, |c| q.load(c).await)?;
        rows.into_iter().map(ReceiptRow::into_receipt).collect()
    }

    async fn scan_receipts(
        &mut self,
        agent: &AgentId,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<Receipt>, StoreError> {
        let q = with_log_index!()
            .filter(receipts::agent_id.eq(agent.as_str()))
            .filter(receipts::seq.gt(seq_to_i64(after_seq)?))
            .order(receipts::seq.asc())
            .limit(i64::from(limit));
        let rows: Vec<StoredRow> = run!(self, |c| q.load(c).await)?;
        rows.into_iter().map(ReceiptRow::into_receipt).collect()
    }

    async fn witnessed_reports(
        &mut self,
        agent: &AgentId,
        witness: &AccountId,
        token_jti: &str,
    ) -> Result<u64, StoreError> {
        let q = receipts::table
            .filter(receipts::agent_id.eq(agent.as_str()))
            .filter(receipts::witness_token.eq(token_jti.to_owned()))
            .filter(receipts::witness_account.eq(witness.as_str()))
            .count();
        let n: i64 = run!(self, |c| q.get_result(c).await)?;
        seq_from_i64("witnessed reports", n)
    }
}
