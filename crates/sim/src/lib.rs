//! A deterministic simulator for the Hashbridge PBFT core.
//!
//! # What it owns
//! [`Simulation`] runs several processes, each with a real [`hashbridge_consensus::Core`], a
//! simulated host (ledger, transaction pool, block building and re-execution) and durable
//! state that survives crashes: the ledger and the records the core asked to persist.
//! Nothing else survives a crash.
//!
//! # How a run flows
//! One seed drives a ChaCha8 generator and simulated time in ms. A run has two phases:
//! 1. a fault phase with per-link latency and jitter (which reorders), loss, duplication,
//!    partitions that form and heal, and crashes with restarts of honest processes;
//! 2. a liveness phase after everything heals, in which every honest process must commit
//!    new blocks within a bound.
//!
//! At most `f` validators are byzantine, all of one [`ByzantineKind`]. The checkers in
//! [`checkers`], one module per property, watch every commit, every message an honest
//! process sends and every status change. The same seed gives the same
//! [`RunReport::trace_hash`], so a failing seed replays exactly.

pub mod byzantine;
pub mod checkers;
pub mod config;
mod effects;
mod faults;
pub mod host;
pub mod network;
pub mod process;
pub mod report;
pub mod runner;
pub mod sim;
pub mod transactions;
pub mod verbose;
pub mod verifier;

pub use crate::config::{ByzantineKind, SignatureCheck, SimConfig};
pub use crate::report::{RunReport, Stats};
pub use crate::runner::{run, run_all, Summary};
pub use crate::sim::Simulation;
pub use hashbridge_consensus::WeakenedRule;
