//! What every consumer of the change log (the search index, the SPARQL view) does the
//! same way: follow the doorbell, and let readers wait for the writes before them.

use std::fmt::Display;
use std::time::Duration;

use tokio::sync::watch;

/// The sequence a consumer has applied, which its readers can wait for.
pub struct Progress {
    applied: watch::Sender<u64>,
}

impl Progress {
    pub fn new(applied: u64) -> Self {
        Progress {
            applied: watch::channel(applied).0,
        }
    }

    pub fn get(&self) -> u64 {
        *self.applied.borrow()
    }

    pub fn set(&self, applied: u64) {
        self.applied.send_replace(applied);
    }

    /// A receiver that sees every new value (for waiting on progress past a point).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.applied.subscribe()
    }

    /// Waits until everything up to `head` is applied, at most `limit`; false if not.
    pub async fn wait_for(&self, head: u64, limit: Duration) -> bool {
        let mut applied = self.applied.subscribe();
        if *applied.borrow() >= head {
            return true;
        }
        tokio::time::timeout(limit, applied.wait_for(|a| *a >= head))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

/// The shortest time between two steps of a consumer while writes keep coming: a burst
/// of writes is applied in one batch rather than one step each, which leaves the writers
/// the CPU (each step has a fixed cost: a transaction, an index commit). An isolated
/// write is applied at once.
pub const GATHER: Duration = Duration::from_millis(25);

/// Runs `catch_up` on tokio's blocking pool now and after every commit the `doorbell`
/// announces (at most one step per [`GATHER`]), until the store is dropped. A failure is
/// logged and retried a second later (the log is the source of truth: nothing is lost by
/// retrying).
pub async fn follow<E: Display + Send + 'static>(
    mut doorbell: watch::Receiver<u64>,
    consumer: &'static str,
    catch_up: impl Fn() -> Result<u64, E> + Clone + Send + 'static,
) {
    loop {
        let started = tokio::time::Instant::now();
        let step = catch_up.clone();
        match tokio::task::spawn_blocking(step).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::error!(consumer, error = %e, "could not apply the change log; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(e) => {
                tracing::error!(consumer, error = %e, "change-log consumer stopped unexpectedly")
            }
        }
        if doorbell.changed().await.is_err() {
            return;
        }
        tokio::time::sleep_until(started + GATHER).await;
    }
}
