//! Background tasks tied to the gateway's lifetime.

/// A background worker: stopped by [`Worker::stop`], or aborted when the gateway goes away.
#[derive(Debug)]
pub(crate) struct Worker(Option<tokio::task::JoinHandle<()>>);

impl Worker {
    pub(crate) fn new(handle: tokio::task::JoinHandle<()>) -> Self {
        Self(Some(handle))
    }

    pub(crate) fn none() -> Self {
        Self(None)
    }

    /// Whether its task is still running.
    pub(crate) fn running(&self) -> bool {
        self.0.as_ref().is_some_and(|h| !h.is_finished())
    }

    /// Stops the task and waits until it has ended (a task stops at its next await).
    pub(crate) async fn stop(mut self) {
        if let Some(h) = self.0.take() {
            h.abort();
            // Cancelled, or it had already ended (a panic was logged when it happened).
            let _ = h.await;
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            h.abort();
        }
    }
}
