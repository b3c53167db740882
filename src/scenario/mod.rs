//! Delivery scenarios (canary, blue-green, broken release) driven and verified by kindling,
//! and their reports. `model` is what a run produced; `report` renders it.
//!
//! One file per scenario (`canary`, `blue_green`, `broken_release`); shared: `session`
//! (traffic, baseline, release, the report), `watch` (the Rollout over time and its events),
//! `checks` (judgements), `diagnostics` (what explains a failure), `timing` (per profile).
//! Scenarios reach the platform through the `platform::Platform` trait: `real::RealPlatform`
//! on a cluster made by `kindling up`, a simulation in tests. `run` runs several in order.

pub mod blue_green;
pub mod broken_release;
pub mod canary;
pub mod checks;
pub mod diagnostics;
pub mod model;
pub mod platform;
pub mod real;
pub mod report;
pub mod run;
pub mod session;
pub mod timing;
pub mod watch;
