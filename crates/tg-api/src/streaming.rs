//! Streamed answers (exports): a producer task on the use-case runtime sends chunks as it
//! reads pages, so memory stays at one page; a client that goes away stops it.

use std::future::Future;

use tg_service::ServiceError;

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

/// An export read page by page.
pub(crate) trait Paged: Send {
    type Item;
    fn next_page(
        &mut self,
    ) -> impl Future<Output = Result<Option<Vec<Self::Item>>, ServiceError>> + Send;
}

impl Paged for tg_service::AuditExport {
    type Item = tg_audit::AuditEvent;
    fn next_page(
        &mut self,
    ) -> impl Future<Output = Result<Option<Vec<Self::Item>>, ServiceError>> + Send {
        tg_service::AuditExport::next_page(self)
    }
}

impl Paged for tg_service::ReceiptExport {
    type Item = tg_receipts::Receipt;
    fn next_page(
        &mut self,
    ) -> impl Future<Output = Result<Option<Vec<Self::Item>>, ServiceError>> + Send {
        tg_service::ReceiptExport::next_page(self)
    }
}

/// An export's second pass: its receipts' proofs in the transparency log.
pub(crate) struct LogProofs<'a>(pub &'a mut tg_service::ReceiptExport);

impl Paged for LogProofs<'_> {
    type Item = tg_service::ReceiptLogProof;
    fn next_page(
        &mut self,
    ) -> impl Future<Output = Result<Option<Vec<Self::Item>>, ServiceError>> + Send {
        self.0.next_proof_page()
    }
}

/// Sends every page of `export`, each encoded by `encode(page, is_first_page)`. `None` when
/// the answer ended early (client gone, or a failure already reported to it); else whether
/// any page was sent.
pub(crate) async fn pump<P: Paged>(
    export: &mut P,
    out: &Sink,
    what: &'static str,
    mut encode: impl FnMut(&[P::Item], bool) -> Result<Bytes, String>,
) -> Option<bool> {
    let mut first = true;
    loop {
        let page = match export.next_page().await {
            Ok(Some(p)) => p,
            Ok(None) => return Some(!first),
            Err(e) => {
                tracing::error!(error = %tg_core::ErrorChain(&e), export = what, "export failed mid-stream");
                out.fail("export interrupted").await;
                return None;
            }
        };
        let bytes = match encode(&page, first) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, export = what, "export encoding failed");
                out.fail("export failed").await;
                return None;
            }
        };
        first = false;
        if !out.send(bytes).await {
            return None;
        }
    }
}
