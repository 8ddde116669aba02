//! Liveness: once the faults heal, every honest process commits `blocks` new blocks
//! within the bound of simulated time.

use std::collections::BTreeMap;

pub const PROPERTY: &str = "liveness";

#[derive(Debug, Default)]
pub struct Liveness {
    heal_ms: Option<u64>,
    /// Height each honest process must reach.
    targets: BTreeMap<usize, u64>,
    /// When each honest process reached its target.
    reached_ms: BTreeMap<usize, u64>,
}

impl Liveness {
    /// Starts the liveness phase with the honest processes' committed heights.
    pub fn on_heal(&mut self, now_ms: u64, heights: &[(usize, u64)], blocks: u64) {
        self.heal_ms = Some(now_ms);
        for (process, height) in heights {
            self.targets.insert(*process, height + blocks);
        }
    }

    pub fn on_commit(&mut self, process: usize, height: u64, now_ms: u64) {
        let reached = self.targets.get(&process).is_some_and(|target| height >= *target);
        if reached {
            self.reached_ms.entry(process).or_insert(now_ms);
        }
    }

    pub fn all_reached(&self) -> bool {
        self.heal_ms.is_some() && self.reached_ms.len() == self.targets.len()
    }

    /// Returns the time from the heal until the last honest process reached its target.
    pub fn recovery_ms(&self) -> Option<u64> {
        let heal = self.heal_ms?;
        if !self.all_reached() {
            return None;
        }
        self.reached_ms.values().max().map(|last| last.saturating_sub(heal))
    }

    /// Describes each honest process that missed its target.
    pub fn finish(&self, heights: &[(usize, u64)]) -> Vec<(usize, String)> {
        if self.heal_ms.is_none() {
            return vec![(0, "the run ended before the faults healed".to_string())];
        }
        heights
            .iter()
            .filter(|(process, _)| !self.reached_ms.contains_key(process))
            .map(|(process, height)| {
                let target = self.targets.get(process).copied().unwrap_or(0);
                (*process, format!("committed height {height}, below the target {target} within the bound"))
            })
            .collect()
    }
}
