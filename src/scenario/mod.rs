//! Delivery scenarios (canary, blue-green, broken release) driven and verified by kindling,
//! and their reports. `model` is what a run produced; `report` renders it.

pub mod blue_green;
pub mod broken_release;
pub mod canary;
pub mod checks;
pub mod diagnostics;
pub mod model;
pub mod platform;
pub mod report;
pub mod session;
pub mod timing;
pub mod watch;
