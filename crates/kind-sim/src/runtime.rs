//! The simulated controllers' loop: level-triggered, like the real controllers. Each pass
//! reconciles everything it owns from the fake's current state; a pass runs again whenever
//! anything changed, or when the controller's own timer (a retry backoff) is due. Each loop
//! reports how far it has caught up, so a test can wait until the whole cluster is quiet
//! ([`Activity::settled`]) — an event, not a sleep.

use fake_apiserver::Fake;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

/// How far one loop has caught up.
#[derive(Default)]
struct LoopStatus {
    /// The store's resourceVersion when its last pass started.
    processed: AtomicU64,
    /// Its last pass scheduled a timer (a retry): more will happen without any change.
    timer: AtomicBool,
    busy: AtomicBool,
}

/// Every loop's progress, shared with whoever waits for the cluster to settle.
#[derive(Clone)]
pub struct Activity {
    loops: Arc<Mutex<Vec<Arc<LoopStatus>>>>,
    progress: watch::Sender<u64>,
}

impl Default for Activity {
    fn default() -> Activity {
        Activity {
            loops: Arc::default(),
            progress: watch::channel(0).0,
        }
    }
}

impl Activity {
    /// Runs `pass` now and again after every change in the fake (and at the deadline a pass
    /// returns), until the fake's channel closes.
    pub fn spawn<F, Fut>(&self, fake: Fake, mut pass: F) -> tokio::task::JoinHandle<()>
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Option<Instant>> + Send,
    {
        let status = Arc::new(LoopStatus::default());
        status.busy.store(true, Ordering::SeqCst);
        self.loops.lock().unwrap().push(status.clone());
        let progress = self.progress.clone();
        let mut changes = fake.subscribe();
        tokio::spawn(async move {
            loop {
                status.busy.store(true, Ordering::SeqCst);
                let rv = fake.resource_version();
                let deadline = pass().await;
                status.processed.store(rv, Ordering::SeqCst);
                status.timer.store(deadline.is_some(), Ordering::SeqCst);
                // Changes up to rv are handled; drop their notifications.
                loop {
                    match changes.try_recv() {
                        Ok(c) if c.resource_version <= rv => continue,
                        Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) => break,
                        Err(broadcast::error::TryRecvError::Empty) => break,
                        Err(broadcast::error::TryRecvError::Closed) => return,
                    }
                }
                if fake.resource_version() != rv {
                    continue;
                }
                status.busy.store(false, Ordering::SeqCst);
                progress.send_modify(|p| *p += 1);
                let woke = match deadline {
                    Some(at) => tokio::select! {
                        r = changes.recv() => r,
                        _ = tokio::time::sleep_until(at) => Err(broadcast::error::RecvError::Lagged(0)),
                    },
                    None => changes.recv().await,
                };
                if let Err(broadcast::error::RecvError::Closed) = woke {
                    return;
                }
            }
        })
    }

    /// Whether every loop has handled every change and none waits on a timer.
    pub fn is_settled(&self, fake: &Fake) -> bool {
        let rv = fake.resource_version();
        self.loops.lock().unwrap().iter().all(|s| {
            !s.busy.load(Ordering::SeqCst)
                && !s.timer.load(Ordering::SeqCst)
                && s.processed.load(Ordering::SeqCst) >= rv
        })
    }

    /// Waits until the cluster is quiet: nothing more will change unless someone writes.
    pub async fn settled(&self, fake: &Fake) {
        let mut progress = self.progress.subscribe();
        loop {
            if self.is_settled(fake) {
                return;
            }
            if progress.changed().await.is_err() {
                return;
            }
        }
    }

    /// Waits until `done` holds (checked after every pass of every loop); None when the
    /// cluster settled without it holding.
    pub async fn until<T>(&self, fake: &Fake, mut done: impl FnMut() -> Option<T>) -> Option<T> {
        let mut progress = self.progress.subscribe();
        loop {
            if let Some(t) = done() {
                return Some(t);
            }
            if self.is_settled(fake) {
                return done();
            }
            if progress.changed().await.is_err() {
                return done();
            }
        }
    }
}
