//! `trust-gateway simulate`: attacker populations against the real gateway — scoring,
//! provenance, tokens, delegations and EigenTrust — in-process on a temporary SQLite
//! database, on a virtual clock (60 days in seconds). It prints, per class, the highest
//! tier its agents held over time and how much honest agents had to do to reach tier 2,
//! and fails if an attacker class reaches tier 2 (docs/TRUST-MODEL.md).

use std::collections::BTreeMap;
use std::sync::Arc;

use tg_access::Principal;
use tg_core::{AgentId, ManualClock, Outcome, Timestamp};
use tg_identity::Attestation;
use tg_service::{NewDelegation, NewVouch, RecordAction, Registration};

use crate::scratch::{self, Scratch, err};

const DAYS: u32 = 60;
const SHOWN: [u32; 6] = [1, 7, 14, 30, 45, 60];
/// 2027-01-01T00:00:00Z, day 0.
const START: Timestamp = Timestamp::from_secs(1_798_761_600);

struct Sim {
    s: Scratch,
    clock: Arc<ManualClock>,
    /// The honest tool server: an account whose agent the operator anchored.
    tools: Principal,
}

impl Sim {
    fn tick(&self) {
        self.clock.advance_secs(30);
    }

    async fn account(&self, name: &str) -> anyhow::Result<Principal> {
        self.s.tenant(name).await
    }

    async fn agent(&self, owner: &Principal, name: &str) -> anyhow::Result<AgentId> {
        let reg = Registration {
            name: name.into(),
            provider: "sim".into(),
            spiffe_id: None,
            config_hash: "sha256-sim".into(),
            capabilities: vec![],
            attestation: Some(Attestation::ApiKey),
            a2a: None,
        };
        let view = self
            .s
            .g
            .register(owner, &self.s.actor, reg)
            .await
            .map_err(err)?;
        Ok(view.agent.id.clone())
    }

    async fn token(&self, owner: &Principal, agent: &AgentId) -> anyhow::Result<String> {
        let grant = self
            .s
            .g
            .issue_token(owner, &self.s.actor, agent, 86_400)
            .await
            .map_err(err)?;
        Ok(grant.issued.token)
    }

    /// One report; `token` makes `who` a witness. Refusals are the attackers' problem.
    async fn report(
        &self,
        who: &Principal,
        agent: &AgentId,
        result: Outcome,
        token: Option<&str>,
    ) -> Result<(), tg_service::ServiceError> {
        self.tick();
        let req = RecordAction {
            agent_id: agent.clone(),
            action: "read_data".into(),
            result,
            reported_at: None,
            token: token.map(str::to_owned),
        };
        self.s
            .g
            .record_action(who, &self.s.actor, req)
            .await
            .map(drop)
    }

    async fn self_reports(
        &self,
        owner: &Principal,
        agent: &AgentId,
        n: usize,
    ) -> anyhow::Result<()> {
        for _ in 0..n {
            self.report(owner, agent, Outcome::Success, None)
                .await
                .map_err(err)?;
        }
        Ok(())
    }

    /// The tool server deals with the agent and reports how it went, with today's token.
    async fn witnessed(&self, agent: &AgentId, token: &str, result: Outcome) -> anyhow::Result<()> {
        self.report(&self.tools, agent, result, Some(token))
            .await
            .map_err(err)
    }

    async fn tier(&self, agent: &AgentId) -> anyhow::Result<u8> {
        Ok(self
            .s
            .g
            .trust_view(agent)
            .await
            .map_err(err)?
            .breakdown
            .tier)
    }
}

/// An honest agent's receipts so far, and those it had when it first stood at tier 2
/// (self-reported, witnessed, day).
#[derive(Default)]
struct Progress {
    self_reported: u32,
    witnessed: u32,
    reached: Option<(u32, u32, u32)>,
}

/// One attacker or honest population, and what it reached.
struct Class {
    name: &'static str,
    what: &'static str,
    owner: Principal,
    agents: Vec<AgentId>,
    /// Highest tier of any of its agents at the end of each day.
    by_day: BTreeMap<u32, u8>,
    /// Highest tier held at a moment that counts against an attacker (every moment for
    /// farming classes; right after an attack for on-off and whitewashing).
    while_attacking: u8,
    attacker: bool,
}

impl Class {
    fn new(name: &'static str, what: &'static str, owner: Principal, attacker: bool) -> Self {
        Self {
            name,
            what,
            owner,
            agents: Vec::new(),
            by_day: BTreeMap::new(),
            while_attacking: 0,
            attacker,
        }
    }
}

pub async fn run() -> anyhow::Result<()> {
    let clock = Arc::new(ManualClock::new(START));
    let s = scratch::open("simulate.db", Some(clock.clone())).await?;
    let placeholder = s.operator.clone();
    let mut sim = Sim {
        s,
        clock,
        tools: placeholder,
    };
    sim.tools = sim.account("tool-server").await?;
    let tool_agent = sim.agent(&sim.tools.clone(), "tool-server").await?;
    sim.s
        .g
        .set_anchor(&sim.s.operator, &sim.s.actor, &tool_agent, true)
        .await
        .map_err(err)?;

    let mut honest = Class::new(
        "honest",
        "2 self-reports and 1 success the tool server witnesses a day",
        sim.account("honest").await?,
        false,
    );
    let mut farm = Class::new(
        "self-reporters",
        "10 self-reported successes a day",
        sim.account("farm").await?,
        true,
    );
    let mut whitewash = Class::new(
        "whitewashers",
        "5 self-reports and 1 witnessed success a day; a witnessed violation every 3rd day, then a fresh identity",
        sim.account("whitewash").await?,
        true,
    );
    let mut onoff = Class::new(
        "on-off",
        "honest for 11 days, then 3 days with a witnessed violation each",
        sim.account("on-off").await?,
        true,
    );
    let mut ring = Class::new(
        "colluding ring",
        "3 accounts x 3 agents: mutual vouches, 5 self-reports a day, witnessed twice a day by each other ring account",
        sim.account("ring-0").await?,
        true,
    );
    let grief = sim.account("grief").await?;
    for i in 0..8 {
        honest.agents.push(
            sim.agent(&honest.owner.clone(), &format!("honest-{i}"))
                .await?,
        );
    }
    for i in 0..6 {
        farm.agents
            .push(sim.agent(&farm.owner.clone(), &format!("farm-{i}")).await?);
    }
    for i in 0..3 {
        onoff.agents.push(
            sim.agent(&onoff.owner.clone(), &format!("onoff-{i}"))
                .await?,
        );
    }
    let mut whitewash_generation = 0;
    for i in 0..3 {
        whitewash.agents.push(
            sim.agent(&whitewash.owner.clone(), &format!("ww-{i}-0"))
                .await?,
        );
    }
    let mut ring_members: Vec<(Principal, AgentId)> = Vec::new();
    let ring_accounts = [
        ring.owner.clone(),
        sim.account("ring-1").await?,
        sim.account("ring-2").await?,
    ];
    for (a, owner) in ring_accounts.iter().enumerate() {
        for i in 0..3 {
            let id = sim.agent(owner, &format!("ring-{a}-{i}")).await?;
            ring_members.push((owner.clone(), id.clone()));
            ring.agents.push(id);
        }
    }
    for (owner, from) in &ring_members {
        for (_, to) in &ring_members {
            if from != to {
                let v = NewVouch {
                    from_agent: from.clone(),
                    weight: 1.0,
                    note: None,
                    signature: None,
                };
                sim.s
                    .g
                    .vouch(owner, &sim.s.actor, to, v)
                    .await
                    .map_err(err)?;
            }
        }
    }
    // The grief attacker's victims: half the honest agents.
    let victims: Vec<AgentId> = honest.agents.iter().take(4).cloned().collect();
    let mut grief_refused = 0u64;
    let mut grief_attempts = 0u64;

    // Receipts (of each kind) honest agents needed before they first stood at tier 2.
    let mut honest_receipts: BTreeMap<AgentId, Progress> = BTreeMap::new();

    for day in 1..=DAYS {
        sim.clock.set(START.plus_secs(i64::from(day) * 86_400));
        sim.s.g.recompute_vouches().await.map_err(err)?;

        for agent in &honest.agents {
            let token = sim.token(&honest.owner, agent).await?;
            sim.self_reports(&honest.owner, agent, 2).await?;
            sim.witnessed(agent, &token, Outcome::Success).await?;
            let p = honest_receipts.entry(agent.clone()).or_default();
            p.self_reported += 2;
            p.witnessed += 1;
            if p.reached.is_none() && sim.tier(agent).await? >= 2 {
                p.reached = Some((p.self_reported, p.witnessed, day));
            }
        }
        for agent in &farm.agents {
            sim.self_reports(&farm.owner, agent, 10).await?;
        }
        for (owner, agent) in &ring_members {
            sim.self_reports(owner, agent, 5).await?;
            let token = sim.token(owner, agent).await?;
            for witness in ring_accounts
                .iter()
                .filter(|a| a.account_id != owner.account_id)
            {
                for _ in 0..2 {
                    sim.report(witness, agent, Outcome::Success, Some(&token))
                        .await
                        .map_err(err)?;
                }
            }
        }
        let attack_day = day % 14 >= 12;
        for agent in &onoff.agents {
            let token = sim.token(&onoff.owner, agent).await?;
            sim.self_reports(&onoff.owner, agent, 2).await?;
            if attack_day {
                sim.witnessed(agent, &token, Outcome::Violation).await?;
                onoff.while_attacking = onoff.while_attacking.max(sim.tier(agent).await?);
            } else {
                sim.witnessed(agent, &token, Outcome::Success).await?;
            }
        }
        let shed = day % 3 == 0;
        if shed {
            whitewash_generation += 1;
        }
        for (i, slot) in whitewash.agents.iter_mut().enumerate() {
            let token = sim.token(&whitewash.owner, slot).await?;
            sim.self_reports(&whitewash.owner, slot, 5).await?;
            sim.witnessed(slot, &token, Outcome::Success).await?;
            whitewash.while_attacking = whitewash.while_attacking.max(sim.tier(slot).await?);
            if shed {
                sim.witnessed(slot, &token, Outcome::Violation).await?;
                let name = format!("ww-{i}-{whitewash_generation}");
                *slot = sim.agent(&whitewash.owner.clone(), &name).await?;
            }
        }
        // Grief: invented delegations that fail, and reports with no token.
        for victim in &victims {
            for _ in 0..5 {
                grief_attempts += 1;
                let d = sim
                    .s
                    .g
                    .delegate(
                        &grief,
                        &sim.s.actor,
                        NewDelegation {
                            from: tg_delegation::Delegator::Human("user:mallory".into()),
                            to_agent: victim.clone(),
                            task_type: "sabotage".into(),
                            threshold: 0.0,
                            parent_delegation_id: None,
                            token: None,
                        },
                    )
                    .await;
                if let Ok(tg_service::Delegated::Made(d)) = d {
                    let outcome = tg_delegation::DelegationOutcome::Failure;
                    sim.s
                        .g
                        .record_outcome(&grief, &sim.s.actor, &d.id, outcome, None, None)
                        .await
                        .map_err(err)?;
                }
                grief_attempts += 1;
                if sim
                    .report(&grief, victim, Outcome::Violation, None)
                    .await
                    .is_err()
                {
                    grief_refused += 1;
                }
            }
        }

        for class in [
            &mut honest,
            &mut farm,
            &mut ring,
            &mut onoff,
            &mut whitewash,
        ] {
            let mut top = 0;
            for agent in &class.agents {
                top = top.max(sim.tier(agent).await?);
            }
            class.by_day.insert(day, top);
            if class.attacker && class.name != "on-off" {
                class.while_attacking = class.while_attacking.max(top);
            }
        }
    }

    let mut victim_tiers = Vec::new();
    for v in &victims {
        victim_tiers.push(sim.tier(v).await?);
    }
    let mut bystander_tiers = Vec::new();
    for a in honest.agents.iter().skip(4) {
        bystander_tiers.push(sim.tier(a).await?);
    }

    println!("Trust simulation: {DAYS} virtual days, default policy, real gateway on SQLite\n");
    print!("| class | behaviour |");
    for d in SHOWN {
        print!(" day {d} |");
    }
    println!(" highest tier while attacking |");
    print!("|---|---|");
    for _ in SHOWN {
        print!("---|");
    }
    println!("---|");
    let mut failed = Vec::new();
    for class in [&honest, &farm, &ring, &whitewash, &onoff] {
        print!(
            "| {} ({} agents) | {} |",
            class.name,
            class.agents.len(),
            class.what
        );
        for d in SHOWN {
            print!(" {} |", class.by_day.get(&d).copied().unwrap_or_default());
        }
        if class.attacker {
            println!(" {} |", class.while_attacking);
            if class.while_attacking >= 2 {
                failed.push(class.name);
            }
        } else {
            println!(" — |");
        }
    }
    let victims_min = victim_tiers.iter().copied().min().unwrap_or_default();
    let bystanders_min = bystander_tiers.iter().copied().min().unwrap_or_default();
    println!(
        "\nGrief (one account, 5 invented failed delegations and 5 violation reports without a token a day against 4 honest agents): the victims' lowest tier on day {DAYS} is {victims_min}, the untouched honest agents' {bystanders_min}; {grief_refused} of {} reports were refused.",
        grief_attempts / 2
    );
    if victims_min < bystanders_min {
        failed.push("grief");
    }

    let mut reached: Vec<(u32, u32, u32)> =
        honest_receipts.values().filter_map(|p| p.reached).collect();
    reached.sort_unstable_by_key(|(s, w, _)| s + w);
    let median = reached.get(reached.len() / 2).copied();
    if let (true, Some((s, w, day))) = (reached.len() == honest.agents.len(), median) {
        println!(
            "\nHonest agents reached tier 2 after {} receipts (median: {s} self-reported and {w} witnessed), on day {day}.",
            s + w
        );
    } else {
        println!(
            "\nOnly {} of {} honest agents reached tier 2.",
            reached.len(),
            honest.agents.len()
        );
        failed.push("honest (never reached tier 2)");
    }
    if failed.is_empty() {
        println!("No attacker class reached tier 2.");
        Ok(())
    } else {
        anyhow::bail!("the trust model failed for: {}", failed.join(", "))
    }
}
