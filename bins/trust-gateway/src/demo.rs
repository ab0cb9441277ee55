//! `trust-gateway demo`: the product in one minute, on a throw-away SQLite database. A tenant
//! registers two agents; one behaves, one does not. What the tenant reports about its own
//! agents lifts them to tier 1 at most; reports the operator's tool server witnesses with
//! the agents' tokens prove the rest. After each step the demo prints their score, tier and
//! what they may do — then proves the receipt chains are intact.

use tg_core::{AgentId, Outcome};
use tg_identity::Attestation;
use tg_service::{RecordAction, Registration};

use crate::scratch::{self, Scratch, err};

/// Actions whose decisions the demo shows, from the default catalog (tier 1, 2, 3).
const ASKS: [&str; 3] = ["read_data", "send_email", "delete_database"];

struct Demo {
    /// The gateway; its operator's tool server witnesses.
    s: Scratch,
    /// The tenant that owns the agents.
    tenant: tg_access::Principal,
}

impl Demo {
    async fn register(&self, name: &str) -> anyhow::Result<AgentId> {
        let reg = Registration {
            name: name.into(),
            provider: "demo".into(),
            spiffe_id: None,
            config_hash: "sha256-demo".into(),
            capabilities: vec![],
            attestation: Some(Attestation::ApiKey),
            a2a: None,
        };
        let view = self
            .s
            .g
            .register(&self.tenant, &self.s.actor, reg)
            .await
            .map_err(err)?;
        let id = view.agent.id.clone();
        println!(
            "registered {name:<14} {id}  score {:.3}  tier {}",
            view.breakdown.composite, view.breakdown.tier
        );
        Ok(id)
    }

    /// The agent's own account reports.
    async fn record(&self, id: &AgentId, action: &str, result: Outcome) -> anyhow::Result<()> {
        self.report(&self.tenant, id, action, result, None).await
    }

    /// The operator's tool server reports with the agent's token: a witnessed receipt.
    async fn witness(&self, id: &AgentId, action: &str, result: Outcome) -> anyhow::Result<()> {
        let grant = self
            .s
            .g
            .issue_token(&self.tenant, &self.s.actor, id, 300)
            .await
            .map_err(err)?;
        self.report(
            &self.s.operator,
            id,
            action,
            result,
            Some(grant.issued.token),
        )
        .await
    }

    async fn report(
        &self,
        who: &tg_access::Principal,
        id: &AgentId,
        action: &str,
        result: Outcome,
        token: Option<String>,
    ) -> anyhow::Result<()> {
        let req = RecordAction {
            agent_id: id.clone(),
            action: action.into(),
            result,
            reported_at: None,
            token,
        };
        self.s
            .g
            .record_action(who, &self.s.actor, req)
            .await
            .map_err(err)?;
        Ok(())
    }

    /// One line: the agent's score and tier, and a yes/no per action.
    async fn show(&self, name: &str, id: &AgentId, step: &str) -> anyhow::Result<()> {
        let mut decisions = Vec::new();
        let mut standing = (0.0, 0);
        for action in ASKS {
            let o = self
                .s
                .g
                .authorize(&self.s.operator, &self.s.actor, id, action, None)
                .await
                .map_err(err)?;
            standing = (o.current_score, o.current_tier);
            let mark = if o.decision.allowed {
                "yes".to_owned()
            } else {
                format!("no ({})", o.decision.reason())
            };
            decisions.push(format!("{action}: {mark}"));
        }
        println!(
            "{name:<14} {step:<26} score {:.3}  tier {}  | {}",
            standing.0,
            standing.1,
            decisions.join(", ")
        );
        Ok(())
    }
}

pub async fn run() -> anyhow::Result<()> {
    let scratch = scratch::open("demo.db", None).await?;
    let tenant = scratch.tenant("demo-tenant").await?;
    println!(
        "Trust Gateway demo on a temporary SQLite database ({})\n",
        scratch.path.display()
    );
    let demo = Demo { s: scratch, tenant };

    let careful = demo.register("careful-bot").await?;
    let reckless = demo.register("reckless-bot").await?;
    println!();
    demo.show("careful-bot", &careful, "just registered")
        .await?;
    for round in 1..=4 {
        for _ in 0..5 {
            demo.record(&careful, "read_data", Outcome::Success).await?;
        }
        demo.show(
            "careful-bot",
            &careful,
            &format!("after {} self-reported", round * 5),
        )
        .await?;
    }
    for _ in 0..5 {
        demo.witness(&careful, "read_data", Outcome::Success)
            .await?;
    }
    demo.show("careful-bot", &careful, "after 5 witnessed")
        .await?;
    println!();
    for _ in 0..10 {
        demo.record(&reckless, "read_data", Outcome::Success)
            .await?;
    }
    for _ in 0..5 {
        demo.witness(&reckless, "read_data", Outcome::Success)
            .await?;
    }
    demo.show("reckless-bot", &reckless, "after 15 successes")
        .await?;
    demo.witness(&reckless, "delete_database", Outcome::Violation)
        .await?;
    demo.show("reckless-bot", &reckless, "after 1 violation")
        .await?;
    for _ in 0..2 {
        demo.witness(&reckless, "send_email", Outcome::Violation)
            .await?;
    }
    demo.show("reckless-bot", &reckless, "after 3 violations")
        .await?;

    println!();
    for (name, id) in [("careful-bot", &careful), ("reckless-bot", &reckless)] {
        let r = demo
            .s
            .g
            .verify_chain(&demo.s.g.operator(), id)
            .await
            .map_err(err)?;
        println!(
            "receipt chain of {name:<14} {} receipts, {}",
            r.length,
            if r.valid {
                "intact (every HMAC and link checked)"
            } else {
                "BROKEN"
            }
        );
    }
    println!("\nEvery step above is in the audit trail; run `trust-gateway` to serve the API.");
    Ok(())
}
