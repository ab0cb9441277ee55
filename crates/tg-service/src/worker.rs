//! Background tasks tied to the gateway's lifetime.

/// Aborts a background worker when the gateway goes away.
#[derive(Debug)]
pub(crate) struct Worker(Option<tokio::task::JoinHandle<()>>);

impl Worker {
    pub(crate) fn new(handle: tokio::task::JoinHandle<()>) -> Self {
        Self(Some(handle))
    }

    pub(crate) fn none() -> Self {
        Self(None)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            h.abort();
        }
    }
}
