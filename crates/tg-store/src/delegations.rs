use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use tg_core::{AccountId, AgentId, ChainId, DelegationId, StoreError, Timestamp};
use tg_delegation::{
    Delegation, DelegationOutcome, DelegationStore, Delegator, Feedback, Limits, OutcomeRecord,
};

use crate::conn::{Conn, DbTx, run};
use crate::error::{corrupt, store_error, touched};
use crate::schema::delegations;

#[derive(Queryable, Insertable)]
#[diesel(table_name = delegations)]
struct DelegationRow {
    id: String,
    chain_id: String,
    parent_id: Option<String>,
    depth: i32,
    from_party: String,
    to_agent: String,
    root_authority: String,
    task_type: String,
    threshold: f64,
    trust_score_at_delegation: f64,
    delegated_at: i64,
    account_id: String,
    outcome: Option<String>,
    feedback: Option<String>,
    notes: Option<String>,
    completed_at: Option<i64>,
    accepted_at: Option<i64>,
}

fn party(s: &str) -> Result<Delegator, StoreError> {
    Delegator::parse(s).ok_or_else(|| corrupt("delegator", s))
}

impl DelegationRow {
    fn from_delegation(d: &Delegation, account: &AccountId) -> Self {
        let o = d.outcome.as_ref();
        Self {
            id: d.id.to_string(),
            chain_id: d.chain_id.to_string(),
            parent_id: d.parent.as_ref().map(ToString::to_string),
            depth: i32::try_from(d.depth).unwrap_or(i32::MAX),
            from_party: d.from.to_string(),
            to_agent: d.to_agent.to_string(),
            root_authority: d.root_authority.to_string(),
            task_type: d.task_type.clone(),
            threshold: d.threshold,
            trust_score_at_delegation: d.trust_score_at_delegation,
            delegated_at: d.delegated_at.as_micros(),
            account_id: account.to_string(),
            outcome: o.map(|o| o.outcome.as_str().to_owned()),
            feedback: o.and_then(|o| o.feedback).map(|f| f.as_str().to_owned()),
            notes: o.and_then(|o| o.notes.clone()),
            completed_at: o.map(|o| o.completed_at.as_micros()),
            accepted_at: d.accepted_at.map(Timestamp::as_micros),
        }
    }

    fn into_delegation(self) -> Result<Delegation, StoreError> {
        let outcome = match (self.outcome.as_deref(), self.completed_at) {
            (Some(o), Some(at)) => Some(OutcomeRecord {
                outcome: DelegationOutcome::parse(o).ok_or_else(|| corrupt("outcome", o))?,
                feedback: self
                    .feedback
                    .as_deref()
                    .map(|f| Feedback::parse(f).ok_or_else(|| corrupt("feedback", f)))
                    .transpose()?,
                notes: self.notes,
                completed_at: Timestamp::from_micros(at),
            }),
            _ => None,
        };
        Ok(Delegation {
            id: DelegationId::parse(&self.id).map_err(|_| corrupt("delegation id", &self.id))?,
            chain_id: ChainId::parse(&self.chain_id)
                .map_err(|_| corrupt("chain id", &self.chain_id))?,
            parent: self
                .parent_id
                .as_deref()
                .map(|p| DelegationId::parse(p).map_err(|_| corrupt("parent id", p)))
                .transpose()?,
            depth: u32::try_from(self.depth).map_err(|_| corrupt("depth", self.depth))?,
            from: party(&self.from_party)?,
            to_agent: AgentId::parse(&self.to_agent)
                .map_err(|_| corrupt("agent id", &self.to_agent))?,
            root_authority: party(&self.root_authority)?,
            task_type: self.task_type,
            threshold: self.threshold,
            trust_score_at_delegation: self.trust_score_at_delegation,
            delegated_at: Timestamp::from_micros(self.delegated_at),
            accepted_at: self.accepted_at.map(Timestamp::from_micros),
            outcome,
        })
    }
}

#[async_trait::async_trait]
impl DelegationStore for DbTx<'_> {
    async fn insert_delegation(
        &mut self,
        d: &Delegation,
        account: &AccountId,
    ) -> Result<(), StoreError> {
        let row = DelegationRow::from_delegation(d, account);
        run!(self, |c| diesel::insert_into(delegations::table)
            .values(&row)
            .execute(c)
            .await)?;
        Ok(())
    }

    async fn delegation_account(
        &mut self,
        id: &DelegationId,
    ) -> Result<Option<AccountId>, StoreError> {
        let q = delegations::table
            .find(id.as_str())
            .select(delegations::account_id);
        let a: Option<String> = run!(self, |c| q.first(c).await.optional())?;
        a.map(|a| AccountId::parse(&a).map_err(|_| corrupt("account id", &a)))
            .transpose()
    }

    async fn get_delegation(
        &mut self,
        id: &DelegationId,
    ) -> Result<Option<Delegation>, StoreError> {
        let q = delegations::table.find(id.as_str());
        let row: Option<DelegationRow> = run!(self, |c| q.first(c).await.optional())?;
        row.map(DelegationRow::into_delegation).transpose()
    }

    async fn lock_delegation(
        &mut self,
        id: &DelegationId,
    ) -> Result<Option<Delegation>, StoreError> {
        let q = delegations::table.find(id.as_str());
        let row: Result<Option<DelegationRow>, _> = match &mut self.conn {
            Conn::Pg(c) => q.for_update().first(&mut **c).await.optional(),
            Conn::Sqlite(c) => q.first(&mut **c).await.optional(),
        }
        .map_err(store_error);
        self.poison(row)?
            .map(DelegationRow::into_delegation)
            .transpose()
    }

    async fn update_outcome(&mut self, d: &Delegation) -> Result<(), StoreError> {
        let o = d
            .outcome
            .as_ref()
            .ok_or_else(|| StoreError::other("no outcome to write"))?;
        let target = delegations::table.find(d.id.as_str());
        let n = run!(self, |c| diesel::update(target)
            .set((
                delegations::outcome.eq(Some(o.outcome.as_str())),
                delegations::feedback.eq(o.feedback.map(Feedback::as_str)),
                delegations::notes.eq(o.notes.clone()),
                delegations::completed_at.eq(Some(o.completed_at.as_micros())),
                delegations::accepted_at.eq(d.accepted_at.map(Timestamp::as_micros)),
            ))
            .execute(c)
            .await)?;
        touched(n)
    }

    async fn accept_delegation(&mut self, d: &Delegation) -> Result<(), StoreError> {
        let target = delegations::table.find(d.id.as_str());
        let n = run!(self, |c| diesel::update(target)
            .set(delegations::accepted_at.eq(d.accepted_at.map(Timestamp::as_micros)))
            .execute(c)
            .await)?;
        touched(n)
    }

    async fn chain(&mut self, id: &ChainId) -> Result<Vec<Delegation>, StoreError> {
        let q = delegations::table
            .filter(delegations::chain_id.eq(id.as_str()))
            .order((delegations::depth.asc(), delegations::delegated_at.asc()));
        let rows: Vec<DelegationRow> = run!(self, |c| q.load(c).await)?;
        rows.into_iter()
            .map(DelegationRow::into_delegation)
            .collect()
    }

    async fn ancestry(&mut self, id: &DelegationId) -> Result<Vec<Delegation>, StoreError> {
        let mut out = Vec::new();
        let mut next = Some(id.clone());
        // Bounded: chains are at most `max_depth` long; a longer walk means corruption.
        let bound = Limits::default().max_depth as usize + 1;
        while let Some(current) = next {
            if out.len() > bound {
                return Err(StoreError::other("delegation ancestry does not terminate"));
            }
            let d = self
                .get_delegation(&current)
                .await?
                .ok_or(StoreError::NotFound)?;
            next = d.parent.clone();
            out.push(d);
        }
        out.reverse();
        Ok(out)
    }

    async fn open_delegation(
        &mut self,
        from: &Delegator,
        to: &AgentId,
        parent: Option<&DelegationId>,
    ) -> Result<Option<Delegation>, StoreError> {
        let (from, to) = (from.to_string(), to.as_str());
        let parent = parent.map(DelegationId::as_str);
        // Two fixed shapes rather than one boxed query, so each is a cached prepared
        // statement (token exchange asks this on every call).
        let open = delegations::table
            .filter(delegations::from_party.eq(&from))
            .filter(delegations::to_agent.eq(to))
            .filter(delegations::accepted_at.is_not_null())
            .filter(delegations::outcome.is_null())
            .order((delegations::delegated_at.desc(), delegations::id.desc()));
        let row: Option<DelegationRow> = match parent {
            None => run!(self, |c| open.first(c).await.optional())?,
            Some(p) => {
                let q = open.filter(delegations::parent_id.eq(p));
                run!(self, |c| q.first(c).await.optional())?
            }
        };
        row.map(DelegationRow::into_delegation).transpose()
    }

    async fn history_for_agent(
        &mut self,
        agent: &AgentId,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<Delegation>, StoreError> {
        let q = delegations::table
            .filter(
                delegations::to_agent
                    .eq(agent.as_str())
                    .or(delegations::from_party.eq(agent.as_str())),
            )
            .order((delegations::delegated_at.desc(), delegations::id.desc()))
            .offset(i64::from(offset))
            .limit(i64::from(limit));
        let rows: Vec<DelegationRow> = run!(self, |c| q.load(c).await)?;
        rows.into_iter()
            .map(DelegationRow::into_delegation)
            .collect()
    }
}
