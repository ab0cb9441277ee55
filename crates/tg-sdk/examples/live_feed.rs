//! Follow the gateway's live feed with the blocking client: `initial_stats`, then every
//! registration, receipt, denial and tier change as it commits.
//!
//! ```text
//! TG_API_KEY=$(cat trust-gateway-admin.key) cargo run -p tg-sdk --example live_feed
//! ```
//!
//! `TG_EVENTS` stops after that many events (default: follow until the feed closes).

use tg_sdk::blocking::Client;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("TG_URL").unwrap_or_else(|_| "http://127.0.0.1:8002".into());
    let key = std::env::var("TG_API_KEY").map_err(|_| "set TG_API_KEY to an API key")?;
    let limit = match std::env::var("TG_EVENTS") {
        Ok(n) => n.parse::<usize>()?,
        Err(_) => usize::MAX,
    };
    let client = Client::new(&url, &key)?;
    for event in client.live_feed()?.take(limit) {
        let event = event?;
        println!("{} {} {}", event.timestamp, event.kind, event.data);
    }
    Ok(())
}
