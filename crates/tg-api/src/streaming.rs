//! Streamed answers (exports): a producer task on the use-case runtime sends chunks as it
//! reads pages, so memory stays at one page; a client that goes away stops it.

use std::future::Future;

use actix_web::web::Bytes;
use futures_util::Stream;
use tokio::sync::mpsc;

use crate::AppState;

pub(crate) type Chunk = Result<Bytes, std::io::Error>;

/// Where a producer sends its chunks.
#[derive(Debug, Clone)]
pub(crate) struct Sink(mpsc::Sender<Chunk>);

impl Sink {
    /// Sends `bytes`; false once the client is gone (the producer should stop).
    pub async fn send(&self, bytes: impl Into<Bytes>) -> bool {
        self.0.send(Ok(bytes.into())).await.is_ok()
    }

    /// Ends the answer with an error (the client sees a cut connection, not a whole file).
    pub async fn fail(&self, what: &'static str) {
        let _ = self.0.send(Err(std::io::Error::other(what))).await;
    }
}

/// Runs `produce` and returns the body stream of what it sends.
pub(crate) fn stream<F, Fut>(state: &AppState, produce: F) -> impl Stream<Item = Chunk> + 'static
where
    F: FnOnce(Sink) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<Chunk>(4);
    state.spawn(produce(Sink(tx)));
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    })
}

/// `items` as the members of a JSON array, comma-separated (a leading comma unless this is
/// the array's first chunk).
pub(crate) fn json_items<T: serde::Serialize>(
    items: &[T],
    first: bool,
) -> Result<Bytes, serde_json::Error> {
    let mut out = Vec::with_capacity(items.len() * 256);
    for (i, item) in items.iter().enumerate() {
        if !(first && i == 0) {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, item)?;
    }
    Ok(Bytes::from(out))
}
