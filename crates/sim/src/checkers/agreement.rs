//! Agreement: no two honest processes commit different blocks at the same height.

use std::collections::BTreeMap;

use hashbridge_crypto::Hash32;

pub const PROPERTY: &str = "agreement";

#[derive(Debug, Default)]
pub struct Agreement {
    committed: BTreeMap<u64, (Hash32, usize)>,
}

impl Agreement {
    /// Records an honest commit; returns a description when it contradicts an earlier one.
    pub fn on_commit(&mut self, process: usize, height: u64, hash: Hash32) -> Option<String> {
        match self.committed.get(&height) {
            Some((first, first_process)) if *first != hash => Some(format!(
                "height {height}: process {first_process} committed {first}, process {process} committed {hash}"
            )),
            Some(_) => None,
            None => {
                self.committed.insert(height, (hash, process));
                None
            }
        }
    }
}
