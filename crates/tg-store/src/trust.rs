use diesel::dsl::{count_star, max};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double};
use diesel_async::RunQueryDsl;
use tg_audit::AuditStore;
use tg_core::{AccountId, AgentId, StoreError, Timestamp};
use tg_identity::{Agent, AgentStore};
use tg_receipts::ChainHead;
use tg_scoring::{Evidence, Trigger};
use tg_service::{
    CommitGuard, HistoryPoint, PolicyDocument, ReceiptCommit, Stats, TrustState, TrustStore,
};

use tg_webhooks::WebhookStore;

use crate::agents::AgentRow;
use crate::audit::AuditRow;
use crate::conn::{Conn, DbTx, FixedText, insert_rows, run};
use crate::error::{corrupt, store_error};
use crate::pg_unnest::{Statement, Unnest, WithInserts, unnest};
use crate::receipts::{QueuedRow, ReceiptRow, hash32, seq_from_i64, seq_to_i64};
use crate::schema::{agent_trust, agents, log_queue, policy_documents, receipts, trust_history};
use crate::webhooks::NewOutboxRow;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = agent_trust, treat_none_as_null = true)]
pub(crate) struct TrustRow {
    agent_id: String,
    successes: i64,
    failures: i64,
    violations: i64,
    weighted_success: f64,
    weighted_failure: f64,
    weighted_violation: f64,
    engagement: f64,
    as_of: Option<i64>,
    last_activity: Option<i64>,
    vouch: f64,
    composite: f64,
    tier: i32,
    history_seq: i64,
    chain_seq: i64,
    chain_hash: Vec<u8>,
    chain_mac: Option<Vec<u8>>,
    updated_at: i64,
    self_reported: i64,
    witnessed: i64,
    delegated: i64,
    weighted_proven: f64,
    weighted_witnessed_violation: f64,
    /// Raised in SQL by every update (see `update_trust`, `bump_state`), never set.
    #[diesel(skip_update)]
    state_version: i64,
}

fn count(n: u64) -> Result<i64, StoreError> {
    seq_to_i64(n)
}

impl TrustRow {
    fn from_state(s: &TrustState) -> Result<Self, StoreError> {
        let e = &s.evidence;
        Ok(Self {
            agent_id: s.agent_id.to_string(),
            successes: count(e.successes)?,
            failures: count(e.failures)?,
            violations: count(e.violations)?,
            weighted_success: e.weighted_success,
            weighted_failure: e.weighted_failure,
            weighted_violation: e.weighted_violation,
            engagement: e.engagement,
            as_of: e.as_of.map(Timestamp::as_micros),
            last_activity: e.last_activity.map(Timestamp::as_micros),
            vouch: s.vouch,
            composite: s.composite,
            tier: i32::from(s.tier),
            history_seq: count(s.history_seq)?,
            chain_seq: count(s.chain.seq)?,
            chain_hash: s.chain.hash.to_vec(),
            chain_mac: s.chain_mac.map(|m| m.to_vec()),
            updated_at: s.updated_at.as_micros(),
            self_reported: count(e.self_reported)?,
            witnessed: count(e.witnessed)?,
            delegated: count(e.delegated)?,
            weighted_proven: e.weighted_proven,
            weighted_witnessed_violation: e.weighted_witnessed_violation,
            state_version: count(s.version)?,
        })
    }

    /// PostgreSQL: `update_trust` as a statement that stays prepared (diesel's `UPDATE`
    /// does not): every column but the key and the version, the version raised, the new
    /// version returned. With a `guard`, only while the stored state version and the
    /// newest policy version are the guard's. The row is destructured whole, so a new
    /// column that is not set here does not compile.
    fn update_raising_version(
        self,
        guard: Option<CommitGuard>,
    ) -> Result<Statement<BigInt>, StoreError> {
        use diesel::sql_types::{Binary, Integer, Nullable, Text};
        macro_rules! set {
            ($($field:ident: $st:ty),+ $(,)?) => {{
                let TrustRow { agent_id, state_version: _, $($field),+ } = self;
                let update = Statement::new().sql("UPDATE agent_trust SET ")
                    $(.sql(concat!(stringify!($field), " = ")).bind::<$st, _>($field).sql(", "))+
                    .sql("state_version = state_version + 1 WHERE agent_id = ")
                    .bind::<Text, _>(agent_id.clone());
                (update, agent_id)
            }};
        }
        let (update, agent_id) = set!(
            successes: BigInt, failures: BigInt, violations: BigInt,
            weighted_success: Double, weighted_failure: Double, weighted_violation: Double,
            engagement: Double, as_of: Nullable<BigInt>, last_activity: Nullable<BigInt>,
            vouch: Double, composite: Double, tier: Integer, history_seq: BigInt,
            chain_seq: BigInt, chain_hash: Binary, chain_mac: Nullable<Binary>,
            updated_at: BigInt, self_reported: BigInt, witnessed: BigInt, delegated: BigInt,
            weighted_proven: Double, weighted_witnessed_violation: Double,
        );
        let update = match guard {
            None => update,
            // The agent's row lock, as every other read-modify-write of the agent takes it
            // (`locked_snapshot`), taken before the row is read; if another writer held it,
            // the update finds the version it committed and matches nothing.
            Some(g) => update
                .sql(" AND state_version = ")
                .bind::<BigInt, _>(seq_to_i64(g.state_version)?)
                .sql(" AND (SELECT COALESCE(MAX(version), 0) FROM policy_documents) = ")
                .bind::<BigInt, _>(g.policy_version)
                .sql(" AND EXISTS (SELECT 1 FROM agents WHERE id = ")
                .bind::<Text, _>(agent_id)
                .sql(" FOR UPDATE)"),
        };
        Ok(update.sql(" RETURNING state_version"))
    }

    pub(crate) fn into_state(self) -> Result<TrustState, StoreError> {
        Ok(TrustState {
            agent_id: AgentId::parse(&self.agent_id)
                .map_err(|_| corrupt("agent id", &self.agent_id))?,
            evidence: Evidence {
                successes: seq_from_i64("successes", self.successes)?,
                failures: seq_from_i64("failures", self.failures)?,
                violations: seq_from_i64("violations", self.violations)?,
                weighted_success: self.weighted_success,
                weighted_failure: self.weighted_failure,
                weighted_violation: self.weighted_violation,
                engagement: self.engagement,
                as_of: self.as_of.map(Timestamp::from_micros),
                last_activity: self.last_activity.map(Timestamp::from_micros),
                self_reported: seq_from_i64("self_reported", self.self_reported)?,
                witnessed: seq_from_i64("witnessed", self.witnessed)?,
                delegated: seq_from_i64("delegated", self.delegated)?,
                weighted_proven: self.weighted_proven,
                weighted_witnessed_violation: self.weighted_witnessed_violation,
            },
            vouch: self.vouch,
            composite: self.composite,
            tier: u8::try_from(self.tier).map_err(|_| corrupt("tier", self.tier))?,
            history_seq: seq_from_i64("history seq", self.history_seq)?,
            chain: ChainHead {
                seq: seq_from_i64("chain seq", self.chain_seq)?,
                hash: hash32("chain hash", &self.chain_hash)?,
            },
            chain_mac: self
                .chain_mac
                .map(|m| hash32("chain mac", &m))
                .transpose()?,
            updated_at: Timestamp::from_micros(self.updated_at),
            version: seq_from_i64("state version", self.state_version)?,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = trust_history)]
// Every field bound as given: one SQL text for every row (see `conn::prepared_by_type`).
#[diesel(treat_none_as_default_value = false)]
struct HistoryRow {
    agent_id: String,
    seq: i64,
    ts: i64,
    composite: f64,
    tier: i32,
    reason: String,
}

impl HistoryRow {
    fn of(p: &HistoryPoint) -> Result<Self, StoreError> {
        Ok(HistoryRow {
            agent_id: p.agent_id.to_string(),
            seq: seq_to_i64(p.seq)?,
            ts: p.timestamp.as_micros(),
            composite: p.composite_score,
            tier: i32::from(p.tier),
            reason: p.trigger.as_str().to_owned(),
        })
    }

    /// The points as one PostgreSQL `INSERT … SELECT * FROM unnest(…)`.
    fn unnest(rows: Vec<Self>) -> Unnest {
        use diesel::sql_types::{BigInt, Double, Integer, Text};
        unnest!(trust_history, rows, {
            agent_id: Text, seq: BigInt, ts: BigInt, composite: Double, tier: Integer,
            reason: Text,
        })
    }
}

#[derive(QueryableByName)]
struct Sums {
    #[diesel(sql_type = BigInt)]
    successes: i64,
    #[diesel(sql_type = BigInt)]
    failures: i64,
    #[diesel(sql_type = BigInt)]
    violations: i64,
    #[diesel(sql_type = BigInt)]
    receipts: i64,
    #[diesel(sql_type = Double)]
    composite: f64,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = policy_documents)]
struct PolicyRow {
    version: i64,
    document: String,
    updated_at: i64,
}

fn unsigned(what: &str, n: i64) -> Result<u64, StoreError> {
    seq_from_i64(what, n)
}

impl DbTx<'_> {
    /// After a write raised `agent`'s state version: signals the change and answers the
    /// new version (`NotFound` when no row was there to raise).
    fn raised(&mut self, agent: &AgentId, version: Option<i64>) -> Result<u64, StoreError> {
        let version = version.ok_or(StoreError::NotFound)?;
        self.changed(tg_service::state_signals::agent_changed(agent.as_str()));
        seq_from_i64("state version", version)
    }
}

/// Names [`TrustStore::commit_receipts`]' one PostgreSQL statement in the prepared cache,
/// under the row lock and guarded.
struct ReceiptCommitShape;
struct GuardedReceiptCommitShape;

/// A guarded receipt commit found its basis moved.
fn moved() -> StoreError {
    StoreError::Conflict("the agent's state or the policy moved since the batch began".into())
}

#[async_trait::async_trait]
impl TrustStore for DbTx<'_> {
    async fn insert_trust(&mut self, state: &TrustState) -> Result<(), StoreError> {
        let row = TrustRow::from_state(state)?;
        run!(self, |c| diesel::insert_into(agent_trust::table)
            .values(&row)
            .execute(c)
            .await)?;
        Ok(())
    }

    async fn get_trust(&mut self, agent: &AgentId) -> Result<Option<TrustState>, StoreError> {
        let q = agent_trust::table.find(agent.as_str());
        let row = run!(self, |c| q.first(c).await.optional())?;
        row.map(TrustRow::into_state).transpose()
    }

    async fn update_trust(&mut self, state: &TrustState) -> Result<u64, StoreError> {
        let row = TrustRow::from_state(state)?;
        let raised = agent_trust::state_version.eq(agent_trust::state_version + 1);
        let q = FixedText(
            diesel::update(agent_trust::table.find(state.agent_id.as_str()))
                .set((&row, raised))
                .returning(agent_trust::state_version),
        );
        let version: Option<i64> = run!(self, |c| q.get_result(c).await.optional())?;
        self.raised(&state.agent_id, version)
    }

    async fn bump_state(&mut self, agent: &AgentId) -> Result<u64, StoreError> {
        let raised = agent_trust::state_version.eq(agent_trust::state_version + 1);
        let q = FixedText(
            diesel::update(agent_trust::table.find(agent.as_str()))
                .set(raised)
                .returning(agent_trust::state_version),
        );
        let version: Option<i64> = run!(self, |c| q.get_result(c).await.optional())?;
        self.raised(agent, version)
    }

    async fn append_history(&mut self, p: &HistoryPoint) -> Result<(), StoreError> {
        let row = HistoryRow::of(p)?;
        run!(self, |c| diesel::insert_into(trust_history::table)
            .values(&row)
            .execute(c)
            .await)?;
        Ok(())
    }

    async fn list_history(
        &mut self,
        agent: &AgentId,
        limit: u32,
    ) -> Result<Vec<HistoryPoint>, StoreError> {
        let q = trust_history::table
            .filter(trust_history::agent_id.eq(agent.as_str()))
            .order(trust_history::seq.desc())
            .limit(i64::from(limit));
        let rows: Vec<HistoryRow> = run!(self, |c| q.load(c).await)?;
        rows.into_iter()
            .map(|r| {
                Ok(HistoryPoint {
                    agent_id: agent.clone(),
                    seq: seq_from_i64("history seq", r.seq)?,
                    timestamp: Timestamp::from_micros(r.ts),
                    composite_score: r.composite,
                    tier: u8::try_from(r.tier).map_err(|_| corrupt("tier", r.tier))?,
                    trigger: Trigger::parse(&r.reason)
                        .ok_or_else(|| corrupt("history trigger", &r.reason))?,
                })
            })
            .collect()
    }

    async fn agent_snapshot(
        &mut self,
        agent: &AgentId,
    ) -> Result<Option<(Agent, TrustState, i64)>, StoreError> {
        // A DSL subquery (not an SQL literal) so the statement stays in the prepared cache.
        let version = policy_documents::table
            .select(max(policy_documents::version))
            .single_value();
        let q = agents::table
            .inner_join(agent_trust::table.on(agent_trust::agent_id.eq(agents::id)))
            .filter(agents::id.eq(agent.as_str()))
            .select((agents::all_columns, agent_trust::all_columns, version));
        let row: Option<(AgentRow, TrustRow, Option<i64>)> =
            run!(self, |c| q.first(c).await.optional())?;
        row.map(|(a, t, v)| Ok((a.into_agent()?, t.into_state()?, v.unwrap_or(0))))
            .transpose()
    }

    async fn locked_snapshot(
        &mut self,
        agent: &AgentId,
    ) -> Result<Option<(Agent, TrustState, i64)>, StoreError> {
        // SQLite: the one writer already serialises every transaction, and the snapshot's
        // join finds no agent where the lock would have found none.
        if matches!(self.conn, Conn::Pg(_)) && self.lock_agent(agent).await?.is_none() {
            return Ok(None);
        }
        self.agent_snapshot(agent).await
    }

    async fn commit_receipts(&mut self, commit: &ReceiptCommit<'_>) -> Result<u64, StoreError> {
        let receipts_ = commit
            .receipts
            .iter()
            .map(ReceiptRow::from_receipt)
            .collect::<Result<Vec<_>, _>>()?;
        let queued = receipts_.iter().map(ReceiptRow::queued).collect();
        let history = commit
            .history
            .iter()
            .map(HistoryRow::of)
            .collect::<Result<Vec<_>, _>>()?;
        if let Conn::Pg(c) = &mut self.conn {
            // One statement, one round trip: the five inserts and the state's update (with
            // a guard: the update first, the inserts only if it matched).
            let update =
                TrustRow::from_state(commit.state)?.update_raising_version(commit.guard)?;
            let inserts = vec![
                ReceiptRow::unnest(receipts_),
                QueuedRow::unnest(queued),
                HistoryRow::unnest(history),
                NewOutboxRow::unnest(commit.outbox.iter().map(NewOutboxRow::of).collect()),
                AuditRow::unnest(
                    commit
                        .audit
                        .iter()
                        .map(|e| AuditRow::from_event(e.into()))
                        .collect(),
                ),
            ];
            let version: Result<Option<i64>, _> = match commit.guard {
                None => {
                    WithInserts::<ReceiptCommitShape, _>::new(inserts, update)
                        .get_result(&mut **c)
                        .await
                }
                Some(_) => {
                    WithInserts::<GuardedReceiptCommitShape, _>::guarded(update, inserts)
                        .get_result(&mut **c)
                        .await
                }
            }
            .optional()
            .map_err(store_error);
            let version = self.poison(version)?;
            if commit.guard.is_some() && version.is_none() {
                return Err(moved());
            }
            return self.raised(&commit.state.agent_id, version);
        }
        if let Some(guard) = commit.guard {
            let policy = policy_documents::table
                .select(max(policy_documents::version))
                .single_value();
            let q = agent_trust::table
                .find(commit.state.agent_id.as_str())
                .select((agent_trust::state_version, policy));
            let found: Option<(i64, Option<i64>)> = run!(self, |c| q.first(c).await.optional())?;
            let expected = (seq_to_i64(guard.state_version)?, guard.policy_version);
            if found.map(|(state, policy)| (state, policy.unwrap_or(0))) != Some(expected) {
                return Err(moved());
            }
        }
        // SQLite: a prepared statement per row, on the connection's thread.
        insert_rows!(self, receipts::table, ReceiptRow, receipts_)?;
        insert_rows!(self, log_queue::table, QueuedRow, queued)?;
        insert_rows!(self, trust_history::table, HistoryRow, history)?;
        let version = self.update_trust(commit.state).await?;
        self.append_outbox_batch(commit.outbox).await?;
        self.append_audit_batch(commit.audit).await?;
        Ok(version)
    }

    async fn scan_agents(
        &mut self,
        after: Option<&AgentId>,
        limit: u32,
    ) -> Result<Vec<(Agent, TrustState)>, StoreError> {
        // Every id sorts after "": no boxed (backend-specific) query needed for the first page.
        let after = after.map_or("", AgentId::as_str);
        let q = agents::table
            .inner_join(agent_trust::table.on(agent_trust::agent_id.eq(agents::id)))
            .filter(agents::id.gt(after))
            .select((agents::all_columns, agent_trust::all_columns))
            .order(agents::id.asc())
            .limit(i64::from(limit));
        let rows: Vec<(AgentRow, TrustRow)> = run!(self, |c| q.load(c).await)?;
        rows.into_iter()
            .map(|(a, t)| Ok((a.into_agent()?, t.into_state()?)))
            .collect()
    }

    async fn best_vouch_factor(&mut self, account: &AccountId) -> Result<f64, StoreError> {
        let q = agents::table
            .inner_join(agent_trust::table.on(agent_trust::agent_id.eq(agents::id)))
            .filter(agents::account_id.eq(account.as_str()))
            .filter(agents::status.eq("active"))
            .select(max(agent_trust::vouch));
        let best: Option<f64> = run!(self, |c| q.get_result(c).await)?;
        Ok(best.unwrap_or(0.0))
    }

    async fn score_histogram(&mut self) -> Result<[u64; 10], StoreError> {
        let mut out = [0u64; 10];
        for (i, slot) in out.iter_mut().enumerate() {
            let from = i as f64 / 10.0;
            let to = if i == 9 {
                f64::MAX
            } else {
                (i + 1) as f64 / 10.0
            };
            let q = agent_trust::table
                .filter(agent_trust::composite.ge(from))
                .filter(agent_trust::composite.lt(to))
                .select(count_star());
            let n: i64 = run!(self, |c| q.get_result(c).await)?;
            *slot = u64::try_from(n).unwrap_or(0);
        }
        Ok(out)
    }

    async fn stats(&mut self, recent_since: Timestamp) -> Result<Stats, StoreError> {
        let q = agents::table
            .group_by(agents::status)
            .select((agents::status, count_star()));
        let by_status: Vec<(String, i64)> = run!(self, |c| q.load(c).await)?;
        let q = agent_trust::table
            .group_by(agent_trust::tier)
            .select((agent_trust::tier, count_star()))
            .order(agent_trust::tier.asc());
        let by_tier: Vec<(i32, i64)> = run!(self, |c| q.load(c).await)?;
        // SUM(bigint) is NUMERIC on PostgreSQL and INTEGER on SQLite: cast so one row type
        // reads both.
        let q = diesel::sql_query(
            "SELECT CAST(COALESCE(SUM(successes), 0) AS BIGINT) AS successes, \
                    CAST(COALESCE(SUM(failures), 0) AS BIGINT) AS failures, \
                    CAST(COALESCE(SUM(violations), 0) AS BIGINT) AS violations, \
                    CAST(COALESCE(SUM(chain_seq), 0) AS BIGINT) AS receipts, \
                    CAST(COALESCE(SUM(composite), 0) AS DOUBLE PRECISION) AS composite \
             FROM agent_trust",
        );
        let sums: Sums = run!(self, |c| q.get_result(c).await)?;
        let mut stats = Stats::default();
        for (status, n) in by_status {
            let n = unsigned("count", n)?;
            stats.total_agents += n;
            match status.as_str() {
                "active" => stats.active_agents += n,
                "suspended" => stats.suspended_agents += n,
                "revoked" => stats.revoked_agents += n,
                other => return Err(corrupt("status", other)),
            }
        }
        for (tier, n) in by_tier {
            stats.agents_by_tier.push((
                u8::try_from(tier).map_err(|_| corrupt("tier", tier))?,
                unsigned("count", n)?,
            ));
        }
        stats.successes = unsigned("sum", sums.successes)?;
        stats.failures = unsigned("sum", sums.failures)?;
        stats.violations = unsigned("sum", sums.violations)?;
        stats.total_receipts = unsigned("sum", sums.receipts)?;
        let q = receipts::table
            .filter(receipts::ts.ge(recent_since.as_micros()))
            .select(count_star());
        let recent: i64 = run!(self, |c| q.get_result(c).await)?;
        stats.recent_receipts = unsigned("count", recent)?;
        if stats.total_agents > 0 {
            stats.average_score = sums.composite / stats.total_agents as f64;
        }
        Ok(stats)
    }

    async fn policy_version(&mut self) -> Result<i64, StoreError> {
        let q = policy_documents::table.select(max(policy_documents::version));
        let v: Option<i64> = run!(self, |c| q.first(c).await)?;
        Ok(v.unwrap_or(0))
    }

    async fn policy_document(&mut self) -> Result<Option<PolicyDocument>, StoreError> {
        let q = policy_documents::table.order(policy_documents::version.desc());
        let row: Option<PolicyRow> = run!(self, |c| q.first(c).await.optional())?;
        Ok(row.map(|r| PolicyDocument {
            version: r.version,
            document: r.document,
            updated_at: Timestamp::from_micros(r.updated_at),
        }))
    }

    async fn save_policy_document(&mut self, doc: &PolicyDocument) -> Result<(), StoreError> {
        let row = PolicyRow {
            version: doc.version,
            document: doc.document.clone(),
            updated_at: doc.updated_at.as_micros(),
        };
        run!(self, |c| diesel::insert_into(policy_documents::table)
            .values(&row)
            .execute(c)
            .await)?;
        self.changed(tg_service::state_signals::policy_changed());
        Ok(())
    }
}
