//! The vote guard: the only holder of the signing key for votes.
//!
//! For each (height, view, kind) the guard remembers the block it voted for. It creates the
//! [`VoteRecord`] before it signs, hands the record back with the signature, and the core
//! emits both in one persist-then-send action, so no vote leaves the node before its record
//! is durable. Asked again for the same vote, the guard signs it again (ed25519 signing is
//! deterministic, so the bytes are identical). Asked for a different block, it returns
//! [`VoteGuardError::Conflict`]. The guard is restored from the persisted records at
//! start, so the promise survives restarts.
//!
//! The vote floor covers a node whose data folder was wiped: it lost its records, so it
//! signs nothing below a height it cannot have voted on before.

use std::collections::BTreeMap;
use std::fmt;

use bincode::{Decode, Encode};
use hashbridge_crypto::{Hash32, PublicKey, Signature};
use hashbridge_types::VotePhase;
use thiserror::Error;

use crate::message::{vote_digest, Statement, Vote};
use crate::signer::Signer;

/// The kinds of vote a validator must never cast twice with different blocks.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode)]
pub enum VoteKind {
    PrePrepare,
    Prepare,
    Commit,
}

impl fmt::Display for VoteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VoteKind::PrePrepare => "pre-prepare",
            VoteKind::Prepare => "prepare",
            VoteKind::Commit => "commit",
        })
    }
}

/// One vote, persisted before its signature leaves the node.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct VoteRecord {
    pub height: u64,
    pub view: u64,
    pub kind: VoteKind,
    pub block_hash: Hash32,
}

/// The reason the guard did not sign.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VoteGuardError {
    #[error("rejected {kind} vote for block {requested} at height {height} view {view}: already voted for block {voted}")]
    Conflict { height: u64, view: u64, kind: VoteKind, voted: Hash32, requested: Hash32 },
    #[error("rejected {kind} vote at height {height}: below the vote floor {floor}")]
    BelowFloor { height: u64, kind: VoteKind, floor: u64 },
}

/// A signature from the guard, with the record to persist first when the vote is new.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct GuardedSignature {
    pub signature: Signature,
    /// `Some` for a first vote, which must be durable before the signature is sent; `None`
    /// when the guard replayed a vote it had already recorded.
    pub record: Option<VoteRecord>,
}

/// Owns the signer and refuses conflicting votes.
pub struct VoteGuard<S> {
    signer: S,
    chain_id: String,
    votes: BTreeMap<(u64, u64, VoteKind), Hash32>,
    floor: u64,
    forgetful: bool,
}

impl<S> fmt::Debug for VoteGuard<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VoteGuard")
            .field("chain_id", &self.chain_id)
            .field("votes", &self.votes.len())
            .field("floor", &self.floor)
            .finish_non_exhaustive()
    }
}

impl<S: Signer> VoteGuard<S> {
    /// Builds a guard from the records persisted so far and a vote floor (0 for none).
    pub fn restore(signer: S, chain_id: &str, records: impl IntoIterator<Item = VoteRecord>, floor: u64) -> Self {
        let votes = records
            .into_iter()
            .map(|record| ((record.height, record.view, record.kind), record.block_hash))
            .collect();
        VoteGuard { signer, chain_id: chain_id.to_string(), votes, floor, forgetful: false }
    }

    pub fn public_key(&self) -> PublicKey {
        self.signer.public_key()
    }

    /// Returns the lowest height at which the guard signs votes.
    pub fn floor(&self) -> u64 {
        self.floor
    }

    /// Returns the block recorded for (height, view, kind), if any.
    pub fn recorded(&self, height: u64, view: u64, kind: VoteKind) -> Option<Hash32> {
        self.votes.get(&(height, view, kind)).copied()
    }

    /// Signs a vote for `block_hash` unless it conflicts with a recorded vote or lies below
    /// the floor.
    pub fn sign_vote(
        &mut self,
        kind: VoteKind,
        height: u64,
        view: u64,
        block_hash: Hash32,
    ) -> Result<GuardedSignature, VoteGuardError> {
        if height < self.floor {
            return Err(VoteGuardError::BelowFloor { height, kind, floor: self.floor });
        }

        let record = match self.votes.get(&(height, view, kind)) {
            Some(voted) if *voted == block_hash => None,
            Some(voted) if !self.forgetful => {
                return Err(VoteGuardError::Conflict { height, view, kind, voted: *voted, requested: block_hash });
            }
            _ => {
                self.votes.insert((height, view, kind), block_hash);
                Some(VoteRecord { height, view, kind, block_hash })
            }
        };

        let digest = self.vote_digest(kind, height, view, block_hash);
        Ok(GuardedSignature { signature: self.signer.sign(&digest), record })
    }

    /// Signs a message digest that is not a vote (ViewChange, NewView, Checkpoint, Status).
    pub fn sign_statement(&self, digest: &Hash32) -> Signature {
        self.signer.sign(digest)
    }

    /// Drops the records for heights below `height`, which the node has committed past.
    pub fn prune_below(&mut self, height: u64) {
        self.votes = self.votes.split_off(&(height, 0, VoteKind::PrePrepare));
    }

    /// Makes the guard drop its records and sign conflicting votes; used only to show that
    /// the simulator's checkers catch the resulting equivocation.
    #[cfg(feature = "weakened-rules")]
    pub fn set_forgetful(&mut self, forgetful: bool) {
        self.forgetful = forgetful;
        if forgetful {
            self.votes.clear();
        }
    }

    fn vote_digest(&self, kind: VoteKind, height: u64, view: u64, block_hash: Hash32) -> Hash32 {
        let chain_id = self.chain_id.as_str();
        let vote = Vote { height, view, block_hash };
        match kind {
            VoteKind::PrePrepare => Statement::PrePrepare { chain_id, height, view, block_hash }.digest(),
            VoteKind::Prepare => vote_digest(chain_id, VotePhase::Prepare, &vote),
            VoteKind::Commit => vote_digest(chain_id, VotePhase::Commit, &vote),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signer::Ed25519Signer;
    use hashbridge_crypto::keys::KeyPurpose;
    use hashbridge_crypto::KeyPair;

    fn guard(records: Vec<VoteRecord>, floor: u64) -> VoteGuard<Ed25519Signer> {
        let key = KeyPair::from_seed([3u8; 32], KeyPurpose::Node);
        VoteGuard::restore(Ed25519Signer::new(key), "test-chain", records, floor)
    }

    #[test]
    fn first_vote_returns_record() {
        let mut g = guard(vec![], 0);
        let signed = g.sign_vote(VoteKind::Prepare, 1, 0, Hash32([1; 32])).unwrap();
        assert_eq!(
            signed.record,
            Some(VoteRecord { height: 1, view: 0, kind: VoteKind::Prepare, block_hash: Hash32([1; 32]) })
        );
    }

    #[test]
    fn repeated_vote_replays_same_signature() {
        let mut g = guard(vec![], 0);
        let first = g.sign_vote(VoteKind::Commit, 1, 0, Hash32([1; 32])).unwrap();
        let again = g.sign_vote(VoteKind::Commit, 1, 0, Hash32([1; 32])).unwrap();
        assert_eq!(again.signature, first.signature);
        assert_eq!(again.record, None);
    }

    #[test]
    fn conflicting_vote_is_rejected() {
        let mut g = guard(vec![], 0);
        g.sign_vote(VoteKind::Prepare, 1, 0, Hash32([1; 32])).unwrap();
        let err = g.sign_vote(VoteKind::Prepare, 1, 0, Hash32([2; 32])).unwrap_err();
        assert!(matches!(err, VoteGuardError::Conflict { height: 1, view: 0, kind: VoteKind::Prepare, .. }));
        assert!(g.sign_vote(VoteKind::Prepare, 1, 1, Hash32([2; 32])).is_ok(), "another view is a new vote");
        assert!(g.sign_vote(VoteKind::Commit, 1, 0, Hash32([2; 32])).is_ok(), "another kind is a new vote");
    }

    #[test]
    fn restored_guard_keeps_promise() {
        let record = VoteRecord { height: 5, view: 2, kind: VoteKind::Commit, block_hash: Hash32([7; 32]) };
        let mut g = guard(vec![record], 0);
        assert!(matches!(g.sign_vote(VoteKind::Commit, 5, 2, Hash32([8; 32])), Err(VoteGuardError::Conflict { .. })));
        assert_eq!(g.sign_vote(VoteKind::Commit, 5, 2, Hash32([7; 32])).unwrap().record, None);
    }

    #[test]
    fn floor_blocks_lower_heights() {
        let mut g = guard(vec![], 10);
        let err = g.sign_vote(VoteKind::Prepare, 9, 0, Hash32([1; 32])).unwrap_err();
        assert_eq!(err, VoteGuardError::BelowFloor { height: 9, kind: VoteKind::Prepare, floor: 10 });
        assert!(g.sign_vote(VoteKind::Prepare, 10, 0, Hash32([1; 32])).is_ok());
    }

    #[test]
    fn prune_drops_lower_heights_only() {
        let mut g = guard(vec![], 0);
        g.sign_vote(VoteKind::Prepare, 1, 0, Hash32([1; 32])).unwrap();
        g.sign_vote(VoteKind::Prepare, 2, 0, Hash32([1; 32])).unwrap();
        g.prune_below(2);
        assert_eq!(g.recorded(1, 0, VoteKind::Prepare), None);
        assert_eq!(g.recorded(2, 0, VoteKind::Prepare), Some(Hash32([1; 32])));
    }
}
