use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use tg_core::{AccountId, AgentId, StoreError, Timestamp};
use tg_identity::{
    Agent, AgentStatus, AgentStore, AttestationType, SpiffeId, SuspensionAuthor, VerificationLevel,
};

use crate::conn::{Conn, DbTx, run};
use crate::error::{corrupt, store_error, touched};
use crate::receipts::{seq_from_i64, seq_to_i64};
use crate::schema::agents;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = agents)]
pub(crate) struct AgentRow {
    id: String,
    account_id: String,
    name: String,
    provider: String,
    #[diesel(treat_none_as_null = true)]
    spiffe_id: Option<String>,
    config_hash: String,
    approved_config_hash: String,
    capabilities: String,
    status: String,
    verification_level: i32,
    attestation_type: String,
    identity_strength: f64,
    created_at: i64,
    updated_at: i64,
    #[diesel(treat_none_as_null = true)]
    attestation_expires_at: Option<i64>,
    #[diesel(treat_none_as_null = true)]
    public_key: Option<String>,
    #[diesel(treat_none_as_null = true)]
    key_verified_at: Option<i64>,
    /// `A2aProfile` as JSON.
    #[diesel(treat_none_as_null = true)]
    a2a: Option<String>,
    #[diesel(treat_none_as_null = true)]
    suspended_by: Option<String>,
    /// What discovery matches capabilities against: see [`capability_terms`].
    capability_terms: String,
    /// Whether the agent proved its SPIFFE ID (only holders are unique).
    spiffe_held: bool,
    token_epoch: i64,
}

/// Each capability lower-cased on a line of its own, with a newline before the first and
/// after the last: a query (which holds no control character) matches inside one
/// capability or not at all, never across the JSON around them.
fn capability_terms(capabilities: &[String]) -> String {
    if capabilities.is_empty() {
        return String::new();
    }
    let mut terms = String::from("\n");
    for c in capabilities {
        terms.push_str(&c.to_lowercase());
        terms.push('\n');
    }
    terms
}

impl AgentRow {
    fn from_agent(a: &Agent) -> Result<Self, StoreError> {
        Ok(Self {
            id: a.id.to_string(),
            account_id: a.account_id.to_string(),
            name: a.name.clone(),
            provider: a.provider.clone(),
            spiffe_id: a.spiffe_id.as_ref().map(ToString::to_string),
            config_hash: a.config_hash.clone(),
            approved_config_hash: a.approved_config_hash.clone(),
            capabilities: serde_json::to_string(&a.capabilities)
                .map_err(|e| StoreError::other_because("capabilities as JSON", e))?,
            status: a.status.as_str().to_owned(),
            verification_level: i32::from(a.verification_level.as_u8()),
            attestation_type: a.attestation_type.as_str().to_owned(),
            identity_strength: a.identity_strength,
            created_at: a.created_at.as_micros(),
            updated_at: a.updated_at.as_micros(),
            attestation_expires_at: a.attestation_expires_at.map(Timestamp::as_micros),
            public_key: a.public_key.clone(),
            key_verified_at: a.key_verified_at.map(Timestamp::as_micros),
            a2a: a
                .a2a
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(|e| StoreError::other_because("A2A profile as JSON", e))?,
            suspended_by: a.suspended_by.map(|s| s.as_str().to_owned()),
            capability_terms: capability_terms(&a.capabilities),
            spiffe_held: a.holds_spiffe_id(),
            token_epoch: seq_to_i64(a.token_epoch)?,
        })
    }

    pub(crate) fn into_agent(self) -> Result<Agent, StoreError> {
        Ok(Agent {
            id: AgentId::parse(&self.id).map_err(|_| corrupt("agent id", &self.id))?,
            account_id: AccountId::parse(&self.account_id)
                .map_err(|_| corrupt("account id", &self.account_id))?,
            spiffe_id: self
                .spiffe_id
                .as_deref()
                .map(|s| SpiffeId::parse(s).map_err(|_| corrupt("spiffe_id", s)))
                .transpose()?,
            capabilities: serde_json::from_str(&self.capabilities)
                .map_err(|_| corrupt("capabilities", &self.capabilities))?,
            status: AgentStatus::parse(&self.status)
                .ok_or_else(|| corrupt("status", &self.status))?,
            suspended_by: self
                .suspended_by
                .as_deref()
                .map(|s| SuspensionAuthor::parse(s).ok_or_else(|| corrupt("suspended_by", s)))
                .transpose()?,
            verification_level: u8::try_from(self.verification_level)
                .ok()
                .and_then(VerificationLevel::from_u8)
                .ok_or_else(|| corrupt("verification level", self.verification_level))?,
            attestation_type: AttestationType::parse(&self.attestation_type)
                .ok_or_else(|| corrupt("attestation type", &self.attestation_type))?,
            name: self.name,
            provider: self.provider,
            config_hash: self.config_hash,
            approved_config_hash: self.approved_config_hash,
            identity_strength: self.identity_strength,
            created_at: Timestamp::from_micros(self.created_at),
            updated_at: Timestamp::from_micros(self.updated_at),
            attestation_expires_at: self.attestation_expires_at.map(Timestamp::from_micros),
            public_key: self.public_key,
            key_verified_at: self.key_verified_at.map(Timestamp::from_micros),
            a2a: self
                .a2a
                .as_deref()
                .map(|s| serde_json::from_str(s).map_err(|_| corrupt("a2a profile", s)))
                .transpose()?,
            token_epoch: seq_from_i64("token epoch", self.token_epoch)?,
        })
    }
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// `%query%` for LIKE, with `\`, `%` and `_` escaped.
fn like_pattern(query: &str) -> String {
    let mut p = String::with_capacity(query.len() + 2);
    p.push('%');
    for ch in query.to_lowercase().chars() {
        if matches!(ch, '\\' | '%' | '_') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

#[async_trait::async_trait]
impl AgentStore for DbTx<'_> {
    async fn insert_agent(&mut self, agent: &Agent) -> Result<(), StoreError> {
        let row = AgentRow::from_agent(agent)?;
        run!(self, |c| diesel::insert_into(agents::table)
            .values(&row)
            .execute(c)
            .await)?;
        Ok(())
    }

    async fn get_agent(&mut self, id: &AgentId) -> Result<Option<Agent>, StoreError> {
        let q = agents::table.find(id.as_str());
        let row = run!(self, |c| q.first(c).await.optional())?;
        row.map(AgentRow::into_agent).transpose()
    }

    async fn lock_agent(&mut self, id: &AgentId) -> Result<Option<Agent>, StoreError> {
        let q = agents::table.find(id.as_str());
        let row = match &mut self.conn {
            // Row lock until the transaction ends: writers on one agent queue here.
            Conn::Pg(c) => q.for_update().first(&mut **c).await.optional(),
            // SQLite: the one connection already serialises every transaction.
            Conn::Sqlite(c) => q.first(&mut **c).await.optional(),
        }
        .map_err(store_error);
        let row = self.poison(row)?;
        row.map(AgentRow::into_agent).transpose()
    }

    async fn agents_named(&mut self, name: &str, limit: u32) -> Result<Vec<Agent>, StoreError> {
        let q = agents::table
            .filter(agents::name.eq(name))
            .order(agents::id.asc())
            .limit(i64::from(limit));
        let rows: Vec<AgentRow> = run!(self, |c| q.load(c).await)?;
        rows.into_iter().map(AgentRow::into_agent).collect()
    }

    async fn discover_agents(
        &mut self,
        query: &str,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<Agent>, StoreError> {
        let pattern = like_pattern(query);
        let q = agents::table
            .filter(
                lower(agents::name)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(agents::capability_terms.like(pattern).escape('\\')),
            )
            .order((agents::name.asc(), agents::id.asc()))
            .offset(i64::from(offset))
            .limit(i64::from(limit));
        let rows: Vec<AgentRow> = run!(self, |c| q.load(c).await)?;
        rows.into_iter().map(AgentRow::into_agent).collect()
    }

    async fn list_agents(
        &mut self,
        account: Option<&AccountId>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<Agent>, StoreError> {
        let account = account.map(|a| a.as_str().to_owned());
        // Boxed queries are backend-specific: `run!` builds this one per backend.
        let rows: Vec<AgentRow> = run!(self, |c| {
            let mut q = agents::table
                .order((agents::created_at.asc(), agents::id.asc()))
                .offset(i64::from(offset))
                .limit(i64::from(limit))
                .into_boxed();
            if let Some(a) = &account {
                q = q.filter(agents::account_id.eq(a.clone()));
            }
            q.load(c).await
        })?;
        rows.into_iter().map(AgentRow::into_agent).collect()
    }

    async fn agents_naming_spiffe_id(
        &mut self,
        spiffe_id: &SpiffeId,
    ) -> Result<Vec<Agent>, StoreError> {
        let q = agents::table
            .filter(agents::spiffe_id.eq(spiffe_id.to_string()))
            .filter(agents::status.ne("revoked"))
            .order(agents::id.asc());
        let rows: Vec<AgentRow> = run!(self, |c| q.load(c).await)?;
        rows.into_iter().map(AgentRow::into_agent).collect()
    }

    async fn update_agent(&mut self, agent: &Agent) -> Result<(), StoreError> {
        let row = AgentRow::from_agent(agent)?;
        let n = run!(self, |c| diesel::update(
            agents::table.find(agent.id.as_str())
        )
        .set(&row)
        .execute(c)
        .await)?;
        touched(n)?;
        self.changed(tg_service::state_signals::agent_changed(agent.id.as_str()));
        Ok(())
    }
}
