//! No honest equivocation: an honest validator never signs two different blocks for the
//! same (height, view, kind), and no honest process is accused with evidence.

use std::collections::{BTreeSet, HashMap};

use hashbridge_consensus::{ConsensusMessage, SignedMessage, VoteKind};
use hashbridge_crypto::{Hash32, PublicKey};

pub const PROPERTY: &str = "no honest equivocation";

#[derive(Debug)]
pub struct NoHonestEquivocation {
    honest: BTreeSet<PublicKey>,
    votes: HashMap<(PublicKey, u64, u64, VoteKind), Hash32>,
}

impl NoHonestEquivocation {
    pub fn new(honest: BTreeSet<PublicKey>) -> Self {
        NoHonestEquivocation { honest, votes: HashMap::new() }
    }

    /// Records a message an honest process sent.
    pub fn on_sent(&mut self, message: &SignedMessage) -> Option<String> {
        let (kind, height, view, hash) = match &message.message {
            ConsensusMessage::PrePrepare(p) => (VoteKind::PrePrepare, p.height, p.view, p.block.hash()),
            ConsensusMessage::Prepare(v) => (VoteKind::Prepare, v.height, v.view, v.block_hash),
            ConsensusMessage::Commit(v) => (VoteKind::Commit, v.height, v.view, v.block_hash),
            _ => return None,
        };
        let key = (message.sender, height, view, kind);
        match self.votes.get(&key) {
            Some(first) if *first != hash => Some(format!(
                "validator {} sent {kind} for {first} and for {hash} at height {height} view {view}",
                message.sender.short()
            )),
            Some(_) => None,
            None => {
                self.votes.insert(key, hash);
                None
            }
        }
    }

    /// Checks evidence an honest process reported.
    pub fn on_evidence(&self, accused: &PublicKey) -> Option<String> {
        self.honest
            .contains(accused)
            .then(|| format!("honest validator {} was reported for equivocation", accused.short()))
    }
}
