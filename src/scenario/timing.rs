//! How long scenarios wait and measure: per profile for real clusters, short for tests.

use super::platform::Profile;
use std::time::Duration;

/// Bound on the return to 100% stable traffic after a broken release is aborted (real
/// cluster): on abort the controller scales the canary ReplicaSet to zero at once; its pods
/// turn `/ready` 503 on SIGTERM, leave the Service's endpoints, and Traefik drops them within
/// its provider refresh (about 2 s). 15 s leaves room for a busy kind node.
pub const STABLE_RETURN_BOUND: Duration = Duration::from_secs(15);

#[derive(Debug, Clone)]
pub struct Timing {
    /// How often the Rollout is read.
    pub poll: Duration,
    /// Traffic before the release, to learn which version serves.
    pub baseline: Duration,
    /// Traffic right after a weight change is not judged (endpoints and router catch up).
    pub settle: Duration,
    /// Traffic after the rollout ended, to confirm who answers.
    pub tail: Duration,
    /// From the release to the end of the rollout (done, aborted, or given up).
    pub rollout_deadline: Duration,
    /// broken-release: traffic is back to 100% stable this long after the abort.
    pub stable_return_bound: Duration,
    /// blue-green: how long to watch the paused Rollout before promoting it.
    pub pause_window: Duration,
    /// Requests per second.
    pub rate: u32,
}

impl Timing {
    pub fn for_profile(profile: Profile) -> Timing {
        Timing {
            poll: Duration::from_millis(500),
            baseline: Duration::from_secs(5),
            settle: Duration::from_secs(3),
            tail: Duration::from_secs(5),
            rollout_deadline: match profile {
                // 3 pauses of 10 s + analyses (each first waits 20 s) of 5 and 2×3
                // measurements 10 s apart + pods: about 3 minutes.
                Profile::Fast => Duration::from_secs(8 * 60),
                // 3 pauses of 1 m + (40 s + 100 s) + 2×(40 s + 90 s) of analysis + pods:
                // about 9 minutes.
                Profile::Realistic => Duration::from_secs(15 * 60),
            },
            stable_return_bound: STABLE_RETURN_BOUND,
            pause_window: Duration::from_secs(10),
            rate: crate::traffic::DEFAULT_RATE,
        }
    }
}
