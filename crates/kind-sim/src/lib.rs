//! A faithful simulated kind cluster with Argo CD, for kindling's tests. See README.md for
//! what is modelled, from which upstream source, and which test holds it.

pub mod health;
pub mod yaml;
