//! Validity: every block an honest process commits was proposed in a PrePrepare and
//! passes re-execution on top of that process's ledger.

use std::collections::HashSet;

use hashbridge_crypto::Hash32;

pub const PROPERTY: &str = "validity";

#[derive(Debug, Default)]
pub struct Validity {
    proposed: HashSet<Hash32>,
}

impl Validity {
    /// Records a block hash sent in any PrePrepare, by any process.
    pub fn on_proposal(&mut self, hash: Hash32) {
        self.proposed.insert(hash);
    }

    /// Checks an honest commit; `execution` is the ledger's re-execution result.
    pub fn on_commit(&self, height: u64, hash: Hash32, execution: Result<(), String>) -> Option<String> {
        if !self.proposed.contains(&hash) {
            return Some(format!("height {height}: committed block {hash} was never proposed"));
        }
        execution.err().map(|reason| format!("height {height}: committed block {hash} fails re-execution: {reason}"))
    }
}
