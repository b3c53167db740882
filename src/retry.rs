//! Retry until a deadline: the one loop behind "cert-manager not ready yet; retrying", "the
//! API server refuses connections for a moment", "discovery does not list the kind yet".
//!
//! Not `backon` (in the tree through kube-runtime): its budget is a number of attempts or
//! the sum of its sleeps, while these waits promise wall-clock time (a timeout setting), and
//! an attempt that itself takes seconds (an HTTPS request, an apply) must count against it.

use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// A point in time to give up at; several waits can share one.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(Instant);

impl Deadline {
    /// `within` from now.
    pub fn after(within: Duration) -> Deadline {
        Deadline(Instant::now() + within)
    }

    pub fn passed(&self) -> bool {
        Instant::now() >= self.0
    }

    /// Runs `attempt` until it succeeds, its error is not one to retry (`again` says no, and
    /// may report progress when it says yes), or the deadline has passed; waits `every`
    /// between attempts. Returns the last attempt's result.
    pub async fn retry<T, E, F, Fut>(
        &self,
        every: Duration,
        mut attempt: F,
        mut again: impl FnMut(&E) -> bool,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        loop {
            match attempt().await {
                Err(e) if !self.passed() && again(&e) => tokio::time::sleep(every).await,
                done => return done,
            }
        }
    }
}

/// `Deadline::after(within).retry(...)`.
pub async fn retry<T, E, F, Fut>(
    within: Duration,
    every: Duration,
    attempt: F,
    again: impl FnMut(&E) -> bool,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    Deadline::after(within).retry(every, attempt, again).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn retries_until_the_attempt_succeeds() {
        let calls = AtomicU32::new(0);
        let out: Result<u32, &str> = retry(
            Duration::from_secs(3600),
            Duration::from_millis(1),
            || async {
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0..=2 => Err("not yet"),
                    n => Ok(n),
                }
            },
            |_| true,
        )
        .await;
        assert_eq!(out, Ok(3));
    }

    #[tokio::test]
    async fn past_the_deadline_the_last_error_is_returned_without_another_try() {
        let calls = AtomicU32::new(0);
        let deadline = Deadline::after(Duration::ZERO);
        let out: Result<(), u32> = deadline
            .retry(
                Duration::from_secs(3600),
                || async { Err(calls.fetch_add(1, Ordering::SeqCst)) },
                |_| true,
            )
            .await;
        assert_eq!(out, Err(0));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_error_not_to_retry_ends_at_once() {
        let calls = AtomicU32::new(0);
        let out: Result<(), &str> = retry(
            Duration::from_secs(3600),
            Duration::from_millis(1),
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err("forbidden")
            },
            |e| *e != "forbidden",
        )
        .await;
        assert_eq!(out, Err("forbidden"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
