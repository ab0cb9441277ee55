//! Coalescing per key: concurrent calls with the same key run as batches, one at a time.
//!
//! A call queues under its key. A runner task runs each batch, and takes the queue as its
//! batch only when it is ready for it ([`Batch::take`]; the record path takes once it is
//! the agent's turn on this instance, or, when it has no basis in memory, once it holds the
//! agent's row lock). So a batch is whatever queued until then: a lone call runs at once
//! and a busy key runs in ever larger batches. No timer.
//!
//! While a runner works on its batch, the next runner is already started and waits for
//! its turn (the record path: on the agent's head on this instance, then on the row lock
//! inside its open transaction when it must lock). At most one runner per key is waiting
//! to take; every caller gets its own answer once the batch that held it is done.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

type Queue<I, O> = Vec<(I, oneshot::Sender<O>)>;

/// A key's queued calls and runners; present while it has either.
struct Slot<I, O> {
    queue: Queue<I, O>,
    runners: usize,
    /// A runner has started and not yet taken its batch.
    waiting_runner: bool,
}

/// Queues of calls per key.
pub struct Coalescer<K, I, O> {
    slots: Mutex<HashMap<K, Slot<I, O>>>,
    max_batch: usize,
}

impl<K, I, O> std::fmt::Debug for Coalescer<K, I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coalescer")
            .field("max_batch", &self.max_batch)
            .finish_non_exhaustive()
    }
}

/// A runner's batch: [`Batch::take`] drains the key's queue (at most the batch limit, in
/// arrival order) once; the runner then returns one answer per item taken.
pub struct Batch<I, O> {
    take: Arc<dyn Fn() -> Vec<I> + Send + Sync>,
    replies: Replies<O>,
}

impl<I, O> Clone for Batch<I, O> {
    fn clone(&self) -> Self {
        Batch {
            take: Arc::clone(&self.take),
            replies: Arc::clone(&self.replies),
        }
    }
}

/// `None` until the runner takes its batch; then the callers' reply channels, in order.
type Replies<O> = Arc<Mutex<Option<Vec<oneshot::Sender<O>>>>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing under these locks can leave their data half-changed.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<I, O> Batch<I, O> {
    /// The queued calls, the first time; nothing on later calls. Starts the next runner
    /// when calls are left queued.
    pub fn take(&self) -> Vec<I> {
        (self.take)()
    }

    /// How many calls this batch took (and owes answers).
    pub fn taken(&self) -> usize {
        lock(&self.replies).as_ref().map_or(0, Vec::len)
    }
}

impl<K, I, O> Coalescer<K, I, O>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    I: Send + 'static,
    O: Send + 'static,
{
    /// At most `max_batch` calls per batch (at least one).
    pub fn new(max_batch: usize) -> Arc<Self> {
        Arc::new(Self {
            slots: Mutex::new(HashMap::new()),
            max_batch: max_batch.max(1),
        })
    }

    /// Queues `item` under `key` and waits for its answer. `run` gets each batch, takes
    /// its items (in arrival order) and returns one answer per item taken, in the same
    /// order. `None` when the batch gave no answer for this item (it panicked or returned
    /// too few).
    pub async fn submit<F, Fut>(self: &Arc<Self>, key: K, item: I, run: F) -> Option<O>
    where
        F: Fn(K, Batch<I, O>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<O>> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut slots = lock(&self.slots);
            let slot = slots.entry(key.clone()).or_insert_with(|| Slot {
                queue: Vec::new(),
                runners: 0,
                waiting_runner: false,
            });
            slot.queue.push((item, reply));
            claim_runner(slot)
        };
        if start {
            self.start(key, Arc::new(run));
        }
        answer.await.ok()
    }

    /// Spawns a runner for `key` (already counted in its slot by `claim_runner`). A task
    /// of its own: the batch must finish even if the caller that started it goes away.
    fn start<F, Fut>(self: &Arc<Self>, key: K, run: Arc<F>)
    where
        F: Fn(K, Batch<I, O>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<O>> + Send + 'static,
    {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let replies: Replies<O> = Arc::new(Mutex::new(None));
            // If `run` panics, the runner is let go, and without another runner the key
            // with it: queued callers get no answer (their senders drop) instead of
            // waiting forever.
            let mut guard = Release {
                owner: &this,
                key: Some(key.clone()),
                replies: Arc::clone(&replies),
            };
            let batch = Batch {
                take: this.taker(key.clone(), Arc::clone(&replies), Arc::clone(&run)),
                replies: Arc::clone(&replies),
            };
            let answers = run(key.clone(), batch).await;
            let senders = lock(&replies).take();
            // A runner that returned without taking must not leave the key waiting on it.
            let took = senders.is_some();
            for (reply, answer) in senders.unwrap_or_default().into_iter().zip(answers) {
                // A caller that went away does not want its answer.
                let _ = reply.send(answer);
            }
            guard.key = None;
            if this.runner_done(&key, took, false) {
                this.start(key, run);
            }
        });
    }

    /// The runner's `take`: drains the queue into `replies` once, then starts the next
    /// runner if calls are left queued.
    fn taker<F, Fut>(
        self: &Arc<Self>,
        key: K,
        replies: Replies<O>,
        run: Arc<F>,
    ) -> Arc<dyn Fn() -> Vec<I> + Send + Sync>
    where
        F: Fn(K, Batch<I, O>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<O>> + Send + 'static,
    {
        let this = Arc::clone(self);
        Arc::new(move || {
            let mut replies = lock(&replies);
            if replies.is_some() {
                return Vec::new();
            }
            let (items, start) = {
                let mut slots = lock(&this.slots);
                let Some(slot) = slots.get_mut(&key) else {
                    *replies = Some(Vec::new());
                    return Vec::new();
                };
                slot.waiting_runner = false;
                let n = slot.queue.len().min(this.max_batch);
                let (items, senders): (Vec<I>, Vec<_>) = slot.queue.drain(..n).unzip();
                *replies = Some(senders);
                (items, claim_runner(slot))
            };
            if start {
                this.start(key.clone(), Arc::clone(&run));
            }
            items
        })
    }

    /// Keys with a runner or a queued call now.
    pub fn busy_keys(&self) -> usize {
        lock(&self.slots).len()
    }

    /// Calls queued and not yet taken by a batch, over every key.
    pub fn waiting(&self) -> usize {
        lock(&self.slots).values().map(|s| s.queue.len()).sum()
    }
}

impl<K: Eq + Hash, I, O> Coalescer<K, I, O> {
    /// A runner of `key` is done: uncounts it, and its waiting mark if it never took (so
    /// the queued calls are not left waiting on it). Whether another runner should start
    /// (counted already). After a panic none does: the key goes with its last runner, and
    /// its queued callers get no answer.
    fn runner_done(&self, key: &K, took: bool, panicked: bool) -> bool {
        let mut slots = lock(&self.slots);
        let Some(slot) = slots.get_mut(key) else {
            return false;
        };
        slot.runners = slot.runners.saturating_sub(1);
        if !took {
            slot.waiting_runner = false;
        }
        let again = !panicked && claim_runner(slot);
        if slot.runners == 0 && (panicked || slot.queue.is_empty()) {
            slots.remove(key);
        }
        again
    }
}

/// Whether a new runner should start for `slot` (and counts it): calls are queued and no
/// runner is already waiting to take them.
fn claim_runner<I, O>(slot: &mut Slot<I, O>) -> bool {
    if slot.queue.is_empty() || slot.waiting_runner {
        return false;
    }
    slot.runners += 1;
    slot.waiting_runner = true;
    true
}

/// Lets a runner go if it ends without finishing (its task panicked).
struct Release<'a, K: Eq + Hash, I, O> {
    owner: &'a Coalescer<K, I, O>,
    key: Option<K>,
    replies: Replies<O>,
}

impl<K: Eq + Hash, I, O> Drop for Release<'_, K, I, O> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else {
            return;
        };
        // Its callers' senders drop here: they get no answer.
        let took = lock(&self.replies).take().is_some();
        self.owner.runner_done(&key, took, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::Notify;

    #[tokio::test]
    async fn a_lone_call_runs_at_once_and_gets_its_answer() {
        let c = Coalescer::<u8, u32, u32>::new(8);
        let out = c
            .submit(1, 20, |_, batch| async move {
                let items = batch.take();
                // A batch is taken once.
                assert!(batch.take().is_empty());
                assert_eq!(batch.taken(), 1);
                items.into_iter().map(|i| i + 1).collect()
            })
            .await;
        assert_eq!(out, Some(21));
        assert_eq!(c.busy_keys(), 0);
    }

    #[tokio::test]
    async fn the_next_runner_waits_its_turn_and_takes_what_queued_until_then() {
        let c = Coalescer::<u8, u32, (usize, u32)>::new(3);
        // Stands for the agent's row lock: a runner takes its batch once it holds it.
        let turn = Arc::new(tokio::sync::Mutex::new(()));
        let gate = Arc::new(Notify::new());
        let took_first = Arc::new(Notify::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let run = {
            let (turn, gate, took_first) = (turn.clone(), gate.clone(), took_first.clone());
            let (runs, sizes) = (runs.clone(), sizes.clone());
            move |_: u8, batch: Batch<u32, (usize, u32)>| {
                let (turn, gate, took_first) = (turn.clone(), gate.clone(), took_first.clone());
                let (runs, sizes) = (runs.clone(), sizes.clone());
                async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    let _turn = turn.lock().await;
                    let items = batch.take();
                    lock(&sizes).push(items.len());
                    if items == [0] {
                        // The first batch holds its turn until the rest have queued.
                        took_first.notify_one();
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
        took_first.notified().await;
        let mut rest = Vec::new();
        for i in 1..=4 {
            let (c, run) = (c.clone(), run.clone());
            rest.push(tokio::spawn(async move { c.submit(7, i, run).await }));
            tokio::task::yield_now().await;
        }
        while c.waiting() < 4 || runs.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        // The second runner started while the first still works, and waits for its
        // turn; no third one starts while it waits.
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_eq!(c.waiting(), 4);
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
        assert_eq!(*lock(&sizes), vec![1, 3, 1]);
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert_eq!(c.busy_keys(), 0);
    }

    #[tokio::test]
    async fn a_runner_that_returns_without_taking_leaves_the_call_to_the_next() {
        let c = Coalescer::<u8, u32, u32>::new(8);
        let runs = Arc::new(AtomicUsize::new(0));
        let run = {
            let runs = runs.clone();
            move |_: u8, batch: Batch<u32, u32>| {
                let first = runs.fetch_add(1, Ordering::SeqCst) == 0;
                async move {
                    if first {
                        return Vec::new();
                    }
                    batch.take()
                }
            }
        };
        assert_eq!(c.submit(1, 5, run).await, Some(5));
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_eq!(c.busy_keys(), 0);
    }

    #[tokio::test]
    async fn a_batch_that_panics_releases_its_key_and_answers_none() {
        let c = Coalescer::<u8, u32, u32>::new(8);
        let out = c
            .submit(1, 1, |_, batch: Batch<u32, u32>| async move {
                let items = batch.take();
                assert!(items.is_empty(), "the batch fails");
                Vec::new()
            })
            .await;
        assert_eq!(out, None);
        assert_eq!(c.busy_keys(), 0);
        // The key works again afterwards.
        let again = c.submit(1, 2, |_, batch| async move { batch.take() }).await;
        assert_eq!(again, Some(2));
    }
}
