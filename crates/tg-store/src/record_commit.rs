//! The record path's two trips under an agent's lock: the locked read of the agent, and
//! the write of everything a batch of receipts changed. On PostgreSQL each is one
//! pipeline (the statements are sent without waiting for each answer; the server still
//! runs them in order); on SQLite each is one trip to the blocking pool.

use diesel::dsl::max;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::future::{BoxFuture, try_join_all};
use tg_core::{AgentId, StoreError};
use tg_identity::Agent;
use tg_service::{ReceiptCommit, TrustState};

use crate::agents::AgentRow;
use crate::audit::AuditRow;
use crate::conn::{Conn, DbTx};
use crate::error::{store_error, touched};
use crate::receipts::ReceiptRow;
use crate::schema::{
    agent_trust, agents, audit_events, event_outbox, policy_documents, receipts, trust_history,
};
use crate::trust::{HistoryRow, TrustRow};
use crate::webhooks::NewOutboxRow;

/// Rows a multi-row INSERT carries on PostgreSQL (at most 14 parameters a row here,
/// far below its 65 535).
const CHUNK: usize = 256;

type Snapshot = (Agent, TrustState, i64);

/// The agent (row-locked on PostgreSQL; SQLite's one connection already serialises
/// writers), its score state and the policy version.
pub(crate) async fn locked_snapshot(
    tx: &mut DbTx<'_>,
    agent: &AgentId,
) -> Result<Option<Snapshot>, StoreError> {
    let id = agent.as_str().to_owned();
    let read = match &mut tx.conn {
        Conn::Pg(c) => {
            let conn: &AsyncPgConnection = c;
            let (mut a, mut t, mut v) = (conn, conn, conn);
            // In this order: the trust row is read once the lock is held.
            let lock = agents::table
                .find(&id)
                .for_update()
                .load::<AgentRow>(&mut a);
            let trust = agent_trust::table.find(&id).load::<TrustRow>(&mut t);
            let version = policy_documents::table
                .select(max(policy_documents::version))
                .first::<Option<i64>>(&mut v);
            futures_util::future::try_join3(lock, trust, version)
                .await
                .map(|(a, t, v)| (a.into_iter().next(), t.into_iter().next(), v))
        }
        Conn::Sqlite(c) => {
            c.spawn_blocking(move |conn| {
                let a = diesel::RunQueryDsl::load::<AgentRow>(agents::table.find(&id), conn)?;
                let t = diesel::RunQueryDsl::load::<TrustRow>(agent_trust::table.find(&id), conn)?;
                let v = diesel::RunQueryDsl::first::<Option<i64>>(
                    policy_documents::table.select(max(policy_documents::version)),
                    conn,
                )?;
                Ok((a.into_iter().next(), t.into_iter().next(), v))
            })
            .await
        }
    }
    .map_err(store_error);
    match tx.poison(read)? {
        (Some(a), Some(t), v) => Ok(Some((a.into_agent()?, t.into_state()?, v.unwrap_or(0)))),
        (None, _, _) => Ok(None),
        (Some(_), None, _) => Err(StoreError::Other(format!(
            "agent `{agent}` has no trust state"
        ))),
    }
}

/// Writes `commit`: receipts, history, the score state, outbox and audit events.
pub(crate) async fn commit_receipts(
    tx: &mut DbTx<'_>,
    commit: &ReceiptCommit<'_>,
) -> Result<(), StoreError> {
    let receipts_ = commit
        .receipts
        .iter()
        .map(ReceiptRow::from_receipt)
        .collect::<Result<Vec<_>, _>>()?;
    let history = commit
        .history
        .iter()
        .map(HistoryRow::of)
        .collect::<Result<Vec<_>, _>>()?;
    let state = TrustRow::from_state(commit.state)?;
    let agent = commit.state.agent_id.to_string();
    let outbox: Vec<NewOutboxRow> = commit.outbox.iter().map(NewOutboxRow::of).collect();
    let audit: Vec<AuditRow> = commit.audit.iter().map(AuditRow::from_event).collect();
    let updated = match &mut tx.conn {
        Conn::Pg(c) => {
            let conn: &AsyncPgConnection = c;
            pipelined(conn, &receipts_, &history, &agent, &state, &outbox, &audit).await
        }
        Conn::Sqlite(c) => {
            c.spawn_blocking(move |conn| {
                use diesel::RunQueryDsl as Sync;
                for r in &receipts_ {
                    Sync::execute(diesel::insert_into(receipts::table).values(r), conn)?;
                }
                for h in &history {
                    Sync::execute(diesel::insert_into(trust_history::table).values(h), conn)?;
                }
                let update = diesel::update(agent_trust::table.find(&agent)).set(&state);
                let n = Sync::execute(update, conn)?;
                for o in &outbox {
                    Sync::execute(diesel::insert_into(event_outbox::table).values(o), conn)?;
                }
                for e in &audit {
                    Sync::execute(diesel::insert_into(audit_events::table).values(e), conn)?;
                }
                Ok(n)
            })
            .await
        }
    }
    .map_err(store_error);
    let updated = tx.poison(updated)?;
    let done = touched(updated);
    tx.poison(done)?;
    tx.changed(tg_service::state_signals::agent_changed(
        commit.state.agent_id.as_str(),
    ));
    Ok(())
}

/// Every statement of a commit in one pipeline: the number of score states updated.
async fn pipelined(
    conn: &AsyncPgConnection,
    receipts_: &[ReceiptRow],
    history: &[HistoryRow],
    agent: &str,
    state: &TrustRow,
    outbox: &[NewOutboxRow],
    audit: &[AuditRow],
) -> QueryResult<usize> {
    let mut statements: Vec<BoxFuture<'_, QueryResult<usize>>> = Vec::new();
    let mut c = conn;
    for chunk in receipts_.chunks(CHUNK) {
        statements.push(
            diesel::insert_into(receipts::table)
                .values(chunk)
                .execute(&mut c),
        );
    }
    for chunk in history.chunks(CHUNK) {
        statements.push(
            diesel::insert_into(trust_history::table)
                .values(chunk)
                .execute(&mut c),
        );
    }
    let update = statements.len();
    statements.push(
        diesel::update(agent_trust::table.find(agent))
            .set(state)
            .execute(&mut c),
    );
    for chunk in outbox.chunks(CHUNK) {
        statements.push(
            diesel::insert_into(event_outbox::table)
                .values(chunk)
                .execute(&mut c),
        );
    }
    for chunk in audit.chunks(CHUNK) {
        statements.push(
            diesel::insert_into(audit_events::table)
                .values(chunk)
                .execute(&mut c),
        );
    }
    let counts = try_join_all(statements).await?;
    Ok(counts.get(update).copied().unwrap_or(0))
}
