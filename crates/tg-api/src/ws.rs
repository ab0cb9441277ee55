//! `/ws/dashboard`: the live feed over WebSocket.
//!
//! Authenticated by `X-API-Key`, or by a single-use `?ticket=` from `POST /ws/ticket` for
//! browsers (they cannot set headers). On connect: `initial_stats`; then the events as
//! `{type, timestamp, data}`. Text `ping` → `pong`. The server pings every 30 s and closes
//! a connection silent for 90 s. Each client has a bounded queue: one that cannot keep up
//! is dropped at once (close reason "client too slow"), never slowing the others.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{CloseCode, CloseReason, Message};
use tg_service::{KeyWatch, LiveMessage, LiveSubscription, ServiceError};
use tokio::sync::{Notify, broadcast, mpsc};

use crate::auth::Auth;
use crate::routes::Routes;
use crate::{ApiError, AppState};
use tg_wire::live::{DashboardQuery, Ticket};

/// Largest message a client may send (it only ever needs `ping`).
const MAX_CLIENT_MESSAGE: usize = 4096;
/// Messages queued for one client before it counts as too slow: a whole feed's worth, so a
/// burst of published events never drops a client that reads.
const CLIENT_QUEUE: usize = tg_service::FEED_CAPACITY;
const PING_EVERY: Duration = Duration::from_secs(30);
const IDLE_AFTER: Duration = Duration::from_secs(90);

pub(crate) fn routes(r: &mut Routes) {
    // The feed authenticates itself: by key, or by a ticket (browsers cannot set headers).
    r.public()
        .get("/ws/dashboard", dashboard)
        .post("/ws/ticket", ticket);
}

/// Trades the caller's key for a single-use dashboard ticket (browsers cannot set
/// `X-API-Key` on a WebSocket).
#[utoipa::path(post, path = "/ws/ticket", tag = "live", operation_id = "issue_live_ticket",
    responses((status = 201, description = "The ticket", body = Ticket), crate::openapi::Errors))]
async fn ticket(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let t = state
        .call(move |g| async move { g.issue_live_ticket(&auth.principal) })
        .await?;
    Ok(HttpResponse::Created().json(Ticket {
        ticket: t,
        expires_in: tg_service::TICKET_TTL_SECS,
    }))
}

/// The live feed (WebSocket). First message `initial_stats`, then every event as
/// `{type, timestamp, data}`; send `ping` for `pong`. Authenticated by `X-API-Key` or a
/// `ticket`.
#[utoipa::path(get, path = "/ws/dashboard", tag = "live", operation_id = "live_feed",
    params(DashboardQuery),
    security((), ("api_key" = [])),
    responses((status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "A malformed query string", body = crate::openapi::ErrorBody),
        (status = 401, description = "No valid key or ticket", body = crate::openapi::ErrorBody),
        (status = 422, description = "Not a WebSocket upgrade", body = crate::openapi::ErrorBody),
        (status = 429, description = "The account's dashboard limit is reached", body = crate::openapi::ErrorBody),
        (status = 503, description = "This instance serves its maximum of dashboards, or the store is unavailable", body = crate::openapi::ErrorBody)))]
async fn dashboard(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    q: web::Query<DashboardQuery>,
) -> Result<HttpResponse, ApiError> {
    let key = req
        .headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let ticket = q.into_inner().ticket;
    let sub = state
        .call(move |g| async move {
            let principal = match (key, ticket) {
                (Some(k), _) => g.authenticate(Some(&k)).await?,
                (None, Some(t)) => g.redeem_live_ticket(&t)?,
                (None, None) => {
                    return Err(ServiceError::Unauthorized(
                        "an API key (X-API-Key) or a `ticket` from POST /ws/ticket is required"
                            .into(),
                    ));
                }
            };
            let watch = g.watch_key(&principal);
            Ok((g.subscribe_live(&principal)?, watch))
        })
        .await?;
    let (sub, watch) = sub;
    let account = sub.account.clone();
    let initial = state
        .call(move |g| async move { g.initial_stats(account.as_ref()).await })
        .await?;
    let (response, session, stream) = actix_ws::handle(&req, body).map_err(|e| {
        ApiError::from(ServiceError::Invalid(format!(
            "not a WebSocket upgrade: {e}"
        )))
    })?;
    let stream = stream.max_frame_size(MAX_CLIENT_MESSAGE);
    actix_web::rt::spawn(serve(session, stream, sub, watch, initial));
    Ok(response)
}

/// Moves feed messages into the client's bounded queue; kicks the client when it lags.
async fn forward(
    mut sub: LiveSubscription,
    queue: mpsc::Sender<Arc<LiveMessage>>,
    kick: Arc<Notify>,
) {
    loop {
        match sub.rx.recv().await {
            Ok(m) => {
                if sub.wants(&m) && queue.try_send(m).is_err() {
                    break;
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => break,
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
    kick.notify_one();
}

async fn serve(
    mut session: actix_ws::Session,
    mut stream: actix_ws::MessageStream,
    sub: LiveSubscription,
    mut watch: KeyWatch,
    initial: String,
) {
    if session.text(initial).await.is_err() {
        return;
    }
    let (queue, mut queued) = mpsc::channel(CLIENT_QUEUE);
    let kick = Arc::new(Notify::new());
    let forwarder = tokio::spawn(forward(sub, queue, Arc::clone(&kick)));
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut heard = Instant::now();
    let reason = loop {
        tokio::select! {
            m = queued.recv() => {
                let Some(m) = m else { break None };
                tokio::select! {
                    sent = session.text(m.text.clone()) => if sent.is_err() { return },
                    () = kick.notified() => break Some(slow()),
                }
            }
            () = kick.notified() => break Some(slow()),
            () = watch.revoked() => break Some(CloseReason {
                code: CloseCode::Policy,
                description: Some("the API key was revoked".into()),
            }),
            msg = stream.recv() => match msg {
                Some(Ok(Message::Text(t))) => {
                    heard = Instant::now();
                    if t.trim() == "ping" && session.text("pong").await.is_err() {
                        break None;
                    }
                }
                Some(Ok(Message::Ping(bytes))) => {
                    heard = Instant::now();
                    if session.pong(&bytes).await.is_err() {
                        break None;
                    }
                }
                Some(Ok(Message::Pong(_))) => heard = Instant::now(),
                Some(Ok(Message::Close(_))) | None => break None,
                Some(Err(e)) => {
                    break Some(CloseReason {
                        code: CloseCode::Size,
                        description: Some(format!("protocol error: {e}")),
                    })
                }
                Some(Ok(_)) => heard = Instant::now(),
            },
            _ = ping.tick() => {
                if heard.elapsed() > IDLE_AFTER {
                    break Some(CloseReason { code: CloseCode::Away, description: Some("idle timeout".into()) });
                }
                if session.ping(b"").await.is_err() {
                    break None;
                }
            }
        }
    };
    forwarder.abort();
    if let Some(reason) = reason {
        // Best effort: a client too slow to read cannot take a close frame either.
        let _ = tokio::time::timeout(Duration::from_secs(1), session.close(Some(reason))).await;
    }
}

fn slow() -> CloseReason {
    CloseReason {
        code: CloseCode::Policy,
        description: Some("client too slow: messages were dropped".into()),
    }
}
