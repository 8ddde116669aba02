//! Running many seeds on several threads and summarizing them.
//!
//! Each run is independent and deterministic, so the thread count changes only the wall
//! time, never a result.

use serde::Serialize;

use crate::config::{ByzantineKind, SimConfig};
use crate::report::RunReport;
use crate::sim::Simulation;

/// Failed runs kept in full in a summary.
const MAX_FAILURES_KEPT: usize = 10;

/// Runs one seed.
pub fn run(config: SimConfig) -> RunReport {
    Simulation::new(config).run()
}

/// Runs the configs on `threads` threads and returns the reports in input order.
pub fn run_all(configs: Vec<SimConfig>, threads: usize) -> Vec<RunReport> {
    let threads = threads.max(1);
    let mut slots: Vec<Vec<(usize, SimConfig)>> = (0..threads).map(|_| Vec::new()).collect();
    for (index, config) in configs.into_iter().enumerate() {
        if let Some(slot) = slots.get_mut(index % threads) {
            slot.push((index, config));
        }
    }
    let mut reports: Vec<(usize, RunReport)> = std::thread::scope(|scope| {
        let handles: Vec<_> = slots
            .into_iter()
            .map(|slot| scope.spawn(move || slot.into_iter().map(|(i, c)| (i, run(c))).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|handle| handle.join().unwrap_or_default()).collect()
    });
    reports.sort_by_key(|(index, _)| *index);
    reports.into_iter().map(|(_, report)| report).collect()
}

/// Totals over the runs of one validator count and byzantine kind.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub validators: usize,
    pub byzantine: ByzantineKind,
    pub runs: usize,
    pub passed: usize,
    /// Blocks committed by the slowest honest process, summed over runs.
    pub commits: u64,
    pub view_changes: u64,
    pub violations: u64,
    pub safety_violations: u64,
    pub liveness_failures: u64,
    pub max_recovery_ms: u64,
    pub failing_seeds: Vec<u64>,
    pub failures: Vec<RunReport>,
}

impl Summary {
    pub fn new(validators: usize, byzantine: ByzantineKind, reports: &[RunReport]) -> Self {
        let failed: Vec<&RunReport> = reports.iter().filter(|r| !r.passed()).collect();
        let count = |property: &str| reports.iter().filter(|r| r.violated(property)).count() as u64;
        Summary {
            validators,
            byzantine,
            runs: reports.len(),
            passed: reports.len() - failed.len(),
            commits: reports.iter().map(|r| r.min_height).sum(),
            view_changes: reports.iter().map(|r| r.stats.view_changes).sum(),
            violations: reports.iter().map(|r| r.violation_count).sum(),
            safety_violations: reports.iter().filter(|r| r.violations.iter().any(|v| v.property != "liveness")).count()
                as u64,
            liveness_failures: count(crate::checkers::liveness::PROPERTY),
            max_recovery_ms: reports.iter().filter_map(|r| r.recovery_ms).max().unwrap_or(0),
            failing_seeds: failed.iter().map(|r| r.seed).collect(),
            failures: failed.into_iter().take(MAX_FAILURES_KEPT).cloned().collect(),
        }
    }
}
