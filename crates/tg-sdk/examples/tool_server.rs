//! What a tool server does with the tokens agents present: verify them offline against the
//! gateway's cached JWKS and check the action is permitted — no call to the gateway per
//! request.
//!
//! ```text
//! TG_API_KEY=$(cat trust-gateway-admin.key) cargo run -p tg-sdk --example tool_server
//! ```

use tg_sdk::types::Attestation;
use tg_sdk::wire::agents::{RegisterRequest, TokenQuery};
use tg_sdk::{Client, TokenVerifier};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("TG_URL").unwrap_or_else(|_| "http://127.0.0.1:8002".into());
    let key = std::env::var("TG_API_KEY").map_err(|_| "set TG_API_KEY to an API key")?;
    let client = Client::new(&url, &key)?;

    // The agent's side: it gets a short-lived token from the gateway.
    let agent = client
        .register_agent(&RegisterRequest {
            attestation: Some(Attestation::ApiKey),
            ..RegisterRequest::new("report-writer", "anthropic", "sha256:77ab")
        })
        .await?;
    let grant = client
        .issue_token(&agent.id, &TokenQuery { expires_in: 300 })
        .await?;
    println!(
        "token for {} permits {:?}",
        agent.name, grant.permitted_actions
    );

    // The tool server's side: fetch the JWKS once (issuer and audience are the gateway's
    // GATEWAY_ISSUER and GATEWAY_AUDIENCE), then verify every call offline.
    let verifier = TokenVerifier::fetch(&client, "trust-gateway", "trust-gateway").await?;
    for action in ["read_data", "delete_database"] {
        match verifier.authorize(&grant.token, action).await {
            Ok(claims) => println!(
                "{action}: allowed for {} (tier {:?})",
                claims.sub, claims.tier
            ),
            Err(e) => println!("{action}: refused: {e}"),
        }
    }
    Ok(())
}
