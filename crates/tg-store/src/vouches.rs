use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use tg_core::{AgentId, StoreError, Timestamp, VouchId};
use tg_vouch::{Direction, Vouch, VouchEdge, VouchStore};

use crate::conn::{DbTx, run};
use crate::error::{corrupt, touched};
use crate::schema::{vouch_anchors, vouches};

#[derive(Queryable, Insertable)]
#[diesel(table_name = vouches)]
struct VouchRow {
    id: String,
    from_agent: String,
    to_agent: String,
    weight: f64,
    note: Option<String>,
    signature: Option<String>,
    created_at: i64,
    updated_at: i64,
    revoked_at: Option<i64>,
    vouchee_violations: i64,
}

fn agent(s: &str) -> Result<AgentId, StoreError> {
    AgentId::parse(s).map_err(|_| corrupt("agent id", s))
}

impl VouchRow {
    fn from_vouch(v: &Vouch) -> Self {
        Self {
            id: v.id.to_string(),
            from_agent: v.from_agent.to_string(),
            to_agent: v.to_agent.to_string(),
            weight: v.weight,
            note: v.note.clone(),
            signature: v.signature.clone(),
            created_at: v.created_at.as_micros(),
            updated_at: v.updated_at.as_micros(),
            revoked_at: v.revoked_at.map(Timestamp::as_micros),
            vouchee_violations: i64::try_from(v.vouchee_violations).unwrap_or(i64::MAX),
        }
    }

    fn into_vouch(self) -> Result<Vouch, StoreError> {
        Ok(Vouch {
            id: VouchId::parse(&self.id).map_err(|_| corrupt("vouch id", &self.id))?,
            from_agent: agent(&self.from_agent)?,
            to_agent: agent(&self.to_agent)?,
            weight: self.weight,
            note: self.note,
            signature: self.signature,
            created_at: Timestamp::from_micros(self.created_at),
            updated_at: Timestamp::from_micros(self.updated_at),
            revoked_at: self.revoked_at.map(Timestamp::from_micros),
            vouchee_violations: u64::try_from(self.vouchee_violations)
                .map_err(|_| corrupt("vouchee_violations", self.vouchee_violations))?,
        })
    }
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

#[async_trait::async_trait]
impl VouchStore for DbTx<'_> {
    async fn insert_vouch(&mut self, v: &Vouch) -> Result<(), StoreError> {
        let row = VouchRow::from_vouch(v);
        run!(self, |c| diesel::insert_into(vouches::table)
            .values(&row)
            .execute(c)
            .await)?;
        Ok(())
    }

    async fn update_vouch(&mut self, v: &Vouch) -> Result<(), StoreError> {
        let target = vouches::table.find(v.id.as_str());
        let n = run!(self, |c| diesel::update(target)
            .set((
                vouches::weight.eq(v.weight),
                vouches::note.eq(v.note.clone()),
                vouches::signature.eq(v.signature.clone()),
                vouches::updated_at.eq(v.updated_at.as_micros()),
                vouches::revoked_at.eq(v.revoked_at.map(Timestamp::as_micros)),
            ))
            .execute(c)
            .await)?;
        touched(n)
    }

    async fn get_vouch(&mut self, id: &VouchId) -> Result<Option<Vouch>, StoreError> {
        let q = vouches::table.find(id.as_str());
        let row: Option<VouchRow> = run!(self, |c| q.first(c).await.optional())?;
        row.map(VouchRow::into_vouch).transpose()
    }

    async fn active_vouch(
        &mut self,
        from: &AgentId,
        to: &AgentId,
    ) -> Result<Option<Vouch>, StoreError> {
        let q = vouches::table
            .filter(vouches::from_agent.eq(from.as_str()))
            .filter(vouches::to_agent.eq(to.as_str()))
            .filter(vouches::revoked_at.is_null());
        let row: Option<VouchRow> = run!(self, |c| q.first(c).await.optional())?;
        row.map(VouchRow::into_vouch).transpose()
    }

    async fn list_vouches(
        &mut self,
        agent: &AgentId,
        direction: Direction,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<Vouch>, StoreError> {
        macro_rules! page {
            ($column:expr) => {{
                let q = vouches::table
                    .filter($column.eq(agent.as_str()))
                    .filter(vouches::revoked_at.is_null())
                    .order((vouches::created_at.desc(), vouches::id.desc()))
                    .offset(i64::from(offset))
                    .limit(i64::from(limit));
                run!(self, |c| q.load(c).await)
            }};
        }
        let rows: Vec<VouchRow> = match direction {
            Direction::Received => page!(vouches::to_agent)?,
            Direction::Given => page!(vouches::from_agent)?,
        };
        rows.into_iter().map(VouchRow::into_vouch).collect()
    }

    async fn count_vouches_received(&mut self, agent: &AgentId) -> Result<u64, StoreError> {
        let q = vouches::table
            .filter(vouches::to_agent.eq(agent.as_str()))
            .filter(vouches::revoked_at.is_null())
            .select(count_star());
        let n: i64 = run!(self, |c| q.get_result(c).await)?;
        Ok(count(n))
    }

    async fn note_vouchee_violation(&mut self, vouchee: &AgentId) -> Result<u64, StoreError> {
        let target = vouches::table
            .filter(vouches::to_agent.eq(vouchee.as_str()))
            .filter(vouches::revoked_at.is_null());
        let n = run!(self, |c| diesel::update(target)
            .set(vouches::vouchee_violations.eq(vouches::vouchee_violations + 1))
            .execute(c)
            .await)?;
        Ok(n as u64)
    }

    async fn vouch_edges(&mut self) -> Result<Vec<VouchEdge>, StoreError> {
        let q = vouches::table
            .filter(vouches::revoked_at.is_null())
            .select((vouches::from_agent, vouches::to_agent, vouches::weight));
        let rows: Vec<(String, String, f64)> = run!(self, |c| q.load(c).await)?;
        rows.into_iter()
            .map(|(f, t, weight)| {
                Ok(VouchEdge {
                    from_agent: agent(&f)?,
                    to_agent: agent(&t)?,
                    weight,
                })
            })
            .collect()
    }

    async fn voucher_violations(&mut self) -> Result<Vec<(AgentId, u64)>, StoreError> {
        // SUM(bigint) is NUMERIC on PostgreSQL: read the rows and add them up here instead.
        let q = vouches::table
            .filter(vouches::vouchee_violations.gt(0))
            .select((vouches::from_agent, vouches::vouchee_violations));
        let rows: Vec<(String, i64)> = run!(self, |c| q.load(c).await)?;
        let mut totals: std::collections::BTreeMap<String, u64> = Default::default();
        for (from, n) in rows {
            *totals.entry(from).or_default() += count(n);
        }
        totals
            .into_iter()
            .map(|(from, n)| Ok((agent(&from)?, n)))
            .collect()
    }

    async fn set_anchor(&mut self, agent: &AgentId, at: Timestamp) -> Result<bool, StoreError> {
        let n = run!(self, |c| diesel::insert_into(vouch_anchors::table)
            .values((
                vouch_anchors::agent_id.eq(agent.as_str()),
                vouch_anchors::created_at.eq(at.as_micros()),
            ))
            .on_conflict_do_nothing()
            .execute(c)
            .await)?;
        Ok(n > 0)
    }

    async fn unset_anchor(&mut self, agent: &AgentId) -> Result<bool, StoreError> {
        let target = vouch_anchors::table.find(agent.as_str());
        let n = run!(self, |c| diesel::delete(target).execute(c).await)?;
        Ok(n > 0)
    }

    async fn anchors(&mut self) -> Result<Vec<AgentId>, StoreError> {
        let q = vouch_anchors::table
            .select(vouch_anchors::agent_id)
            .order(vouch_anchors::agent_id.asc());
        let rows: Vec<String> = run!(self, |c| q.load(c).await)?;
        rows.iter().map(|a| agent(a)).collect()
    }
}
