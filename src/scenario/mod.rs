//! Delivery scenarios (canary, blue-green, broken release) driven and verified by kindling,
//! and their reports. `model` is what a run produced; `report` renders it.

pub mod model;
pub mod report;
pub mod platform;
pub mod timing;
pub mod watch;
pub mod checks;
pub mod diagnostics;
pub mod session;
pub mod canary;
