//! The live feed (`/ws/dashboard`) over WebSocket.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::{SinkExt, Stream, StreamExt, ready};
use tg_audit::LiveEvent;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::client::API_KEY_HEADER;
use crate::{Client, Error};

/// A connection to the live feed: `initial_stats` first, then every event of the key's
/// account (all accounts for admin keys) as it commits. The gateway's pings are answered
/// while reading, so a reader stays connected; a reader too slow to keep up is closed by
/// the gateway, which [`LiveFeed::next`] reports as an error.
#[derive(Debug)]
pub struct LiveFeed {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    /// Connects to `GET /ws/dashboard` with the client's key (`ws://`, or `wss://` for an
    /// `https://` gateway).
    pub async fn live_feed(&self) -> Result<LiveFeed, Error> {
        let mut request = self
            .base()
            .websocket(&["ws", "dashboard"])
            .into_client_request()
            .map_err(|e| Error::InvalidRequest(e.to_string()))?;
        if let Some(key) = self.api_key() {
            request.headers_mut().insert(API_KEY_HEADER, key.clone());
        }
        let timeout = self.timeout();
        let connected = tokio::time::timeout(timeout, tokio_tungstenite::connect_async(request))
            .await
            .map_err(|_| Error::Timeout(timeout))?;
        match connected {
            Ok((ws, _)) => Ok(LiveFeed { ws }),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                let status = resp.status();
                let body = resp.into_body().unwrap_or_default();
                Err(crate::client::refusal(status, &body))
            }
            Err(e) => Err(Error::Transport(e.to_string())),
        }
    }
}

impl LiveFeed {
    /// The next event; `None` once the gateway has closed the feed normally. (The feed is
    /// also a `futures::Stream` of the same items.)
    pub async fn next(&mut self) -> Option<Result<LiveEvent, Error>> {
        StreamExt::next(self).await
    }

    /// Sends the protocol's text `ping` (the gateway answers `pong`, which `next` skips).
    pub async fn ping(&mut self) -> Result<(), Error> {
        self.ws
            .send(Message::text("ping"))
            .await
            .map_err(|e| Error::LiveFeed(e.to_string()))
    }

    /// Closes the connection politely.
    pub async fn close(&mut self) -> Result<(), Error> {
        self.ws
            .close(None)
            .await
            .map_err(|e| Error::LiveFeed(e.to_string()))
    }
}

/// What one WebSocket message means for the feed.
enum Meaning {
    /// Pings, pongs and the protocol's text `pong`.
    Skip,
    /// A normal close.
    End,
    Item(Result<LiveEvent, Error>),
}

fn meaning(message: Message) -> Meaning {
    match message {
        Message::Text(text) if text.as_str() == "pong" => Meaning::Skip,
        Message::Text(text) => {
            Meaning::Item(
                serde_json::from_str(text.as_str()).map_err(|e| Error::InvalidResponse {
                    status: 101,
                    detail: format!("not a live event: {e}"),
                }),
            )
        }
        Message::Close(Some(frame)) if frame.code != CloseCode::Normal => {
            Meaning::Item(Err(Error::LiveFeed(format!(
                "closed by the gateway ({}): {}",
                u16::from(frame.code),
                frame.reason.as_str()
            ))))
        }
        Message::Close(_) => Meaning::End,
        Message::Binary(_) | Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {
            Meaning::Skip
        }
    }
}

impl Stream for LiveFeed {
    type Item = Result<LiveEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let message = match ready!(self.ws.poll_next_unpin(cx)) {
                None => return Poll::Ready(None),
                Some(Err(e)) => return Poll::Ready(Some(Err(Error::LiveFeed(e.to_string())))),
                Some(Ok(m)) => m,
            };
            match meaning(message) {
                Meaning::Skip => {}
                Meaning::End => return Poll::Ready(None),
                Meaning::Item(item) => return Poll::Ready(Some(item)),
            }
        }
    }
}
