use diesel::dsl::max;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;
use tg_core::{AgentId, StoreError, Timestamp};
use tg_log::tiles::{tile_bytes, tile_hashes};
use tg_log::{Hash, LogEntry, LogKey, LogStore, StoredCheckpoint, TileId, Tiles};

use crate::conn::{Conn, DbTx, insert_rows, run};
use crate::error::{corrupt, store_error};
use crate::pg_unnest::{Unnest, unnest};
use crate::receipts::{hash32, seq_from_i64, seq_to_i64};
use crate::schema::{
    log_checkpoints, log_cosignatures, log_entries, log_keys, log_queue, log_tiles, receipts,
};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = log_entries)]
// Every field bound as given: one SQL text for every row (see `conn::prepared_by_type`).
#[diesel(treat_none_as_default_value = false)]
struct EntryRow {
    log_index: i64,
    agent_id: String,
    seq: i64,
    receipt_hash: Vec<u8>,
    leaf_hash: Vec<u8>,
    /// `leaf_hash`'s first 8 bytes (migration 000019): what the lookup by leaf hash indexes.
    leaf_key: i64,
}

/// A leaf hash's first 8 bytes as a big-endian signed integer (migration 000019 computes
/// the same in SQL for rows stored before it).
pub(crate) fn leaf_key(leaf_hash: &Hash) -> i64 {
    let [a, b, c, d, e, f, g, h, ..] = *leaf_hash;
    i64::from_be_bytes([a, b, c, d, e, f, g, h])
}

/// Leaves per epoch of the leaf-hash index (migration 000025), as a literal so that the
/// number and the SQL expression below are one.
macro_rules! leaf_epoch {
    () => {
        65536
    };
}
/// Leaves per epoch: the index leads with [`EPOCH_OF`], so new leaves are written among
/// the current epoch's only.
const LEAF_EPOCH: u64 = leaf_epoch!();
/// A leaf's epoch, written as the index's expression is (migration 000025), so both
/// stores match the lookup's filter to the index.
pub(crate) const EPOCH_OF: &str = concat!("log_index / ", leaf_epoch!());

/// The epochs holding the first `size` leaves: 0 ..= (size - 1) / [`LEAF_EPOCH`].
pub(crate) fn epochs_below(size: u64) -> Result<Vec<i64>, StoreError> {
    let last = seq_to_i64(size.saturating_sub(1) / LEAF_EPOCH)?;
    Ok((0..=last).collect())
}

/// The lookup by leaf hash: the epochs' probes and the key in the index, then the full
/// hash, which picks the leaf among any sharing the key. A macro so that the plan tests
/// explain this very query (`db/leaf_index_tests.rs`).
macro_rules! leaf_lookup {
    ($epochs:expr, $leaf_hash:expr) => {
        $crate::schema::log_entries::table
            .filter(
                diesel::dsl::sql::<diesel::sql_types::BigInt>($crate::log::EPOCH_OF)
                    .eq_any($epochs),
            )
            .filter($crate::schema::log_entries::leaf_key.eq($crate::log::leaf_key($leaf_hash)))
            .filter($crate::schema::log_entries::leaf_hash.eq($leaf_hash.to_vec()))
            .select($crate::schema::log_entries::log_index)
    };
}
#[cfg(test)]
pub(crate) use leaf_lookup;

/// A queued receipt as the queue read answers it (by name on PostgreSQL, by position on
/// SQLite).
#[derive(Queryable, QueryableByName)]
struct QueuedReceipt {
    #[diesel(sql_type = diesel::sql_types::Text)]
    agent_id: String,
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::Binary)]
    receipt_hash: Vec<u8>,
}

impl EntryRow {
    /// The rows as one PostgreSQL `INSERT … SELECT * FROM unnest(…)`.
    fn unnest(rows: Vec<Self>) -> Unnest {
        use diesel::sql_types::{Binary, Text};
        unnest!(log_entries, rows, {
            log_index: BigInt, agent_id: Text, seq: BigInt, receipt_hash: Binary,
            leaf_hash: Binary, leaf_key: BigInt,
        })
    }

    fn into_entry(self) -> Result<LogEntry, StoreError> {
        Ok(LogEntry {
            agent_id: AgentId::parse(&self.agent_id)
                .map_err(|_| corrupt("agent id", &self.agent_id))?,
            seq: seq_from_i64("log entry seq", self.seq)?,
            receipt_hash: hash32("log entry", &self.receipt_hash)?,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = log_checkpoints)]
struct CheckpointRow {
    size: i64,
    root: Vec<u8>,
    note: String,
    created_at: i64,
}

impl CheckpointRow {
    fn into_checkpoint(self) -> Result<StoredCheckpoint, StoreError> {
        Ok(StoredCheckpoint {
            size: seq_from_i64("checkpoint size", self.size)?,
            root: hash32("checkpoint root", &self.root)?,
            note: self.note,
            created_at: Timestamp::from_micros(self.created_at),
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = log_keys)]
struct KeyRow {
    key_id: String,
    sealed: Vec<u8>,
    public_key: Vec<u8>,
    created_at: i64,
}

impl KeyRow {
    fn of(k: &LogKey) -> Self {
        Self {
            key_id: k.key_id.clone(),
            sealed: k.sealed.clone(),
            public_key: k.public_key.to_vec(),
            created_at: k.created_at.as_micros(),
        }
    }

    fn into_key(self) -> Result<LogKey, StoreError> {
        Ok(LogKey {
            public_key: hash32("log public key", &self.public_key)?,
            key_id: self.key_id,
            sealed: self.sealed,
            created_at: Timestamp::from_micros(self.created_at),
        })
    }
}

fn level_of(level: i32) -> Result<u8, StoreError> {
    u8::try_from(level).map_err(|_| corrupt("tile level", level))
}

#[async_trait::async_trait]
impl LogStore for DbTx<'_> {
    async fn unlogged_receipts(&mut self, limit: u32) -> Result<Vec<LogEntry>, StoreError> {
        let rows = match &mut self.conn {
            // Each receipt's hash by its own key, looked up per queued row: a subquery with
            // a `LIMIT` is never merged into the join, so the plan cannot turn into a hash
            // join over every receipt (which a fresh table's small row estimate chose,
            // docs/PERFORMANCE.md).
            Conn::Pg(c) => {
                diesel::sql_query(
                    "SELECT q.agent_id, q.seq, r.receipt_hash FROM \
                 (SELECT ts, agent_id, seq FROM log_queue ORDER BY ts, agent_id, seq LIMIT $1) q \
                 CROSS JOIN LATERAL (SELECT receipt_hash FROM receipts \
                 WHERE agent_id = q.agent_id AND seq = q.seq LIMIT 1) r \
                 ORDER BY q.ts, q.agent_id, q.seq",
                )
                .bind::<BigInt, _>(i64::from(limit))
                .load::<QueuedReceipt>(&mut **c)
                .await
            }
            // SQLite looks each receipt up by its key in this join.
            Conn::Sqlite(c) => {
                log_queue::table
                    .inner_join(
                        receipts::table.on(receipts::agent_id
                            .eq(log_queue::agent_id)
                            .and(receipts::seq.eq(log_queue::seq))),
                    )
                    .order((
                        log_queue::ts.asc(),
                        log_queue::agent_id.asc(),
                        log_queue::seq.asc(),
                    ))
                    .select((log_queue::agent_id, log_queue::seq, receipts::receipt_hash))
                    .limit(i64::from(limit))
                    .load::<QueuedReceipt>(&mut **c)
                    .await
            }
        }
        .map_err(store_error);
        let rows = self.poison(rows)?;
        rows.into_iter()
            .map(|q| {
                EntryRow {
                    log_index: 0,
                    agent_id: q.agent_id,
                    seq: q.seq,
                    receipt_hash: q.receipt_hash,
                    leaf_hash: Vec::new(),
                    leaf_key: 0,
                }
                .into_entry()
            })
            .collect()
    }

    async fn append_log_entries(
        &mut self,
        first: u64,
        entries: &[LogEntry],
    ) -> Result<(), StoreError> {
        let first = seq_to_i64(first)?;
        let mut rows = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let leaf = tg_log::leaf_hash(&e.receipt_hash);
            rows.push(EntryRow {
                log_index: first + seq_to_i64(i as u64)?,
                agent_id: e.agent_id.to_string(),
                seq: seq_to_i64(e.seq)?,
                receipt_hash: e.receipt_hash.to_vec(),
                leaf_hash: leaf.to_vec(),
                leaf_key: leaf_key(&leaf),
            });
        }
        insert_rows!(self, log_entries::table, EntryRow, rows)?;
        let end = first + seq_to_i64(entries.len() as u64)?;
        // One statement takes the entries' receipts off the queue, by the queue's key (its
        // `ts` from the receipt). Row values `IN` on SQLite: ≥ 3.15.
        let sql = match self.conn {
            // The batch's entries by index, then each one's receipt and its queue row by
            // their keys (subqueries with a `LIMIT`, never merged into a join), and the
            // rows deleted where they lie. As an `IN` over the queue's key, the plan
            // followed the queue's statistics, which swing with each vacuum: a hash join
            // over the whole queue, dead rows included, or a probe of the log for every
            // queued row (docs/PERFORMANCE.md, thirty-eighth session).
            Conn::Pg(_) => {
                "DELETE FROM log_queue WHERE ctid = ANY(ARRAY(\
                 SELECT q.ctid FROM log_entries e CROSS JOIN LATERAL \
                 (SELECT ts FROM receipts WHERE agent_id = e.agent_id AND seq = e.seq LIMIT 1) r \
                 CROSS JOIN LATERAL (SELECT ctid FROM log_queue \
                 WHERE ts = r.ts AND agent_id = e.agent_id AND seq = e.seq LIMIT 1) q \
                 WHERE e.log_index >= $1 AND e.log_index < $2))"
            }
            Conn::Sqlite(_) => {
                "DELETE FROM log_queue WHERE (ts, agent_id, seq) IN (\
                 SELECT r.ts, r.agent_id, r.seq FROM log_entries e JOIN receipts r \
                 ON r.agent_id = e.agent_id AND r.seq = e.seq \
                 WHERE e.log_index >= ?1 AND e.log_index < ?2)"
            }
        };
        let dequeued = run!(self, |c| diesel::sql_query(sql)
            .bind::<BigInt, _>(first)
            .bind::<BigInt, _>(end)
            .execute(c)
            .await)?;
        if dequeued != entries.len() {
            return self.poison(Err(StoreError::Conflict(format!(
                "{} of {} receipts were still queued for the log",
                dequeued,
                entries.len()
            ))));
        }
        Ok(())
    }

    async fn log_entries(&mut self, from: u64, limit: u32) -> Result<Vec<LogEntry>, StoreError> {
        let q = log_entries::table
            .filter(log_entries::log_index.ge(seq_to_i64(from)?))
            .order(log_entries::log_index.asc())
            .limit(i64::from(limit));
        let rows: Vec<EntryRow> = run!(self, |c| q.load(c).await)?;
        rows.into_iter().map(EntryRow::into_entry).collect()
    }

    async fn put_tiles(&mut self, tiles: &[(TileId, Vec<Hash>)]) -> Result<(), StoreError> {
        for (id, hashes) in tiles {
            let row = (
                log_tiles::level.eq(i32::from(id.level)),
                log_tiles::idx.eq(seq_to_i64(id.index)?),
                log_tiles::hashes.eq(tile_bytes(hashes)),
            );
            run!(self, |c| diesel::insert_into(log_tiles::table)
                .values(row.clone())
                .on_conflict((log_tiles::level, log_tiles::idx))
                .do_update()
                .set(log_tiles::hashes.eq(excluded(log_tiles::hashes)))
                .execute(c)
                .await)?;
        }
        Ok(())
    }

    async fn tiles(&mut self, ids: &[TileId]) -> Result<Tiles, StoreError> {
        let mut out = Tiles::default();
        if ids.is_empty() {
            return Ok(out);
        }
        let mut keys = Vec::with_capacity(ids.len());
        for id in ids {
            keys.push((i32::from(id.level), seq_to_i64(id.index)?));
        }
        // One statement for every tile asked (a proof reads one or two per tile level).
        let rows: Vec<(i32, i64, Vec<u8>)> = run!(self, |c| {
            let mut q = log_tiles::table
                .select((log_tiles::level, log_tiles::idx, log_tiles::hashes))
                .into_boxed();
            for (level, idx) in &keys {
                q = q.or_filter(log_tiles::level.eq(*level).and(log_tiles::idx.eq(*idx)));
            }
            q.load(c).await
        })?;
        for (level, idx, bytes) in rows {
            let id = TileId {
                level: level_of(level)?,
                index: seq_from_i64("tile index", idx)?,
            };
            let hashes = tile_hashes(&bytes).ok_or_else(|| corrupt("tile", bytes.len()))?;
            out.0.insert(id, hashes);
        }
        Ok(out)
    }

    async fn add_checkpoint(&mut self, checkpoint: &StoredCheckpoint) -> Result<(), StoreError> {
        let row = CheckpointRow {
            size: seq_to_i64(checkpoint.size)?,
            root: checkpoint.root.to_vec(),
            note: checkpoint.note.clone(),
            created_at: checkpoint.created_at.as_micros(),
        };
        run!(self, |c| diesel::insert_into(log_checkpoints::table)
            .values(&row)
            .execute(c)
            .await)?;
        Ok(())
    }

    async fn latest_checkpoint(&mut self) -> Result<Option<StoredCheckpoint>, StoreError> {
        let q = log_checkpoints::table.order(log_checkpoints::size.desc());
        let row: Option<CheckpointRow> = run!(self, |c| q.first(c).await.optional())?;
        row.map(CheckpointRow::into_checkpoint).transpose()
    }

    async fn checkpoint_at(&mut self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
        let q = log_checkpoints::table.find(seq_to_i64(size)?);
        let row: Option<CheckpointRow> = run!(self, |c| q.first(c).await.optional())?;
        row.map(CheckpointRow::into_checkpoint).transpose()
    }

    async fn agent_log_head(
        &mut self,
        agent: &AgentId,
    ) -> Result<Option<(u64, u64, Hash)>, StoreError> {
        let q = log_entries::table
            .filter(log_entries::agent_id.eq(agent.as_str()))
            .order(log_entries::seq.desc())
            .select((
                log_entries::seq,
                log_entries::log_index,
                log_entries::receipt_hash,
            ));
        let row: Option<(i64, i64, Vec<u8>)> = run!(self, |c| q.first(c).await.optional())?;
        row.map(|(seq, index, hash)| {
            Ok((
                seq_from_i64("log entry seq", seq)?,
                seq_from_i64("log index", index)?,
                hash32("log entry", &hash)?,
            ))
        })
        .transpose()
    }

    async fn agent_log_indexes(
        &mut self,
        agent: &AgentId,
        after: u64,
        through: u64,
        size: u64,
        limit: u32,
    ) -> Result<Vec<(u64, u64)>, StoreError> {
        let q = log_entries::table
            .filter(log_entries::agent_id.eq(agent.as_str()))
            .filter(log_entries::seq.gt(seq_to_i64(after)?))
            .filter(log_entries::seq.le(seq_to_i64(through)?))
            .filter(log_entries::log_index.lt(seq_to_i64(size)?))
            .order(log_entries::seq.asc())
            .select((log_entries::seq, log_entries::log_index))
            .limit(i64::from(limit));
        let rows: Vec<(i64, i64)> = run!(self, |c| q.load(c).await)?;
        rows.into_iter()
            .map(|(seq, index)| {
                Ok((
                    seq_from_i64("log entry seq", seq)?,
                    seq_from_i64("log index", index)?,
                ))
            })
            .collect()
    }

    async fn leaf_index(&mut self, leaf_hash: &Hash, size: u64) -> Result<Option<u64>, StoreError> {
        let q = leaf_lookup!(epochs_below(size)?, leaf_hash);
        let index: Option<i64> = run!(self, |c| q.first(c).await.optional())?;
        index.map(|i| seq_from_i64("log index", i)).transpose()
    }

    async fn log_entries_without_receipt(&mut self, from: u64, to: u64) -> Result<u64, StoreError> {
        let (from, to) = (seq_to_i64(from)?, seq_to_i64(to)?);
        // By the primary key's range, then each entry's receipt by its key.
        let entries = log_entries::table
            .filter(log_entries::log_index.ge(from))
            .filter(log_entries::log_index.lt(to))
            .count();
        let logged = log_entries::table
            .inner_join(
                receipts::table.on(receipts::agent_id
                    .eq(log_entries::agent_id)
                    .and(receipts::seq.eq(log_entries::seq))),
            )
            .filter(log_entries::log_index.ge(from))
            .filter(log_entries::log_index.lt(to))
            .count();
        let entries: i64 = run!(self, |c| entries.get_result(c).await)?;
        let logged: i64 = run!(self, |c| logged.get_result(c).await)?;
        // Entries missing from the log's own table count too: the tree has a leaf at
        // every index of the range.
        let span = (to - from).max(0);
        let missing = (span - logged).max(span - entries).max(0);
        seq_from_i64("missing receipts", missing)
    }

    async fn log_keys(&mut self) -> Result<Vec<LogKey>, StoreError> {
        let q = log_keys::table.order((log_keys::created_at.asc(), log_keys::key_id.asc()));
        let rows: Vec<KeyRow> = run!(self, |c| q.load(c).await)?;
        rows.into_iter().map(KeyRow::into_key).collect()
    }

    async fn insert_log_key_if_none(&mut self, key: &LogKey) -> Result<Vec<LogKey>, StoreError> {
        let newest: Option<i64> = run!(self, |c| log_keys::table
            .select(max(log_keys::created_at))
            .first(c)
            .await)?;
        if newest.is_none() {
            // The caller gives the first key a fixed id: instances starting together insert one.
            let first = KeyRow::of(key);
            run!(self, |c| diesel::insert_into(log_keys::table)
                .values(&first)
                .on_conflict_do_nothing()
                .execute(c)
                .await)?;
        }
        self.log_keys().await
    }

    async fn add_log_key(&mut self, key: &LogKey) -> Result<(), StoreError> {
        run!(self, |c| diesel::insert_into(log_keys::table)
            .values(&KeyRow::of(key))
            .execute(c)
            .await)?;
        Ok(())
    }

    async fn put_cosignature(
        &mut self,
        size: u64,
        witness: &str,
        line: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let row = (
            log_cosignatures::size.eq(seq_to_i64(size)?),
            log_cosignatures::witness.eq(witness),
            log_cosignatures::line.eq(line),
            log_cosignatures::created_at.eq(at.as_micros()),
        );
        run!(self, |c| diesel::insert_into(log_cosignatures::table)
            .values(row)
            .on_conflict((log_cosignatures::size, log_cosignatures::witness))
            .do_update()
            .set((
                log_cosignatures::line.eq(excluded(log_cosignatures::line)),
                log_cosignatures::created_at.eq(excluded(log_cosignatures::created_at)),
            ))
            .execute(c)
            .await)?;
        Ok(())
    }

    async fn cosignatures(&mut self, size: u64) -> Result<Vec<String>, StoreError> {
        let q = log_cosignatures::table
            .filter(log_cosignatures::size.eq(seq_to_i64(size)?))
            .order(log_cosignatures::witness.asc())
            .select(log_cosignatures::line);
        Ok(run!(self, |c| q.load(c).await)?)
    }

    async fn latest_cosigned_checkpoint(&mut self) -> Result<Option<StoredCheckpoint>, StoreError> {
        let size: Option<i64> = run!(self, |c| log_cosignatures::table
            .select(max(log_cosignatures::size))
            .first(c)
            .await)?;
        match size {
            None => Ok(None),
            Some(size) => {
                self.checkpoint_at(seq_from_i64("checkpoint size", size)?)
                    .await
            }
        }
    }
}
