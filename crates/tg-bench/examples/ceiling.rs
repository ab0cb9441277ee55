//! The ceiling server: what a bare actix-web server answers on this machine for a request
//! shaped like `POST /authorize` — an API-key check, a JSON body parsed, one hash-map
//! lookup, a JSON answer — or like `GET /agents/{id}/trust` (the key check, the lookup, a
//! JSON answer), with the gateway's worker count. Load scripts run wrk against it
//! and the gateway in one session and report the gateway's rate as a ratio of this one.
//!
//!   cargo run --release -p tg-bench --example ceiling -- PORT KEY AGENT_ID
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

struct Ceiling {
    key: String,
    tiers: HashMap<String, u8>,
}

/// The API-key check both routes make.
fn refused(state: &Ceiling, req: &HttpRequest) -> Option<HttpResponse> {
    let presented = req
        .headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    (presented != state.key)
        .then(|| HttpResponse::Unauthorized().json(serde_json::json!({"detail": "invalid key"})))
}

async fn trust(
    state: web::Data<Arc<Ceiling>>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    if let Some(refusal) = refused(&state, &req) {
        return refusal;
    }
    match state.tiers.get(id.as_str()) {
        Some(tier) => HttpResponse::Ok().json(serde_json::json!({
            "agent_id": id.as_str(),
            "trust_tier": tier,
            "trust_score": 0.5,
        })),
        None => HttpResponse::NotFound().json(serde_json::json!({"detail": "unknown agent"})),
    }
}

async fn authorize(
    state: web::Data<Arc<Ceiling>>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    if let Some(refusal) = refused(&state, &req) {
        return refusal;
    }
    let Ok(asked) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return HttpResponse::BadRequest().json(serde_json::json!({"detail": "bad json"}));
    };
    let agent = asked
        .get("agent_id")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let action = asked
        .get("action")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    match state.tiers.get(agent) {
        Some(tier) => HttpResponse::Ok().json(serde_json::json!({
            "agent_id": agent,
            "action": action,
            "allowed": *tier >= 1,
            "current_tier": tier,
        })),
        None => HttpResponse::NotFound().json(serde_json::json!({"detail": "unknown agent"})),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args.get(1).and_then(|p| p.parse().ok()).unwrap_or(18099);
    let key = args.get(2).cloned().unwrap_or_default();
    let agent = args.get(3).cloned().unwrap_or_default();
    let state = Arc::new(Ceiling {
        key,
        tiers: HashMap::from([(agent, 2)]),
    });
    HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(Arc::clone(&state)))
            .route("/authorize", web::post().to(authorize))
            .route("/agents/{id}/trust", web::get().to(trust))
    })
    .workers(2)
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
