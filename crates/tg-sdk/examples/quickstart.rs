//! Register an agent, record what it does, ask whether it may act, and check it
//! fail-closed — the async client end to end.
//!
//! Start a gateway (`cargo run -p trust-gateway`), then:
//!
//! ```text
//! TG_API_KEY=$(cat trust-gateway-admin.key) cargo run -p tg-sdk --example quickstart
//! ```
//!
//! `TG_URL` defaults to `http://127.0.0.1:8002`.

use tg_sdk::types::Attestation;
use tg_sdk::wire::agents::RegisterRequest;
use tg_sdk::wire::authorize::AuthorizeRequest;
use tg_sdk::wire::receipts::RecordRequest;
use tg_sdk::{Client, Outcome};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("TG_URL").unwrap_or_else(|_| "http://127.0.0.1:8002".into());
    let key = std::env::var("TG_API_KEY").map_err(|_| "set TG_API_KEY to an API key")?;
    let client = Client::new(&url, &key)?;

    let agent = client
        .register_agent(&RegisterRequest {
            capabilities: vec!["send_email".into(), "read_data".into()],
            attestation: Some(Attestation::ApiKey),
            ..RegisterRequest::new("email-bot", "openai", "sha256:5e1f2a")
        })
        .await?;
    println!(
        "registered {} ({}): score {:.3}, tier {} {}",
        agent.name, agent.id, agent.trust_score, agent.trust_tier, agent.tier_name
    );

    for _ in 0..10 {
        let recorded = client
            .record_action(&RecordRequest::new(
                &agent.id,
                "read_data",
                Outcome::Success,
            ))
            .await?;
        println!(
            "receipt #{}: score {:.3} -> {:.3}",
            recorded.receipt.seq, recorded.previous_score, recorded.new_score
        );
    }

    for action in ["read_data", "delete_database"] {
        let d = client
            .authorize_action(&AuthorizeRequest::new(&agent.id, action))
            .await?;
        let verdict = if d.decision.allowed {
            "allowed"
        } else {
            "denied"
        };
        println!("{action}: {verdict} ({})", d.decision.reason);
    }

    // Joy §7.1: any failure is a denial, so act on `meets_threshold` alone.
    let trust = client.verify(&agent.id, 1.0).await;
    println!(
        "meets 1.0 on Joy's 0-5 scale: {} (score {:.2}{})",
        trust.meets_threshold,
        trust.trust_score,
        trust.error.map(|e| format!(", {e}")).unwrap_or_default()
    );
    Ok(())
}
