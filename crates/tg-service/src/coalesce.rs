//! Coalescing per key: concurrent calls with the same key run as one batch.
//!
//! The first call for a key starts a leader task; calls that arrive while a batch runs
//! queue behind it and form the next batch. Every caller gets its own answer once the
//! batch that held it is done. No timer: a batch is whatever queued while the previous
//! one ran, so a lone call runs at once and a busy key runs in ever larger batches.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

type Queue<I, O> = Vec<(I, oneshot::Sender<O>)>;

/// Queues of calls per key; a key is present while its leader runs.
pub struct Coalescer<K, I, O> {
    queues: Mutex<HashMap<K, Queue<I, O>>>,
    max_batch: usize,
}

impl<K, I, O> std::fmt::Debug for Coalescer<K, I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coalescer")
            .field("max_batch", &self.max_batch)
            .finish_non_exhaustive()
    }
}

impl<K, I, O> Coalescer<K, I, O>
where
    K: Eq + Hash + Clone + Send + 'static,
    I: Send + 'static,
    O: Send + 'static,
{
    /// At most `max_batch` calls per batch (at least one).
    pub fn new(max_batch: usize) -> Arc<Self> {
        Arc::new(Self {
            queues: Mutex::new(HashMap::new()),
            max_batch: max_batch.max(1),
        })
    }

    fn queues(&self) -> MutexGuard<'_, HashMap<K, Queue<I, O>>> {
        // Nothing under this lock can leave the map half-changed.
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `item` under `key` and waits for its answer. `run` gets each batch in
    /// arrival order and returns one answer per item, in the same order. `None` when the
    /// batch gave no answer for this item (it panicked or returned too few).
    pub async fn submit<F, Fut>(self: &Arc<Self>, key: K, item: I, run: F) -> Option<O>
    where
        F: Fn(K, Vec<I>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<O>> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let lead = {
            let mut queues = self.queues();
            match queues.get_mut(&key) {
                Some(queue) => {
                    queue.push((item, reply));
                    false
                }
                None => {
                    queues.insert(key.clone(), vec![(item, reply)]);
                    true
                }
            }
        };
        if lead {
            // A task of its own: the batch must finish even if this caller goes away.
            let this = Arc::clone(self);
            tokio::spawn(async move { this.lead(key, run).await });
        }
        answer.await.ok()
    }

    /// Runs batches for `key` until its queue is empty, then lets the key go.
    async fn lead<F, Fut>(self: Arc<Self>, key: K, run: F)
    where
        F: Fn(K, Vec<I>) -> Fut,
        Fut: Future<Output = Vec<O>>,
    {
        // If `run` panics, the key is released and the queued callers get no answer
        // (their senders drop) instead of waiting forever for a leader that is gone.
        let mut guard = Release {
            owner: &self,
            key: Some(key.clone()),
        };
        loop {
            let batch = {
                let mut queues = self.queues();
                let Some(queue) = queues.get_mut(&key) else {
                    return;
                };
                if queue.is_empty() {
                    queues.remove(&key);
                    guard.key = None;
                    return;
                }
                let n = queue.len().min(self.max_batch);
                queue.drain(..n).collect::<Vec<_>>()
            };
            let (items, replies): (Vec<I>, Vec<oneshot::Sender<O>>) = batch.into_iter().unzip();
            let answers = run(key.clone(), items).await;
            for (reply, answer) in replies.into_iter().zip(answers) {
                // A caller that went away does not want its answer.
                let _ = reply.send(answer);
            }
        }
    }

    /// Keys with a leader running now.
    pub fn busy_keys(&self) -> usize {
        self.queues().len()
    }

    /// Calls queued behind a running batch, over every key.
    pub fn waiting(&self) -> usize {
        self.queues().values().map(Vec::len).sum()
    }
}

struct Release<'a, K: Eq + Hash, I, O> {
    owner: &'a Coalescer<K, I, O>,
    key: Option<K>,
}

impl<K: Eq + Hash, I, O> Drop for Release<'_, K, I, O> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut queues = self
                .owner
                .queues
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            queues.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::Notify;

    #[tokio::test]
    async fn a_lone_call_runs_at_once_and_gets_its_answer() {
        let c = Coalescer::<u8, u32, u32>::new(8);
        let out = c
            .submit(1, 20, |_, items| async move {
                items.into_iter().map(|i| i + 1).collect()
            })
            .await;
        assert_eq!(out, Some(21));
        assert_eq!(c.busy_keys(), 0);
    }

    #[tokio::test]
    async fn calls_that_queue_behind_a_running_batch_form_the_next_batch_in_order() {
        let c = Coalescer::<u8, u32, (usize, u32)>::new(3);
        let gate = Arc::new(Notify::new());
        let started = Arc::new(Notify::new());
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let run = {
            let (gate, started, sizes) = (gate.clone(), started.clone(), sizes.clone());
            move |_: u8, items: Vec<u32>| {
                let (gate, started, sizes) = (gate.clone(), started.clone(), sizes.clone());
                async move {
                    sizes
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(items.len());
                    if items == [0] {
                        // The first batch holds until the rest have queued.
                        started.notify_one();
                        gate.notified().await;
                    }
                    let n = items.len();
                    items.into_iter().map(|i| (n, i)).collect()
                }
            }
        };
        let first = tokio::spawn({
            let (c, run) = (c.clone(), run.clone());
            async move { c.submit(7, 0, run).await }
        });
        started.notified().await;
        let mut rest = Vec::new();
        for i in 1..=4 {
            let (c, run) = (c.clone(), run.clone());
            rest.push(tokio::spawn(async move { c.submit(7, i, run).await }));
            tokio::task::yield_now().await;
        }
        // All four are queued (each submit queues before its first await).
        while c.waiting() < 4 {
            tokio::task::yield_now().await;
        }
        gate.notify_one();
        assert_eq!(first.await.ok().flatten(), Some((1, 0)));
        let mut answers = Vec::new();
        for h in rest {
            answers.push(h.await.ok().flatten());
        }
        // At most three a batch, in arrival order: [1, 2, 3] then [4].
        assert_eq!(
            answers,
            vec![Some((3, 1)), Some((3, 2)), Some((3, 3)), Some((1, 4))]
        );
        assert_eq!(
            *sizes.lock().unwrap_or_else(PoisonError::into_inner),
            vec![1, 3, 1]
        );
        assert_eq!(c.busy_keys(), 0);
    }

    #[tokio::test]
    async fn a_batch_that_panics_releases_its_key_and_answers_none() {
        let c = Coalescer::<u8, u32, u32>::new(8);
        let out = c
            .submit(1, 1, |_, items: Vec<u32>| async move {
                assert!(items.is_empty(), "the batch fails");
                Vec::new()
            })
            .await;
        assert_eq!(out, None);
        assert_eq!(c.busy_keys(), 0);
        // The key works again afterwards.
        let again = c.submit(1, 2, |_, items| async move { items }).await;
        assert_eq!(again, Some(2));
    }
}
