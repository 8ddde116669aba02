//! Monotonic views: the (height, view) of an honest process never goes back, also across
//! a crash and restart from its persisted state. A process whose data folder was wiped
//! starts over from genesis, so its history restarts too.

use std::collections::BTreeMap;

pub const PROPERTY: &str = "monotonic views";

#[derive(Debug, Default)]
pub struct MonotonicViews {
    last: BTreeMap<usize, (u64, u64)>,
}

impl MonotonicViews {
    pub fn on_wipe(&mut self, process: usize) {
        self.last.remove(&process);
    }

    pub fn on_status(&mut self, process: usize, height: u64, view: u64) -> Option<String> {
        let previous = self.last.insert(process, (height, view));
        match previous {
            Some((h, v)) if (height, view) < (h, v) => {
                Some(format!("moved back from height {h} view {v} to height {height} view {view}"))
            }
            _ => None,
        }
    }
}
